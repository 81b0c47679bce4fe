"""Buying in the pages: the confirmation page and its form post, one order per confirmation key,
the price a buyer confirmed as a ceiling, the checkout hold told to every watcher (and its end),
and where a viewer stands on a lot (the page, the API's `you` and the socket's lot_state)."""
from __future__ import annotations

import re
import pytest

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import Listing, LotEvent, Order, User
from marketplace.wiring import bidding, closing, listings, purchases, settlement
from tests.factories import csrf_token, login, make_auction, make_user
from tests.integration.test_purchases import dutch_lot, fixed_lot, reload
from tests.support import fake_stripe_card, socket_client

pytestmark = pytest.mark.usefixtures("shared_gateway")


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def events(lot_id: int, kind: str) -> list[dict]:
    """The lot's recorded events of one type (what watchers were sent), oldest first."""
    import json

    db.session.expire_all()
    rows = db.session.query(LotEvent).filter_by(listing_id=lot_id, type=kind).order_by(LotEvent.seq)
    return [json.loads(row.payload_json) for row in rows]


def buy_form(client, lot_id: int) -> dict:
    """The confirmation page's hidden fields, as a browser would post them back."""
    page = client.get(f"/lots/{lot_id}/buy")
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    html = page.get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert {"csrf_token", "max_price_cents", "key"} <= set(fields)
    return fields


# ---- the confirmation page and the form post (no JavaScript) --------------------------------
def test_confirmation_page_names_the_handle_price_and_what_happens_next(app, client):
    lot = fixed_lot(price_cents=5_000_000)
    buyer = make_user(card="pm_card_visa")
    login(client, buyer)
    html = client.get(f"/lots/{lot.id}/buy").get_data(as_text=True)
    assert f"@{lot.handle_display}" in html and "$50,000" in html
    assert "held for you for 15 minutes" in html and "ending 4242" in html and "within 2 days" in html
    assert 'name="max_price_cents" value="5000000"' in html
    assert Order.query.count() == 0  # looking is not buying


def test_form_post_buys_and_lands_on_the_receipt_and_a_resend_is_the_same_order(app, client, fake_stripe):
    lot = fixed_lot()
    buyer = make_user(card="pm_card_visa")
    login(client, buyer)
    fields = buy_form(client, lot.id)
    answer = client.post(f"/lots/{lot.id}/buy", data=fields)
    order = db.session.query(Order).filter_by(listing_id=lot.id).one()
    assert answer.status_code == 302 and answer.headers["Location"] == f"/orders/{order.id}"
    assert order.status in ("paid", "transferred", "completed") and order.idempotency_key == fields["key"]
    assert "Paid: $50,000" in client.get(answer.headers["Location"]).get_data(as_text=True)
    # The same form sent again (back button, resend): the same order, nothing charged twice.
    again = client.post(f"/lots/{lot.id}/buy", data=fields)
    assert again.headers["Location"] == f"/orders/{order.id}"
    assert db.session.query(Order).filter_by(listing_id=lot.id).count() == 1


def test_form_post_with_a_declined_card_goes_to_the_pay_page(app, client, fake_stripe):
    lot = fixed_lot()
    buyer = make_user(card="pm_card_visa")
    db.session.get(User, buyer.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    db.session.commit()
    login(client, buyer)
    answer = client.post(f"/lots/{lot.id}/buy", data=buy_form(client, lot.id))
    order = db.session.query(Order).filter_by(listing_id=lot.id).one()
    assert order.status == "action_required"
    assert answer.headers["Location"] == f"/orders/{order.id}/pay"
    pay = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "the payment needs you" in pay and "Amount due: $50,000" in pay


def test_without_a_card_buy_goes_to_the_card_page_and_back_to_the_lot(app, client):
    lot = fixed_lot()
    login(client, make_user())
    answer = client.get(f"/lots/{lot.id}/buy")
    assert answer.status_code == 302 and answer.headers["Location"] == f"/account/card?next=/lots/{lot.id}"
    lot_page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="save-card-to-buy"' in lot_page and 'data-testid="buy-button"' not in lot_page


def test_a_lot_that_cannot_be_bought_says_so(app, client, clock):
    lot = make_auction(start_cents=100_000)  # an auction with no buy-now price
    login(client, make_user(card="pm_card_visa"))
    answer = client.get(f"/lots/{lot.id}/buy", follow_redirects=True)
    assert "This lot cannot be bought now." in answer.get_data(as_text=True)
    assert client.post(f"/lots/{lot.id}/buy", data={"max_price_cents": "x"}).status_code == 302
    assert Order.query.count() == 0


# ---- one order per key, never above the confirmed price -------------------------------------
def test_a_key_names_one_confirmation_even_after_its_order_lapsed(app, clock, fake_stripe):
    lot = fixed_lot()
    buyer = make_user(card="pm_card_visa")
    db.session.get(User, buyer.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    db.session.commit()
    first = purchases().buy(buyer, lot.id, key="page-1")
    clock.advance(minutes=16)
    settlement().run_once()
    assert reload(Order, first.id).status == "lapsed"
    assert purchases().buy(buyer, lot.id, key="page-1").id == first.id  # a resend: its order
    assert purchases().buy(buyer, lot.id, key="page-2").id != first.id  # a new confirmation: a new one
    with pytest.raises(ServiceError) as reused:
        purchases().buy(buyer, fixed_lot().id, key="page-1")
    assert reused.value.code == "idempotency_key_reused" and reused.value.status == 409


def test_buy_now_is_refused_above_the_price_the_buyer_confirmed(app):
    lot = make_auction(start_cents=100_000, buy_now_cents=500_000)
    admin = db.session.get(User, lot.created_by_id)
    listings().update(admin, lot.id, {"buy_now_price_cents": 600_000})  # raised while the buyer looked
    buyer = make_user(card="pm_card_visa")
    with pytest.raises(ServiceError) as refused:
        purchases().buy(buyer, lot.id, max_price_cents=500_000)
    assert refused.value.code == "price_changed" and refused.value.details["price_cents"] == 600_000
    assert purchases().buy(buyer, lot.id, max_price_cents=600_000).amount_cents == 600_000


def test_dutch_buyer_who_confirmed_a_higher_price_pays_the_lower_one(app, clock):
    lot = dutch_lot(start_cents=8_000_000, floor_cents=1_000_000, half_life=600)
    buyer = make_user(card="pm_card_visa")
    clock.advance(seconds=601)  # halved while the confirmation was open
    order = purchases().buy(buyer, lot.id, max_price_cents=8_000_000)
    assert order.amount_cents == 4_000_000


# ---- the checkout hold, told to every watcher ------------------------------------------------
def test_checkout_hold_is_announced_and_its_lapse_frees_the_lot_live(app, clock, fake_stripe):
    lot = fixed_lot()
    buyer = make_user(card="pm_card_visa")
    db.session.get(User, buyer.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    db.session.commit()
    purchases().buy(buyer, lot.id)
    held = events(lot.id, "lot_held")
    assert len(held) == 1 and held[0]["held_until"] == listings().view(lot.id)["held_until"]
    other = make_user(card="pm_card_visa")
    with pytest.raises(ServiceError) as refused:
        purchases().buy(other, lot.id)
    assert refused.value.code == "held_by_other" and refused.value.details["held_until"] == held[0]["held_until"]
    clock.advance(minutes=15, seconds=1)
    settlement().run_once()
    assert [e["held_until"] for e in events(lot.id, "lot_hold_ended")] == [None]
    listing = reload(Listing, lot.id)
    assert listing.hold_buyer_id is None and listing.closed_status is None
    assert purchases().buy(other, lot.id).status in ("paid", "transferred", "completed")  # on sale again


def test_a_lapsing_checkout_leaves_a_newer_buyers_hold_alone(app, clock, fake_stripe):
    lot = fixed_lot()
    slow, quick = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    db.session.get(User, slow.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    db.session.get(User, quick.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    db.session.commit()
    purchases().buy(slow, lot.id)
    clock.advance(minutes=15, seconds=1)  # the hold ran out; the worker has not run yet
    purchases().buy(quick, lot.id)
    settlement().run_once()  # the slow buyer's order lapses now
    listing = reload(Listing, lot.id)
    assert listing.hold_buyer_id == quick.id and events(lot.id, "lot_hold_ended") == []


# ---- where the viewer stands ---------------------------------------------------------------------
def standing_on_page(client, lot_id: int) -> tuple[str, str]:
    """(data-state, text) of the lot page's standing line."""
    html = client.get(f"/lots/{lot_id}").get_data(as_text=True)
    match = re.search(r'data-testid="standing" data-state="(\w*)".*?data-field="standing-text">\s*(.*?)\s*</p>',
                      html, re.S)
    return match.group(1), re.sub(r"<[^>]+>", "", match.group(2))


def test_bidders_see_leading_outbid_and_below_reserve_on_load(app, client):
    lot = make_auction(start_cents=100_000, reserve_cents=500_000)
    alice, bob = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 200_000, "a")
    login(client, alice)
    assert standing_on_page(client, lot.id) == (
        "below_reserve", "You are the highest bidder, but your maximum of $2,000 is below the reserve: raise it to win.")
    bidding().place(bob, lot.id, 600_000, "b")
    state, text = standing_on_page(client, lot.id)
    assert state == "outbid" and text == "You have been outbid — the next bid is $5,250."
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, bob)
    assert standing_on_page(client, lot.id) == ("leading", "You are the highest bidder — your maximum is $6,000.")
    you = client.get(f"/api/v1/lots/{lot.id}").get_json()["you"]
    assert you == {"state": "leading", "your_max_cents": 600_000}


def test_after_the_close_the_winner_is_led_to_the_order_and_the_others_see_the_sale(app, client, clock):
    lot = make_auction(start_cents=100_000, minutes=10)
    alice, bob = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a")
    bidding().place(bob, lot.id, 300_000, "b")
    clock.set(db.session.get(Listing, lot.id).ends_at)
    closing().close_due()
    order = db.session.query(Order).filter_by(listing_id=lot.id).one()
    login(client, bob)
    assert standing_on_page(client, lot.id) == ("won", "You won at $1,600.")
    html = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert f'href="/orders/{order.id}"' in html and "Ended — sold at $1,600" in html
    assert client.get(f"/lots/{lot.id}/order").headers["Location"] == f"/orders/{order.id}"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, alice)
    assert standing_on_page(client, lot.id) == ("lost", "Your maximum of $1,500 was not the highest.")
    assert client.get(f"/lots/{lot.id}/order").headers["Location"] == f"/lots/{lot.id}"  # no order of hers


def test_a_winner_whose_card_failed_is_asked_to_pay_on_the_lot_page(app, client, clock, fake_stripe):
    from tests.factories import win_with_failing_card

    lot, _alice, bob, order = win_with_failing_card(clock, fake_stripe)
    login(client, bob)
    state, text = standing_on_page(client, lot.id)
    assert state == "payment_needed" and text.startswith("Your payment of $1,600 is needed by")
    assert f'href="/orders/{order.id}/pay"' in client.get(f"/lots/{lot.id}").get_data(as_text=True)


def test_the_seller_sees_their_own_lot_without_bid_or_buy_controls(app, client):
    from tests.factories import into_sellers_account

    seller = make_user(card="pm_card_visa")
    lot = fixed_lot()
    into_sellers_account(lot, seller)
    login(client, seller)
    html = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert standing_on_page(client, lot.id) == ("seller", "This is your lot.")
    assert 'href="/seller"' in html
    for control in ("buy-button", "bid-form", "buy-dialog", "offer-form"):
        assert f'data-testid="{control}"' not in html


def test_a_watching_bidder_is_told_where_they_stand_in_lot_state(app, client):
    lot = make_auction(start_cents=100_000)
    alice = make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 200_000, "a")
    login(client, alice)
    socket = socket_client(app, client)
    socket.emit("watch", {"lot_id": lot.id}, callback=True)
    state = next(m["args"][0] for m in socket.get_received() if m["name"] == "lot_state")
    assert state["you"] == {"state": "leading", "your_max_cents": 200_000}
    socket.disconnect()
    anonymous = socket_client(app)
    anonymous.emit("watch", {"lot_id": lot.id}, callback=True)
    state = next(m["args"][0] for m in anonymous.get_received() if m["name"] == "lot_state")
    assert "you" not in state
    anonymous.disconnect()


def test_the_order_api_says_what_a_waiting_buyer_must_do(app, client, fake_stripe):
    lot = fixed_lot()
    buyer = make_user(card="pm_card_visa")
    db.session.get(User, buyer.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    db.session.commit()
    login(client, buyer)
    answer = client.post(f"/api/v1/lots/{lot.id}/buy", json={"max_price_cents": 5_000_000, "key": "k"},
                         headers={"X-CSRFToken": csrf_token(client)})
    body = answer.get_json()
    assert answer.status_code == 201 and body["status"] == "action_required"
    assert body["next_action"]["type"] == "update_card" and body["next_action"]["url"] == f"/orders/{body['id']}/pay"
    assert body["url"] == f"/orders/{body['id']}"
    # A card whose bank asks for a check: the order waits for the buyer to confirm in the browser.
    other_lot = fixed_lot()
    db.session.get(User, buyer.id).payment_method_id = fake_stripe_card(fake_stripe, "4000002760003184")
    db.session.commit()
    body = client.post(f"/api/v1/lots/{other_lot.id}/buy", json={"max_price_cents": 5_000_000},
                       headers={"X-CSRFToken": csrf_token(client)}).get_json()
    assert body["status"] == "action_required" and body["next_action"]["type"] == "authenticate"
    paid = client.get(f"/api/v1/orders/{body['id']}").get_json()
    assert paid["next_action"]["type"] == "authenticate"


def test_the_buyer_hears_when_a_platform_order_completes(app):
    """A platform lot's last step sends no notice: the buyer's order page still hears of it."""
    from marketplace.live import RecordingSink

    sink, recorder = app.extensions["live_sink"], RecordingSink()
    app.extensions["live_sink"] = recorder
    try:
        lot = fixed_lot()
        buyer = make_user(card="pm_card_visa")
        order = purchases().buy(buyer, lot.id)
        settlement().run_once()
        assert reload(Order, order.id).status == "completed"
    finally:
        app.extensions["live_sink"] = sink
    sent = [(event, payload, room) for event, payload, room in recorder.sent if event == "order_completed"]
    assert sent == [("order_completed", {"order_id": order.id, "lot_id": lot.id}, f"user:{buyer.id}")]
