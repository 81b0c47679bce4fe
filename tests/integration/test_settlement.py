"""Card-backed bids and settlement against the fake Stripe server (localstripe + Connect).

Each test runs the real gateway module through the official SDK, on SQLite and PostgreSQL.
"""
from datetime import timedelta

import pytest

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import CardHold, Handle, Listing, Notification, Order, PaymentRecord, User
from marketplace.wiring import bidding, closing, settlement
from tests.factories import into_sellers_account, make_auction, make_user
from tests.support import fake_stripe_call, fake_stripe_card


pytestmark = pytest.mark.usefixtures("shared_gateway")


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def holds_of(user) -> list[CardHold]:
    db.session.expire_all()
    return db.session.query(CardHold).filter_by(user_id=user.id).order_by(CardHold.id).all()


def intent_status(fake_stripe, intent_id) -> dict:
    status, body = fake_stripe_call(fake_stripe, "GET", f"/v1/payment_intents/{intent_id}")
    assert status == 200, body
    return body


def settle(clock, lot):
    """Close the lot at its end and run the worker's settlement until nothing moves."""
    clock.set(db.session.get(Listing, lot.id).ends_at)
    closing().close_due()
    for _ in range(3):
        settlement().run_once()
    db.session.expire_all()
    return db.session.query(Order).filter_by(listing_id=lot.id).one()


def test_bid_without_saved_card_is_refused_with_402(app):
    lot = make_auction(start_cents=100_000)
    with pytest.raises(ServiceError) as refused:
        bidding().place(make_user(), lot.id, 150_000, "k")
    assert refused.value.status == 402 and refused.value.code == "payment_method_required"
    assert db.session.get(Listing, lot.id).bid_count == 0


def test_api_saves_a_test_card(client, app):
    user = make_user()
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": "correct-horse-battery"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    saved = client.post("/api/v1/me/payment-method", json={"payment_method": "pm_card_visa"}, headers=headers)
    assert saved.status_code == 200
    assert saved.get_json() == {"has_payment_method": True, "brand": "visa", "last4": "4242"}
    assert client.get("/api/v1/me", headers=headers).get_json()["has_payment_method"] is True
    bad = client.post("/api/v1/me/payment-method", json={"payment_method": 42}, headers=headers)
    assert bad.status_code == 400


def test_bid_authorises_the_card_for_the_maximum_once(app, fake_stripe):
    lot = make_auction(start_cents=100_000)
    alice = make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a1")
    bidding().place(alice, lot.id, 150_000, "a1")  # a retry: no second authorisation
    holds = holds_of(alice)
    assert [(h.amount_cents, h.status) for h in holds] == [(150_000, "authorized")]
    intent = intent_status(fake_stripe, holds[0].intent_id)
    assert intent["status"] == "requires_capture" and intent["capture_method"] == "manual"
    assert intent["amount"] == 150_000


def test_refused_bid_never_touches_the_card(app):
    lot = make_auction(start_cents=100_000)
    alice = make_user(card="pm_card_visa")
    with pytest.raises(ServiceError) as refused:
        bidding().place(alice, lot.id, 50_000, "low")
    assert refused.value.code == "below_minimum"
    assert holds_of(alice) == []


def test_declining_card_refuses_the_bid_with_402(app, fake_stripe):
    lot = make_auction(start_cents=100_000)
    pm = fake_stripe_card(fake_stripe, "4000000000000341")
    alice = make_user(card=pm)
    with pytest.raises(ServiceError) as refused:
        bidding().place(alice, lot.id, 150_000, "d")
    assert refused.value.status == 402 and refused.value.code == "card_declined"
    assert db.session.get(Listing, lot.id).bid_count == 0


def test_card_needing_authentication_answers_402_with_a_link(app, fake_stripe, client):
    lot = make_auction(start_cents=100_000)
    alice = make_user(card=fake_stripe_card(fake_stripe, "4000000000003220"))
    with pytest.raises(ServiceError) as refused:
        bidding().place(alice, lot.id, 150_000, "3ds")
    assert refused.value.code == "authentication_required"
    hold = holds_of(alice)[0]
    assert refused.value.action_url == f"/holds/{hold.id}/authenticate"
    assert hold.status == "requires_action"


def test_outbid_and_superseded_holds_are_released_by_the_worker(app, clock, fake_stripe):
    lot = make_auction(start_cents=100_000, minutes=60)
    alice, bob = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a1")
    bidding().place(alice, lot.id, 200_000, "a2")  # raises her own maximum: a new, larger hold
    bidding().place(bob, lot.id, 500_000, "b1")    # outbids her
    clock.advance(seconds=120)  # past the grace period for fresh holds
    assert settlement().release_holds() == 2
    assert [h.status for h in holds_of(alice)] == ["cancelled", "cancelled"]
    assert [h.status for h in holds_of(bob)] == ["authorized"]
    for hold in holds_of(alice):
        assert intent_status(fake_stripe, hold.intent_id)["status"] == "canceled"
    assert settlement().release_holds() == 0  # a second pass changes nothing


def test_winner_is_charged_once_for_the_final_price_and_gets_the_handle(app, clock, fake_stripe):
    lot = make_auction(start_cents=100_000, minutes=30)
    alice, bob = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a")
    bidding().place(bob, lot.id, 300_000, "b")
    order = settle(clock, lot)
    assert order.status == "completed" and order.buyer_id == bob.id and order.amount_cents == 160_000
    bob_hold, = holds_of(bob)
    intent = intent_status(fake_stripe, bob_hold.intent_id)
    assert intent["status"] == "succeeded" and bob_hold.status == "captured"
    charge = intent["latest_charge"]
    assert charge["captured"] is True
    # Exactly one captured payment in Stripe's records, for the final price.
    status, intents = fake_stripe_call(fake_stripe, "GET", "/v1/payment_intents", {"limit": 100})
    succeeded = [i for i in intents["data"] if i["status"] == "succeeded"]
    assert len(succeeded) == 1 and order.intent_id == succeeded[0]["id"]
    assert all(intent_status(fake_stripe, h.intent_id)["status"] == "canceled" for h in holds_of(alice))
    handle = db.session.get(Handle, db.session.get(Listing, lot.id).handle_id)
    assert handle.account.user_id == bob.id
    assert db.session.get(Listing, lot.id).closed_status == "sold"
    kinds = [r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order.id)]
    assert kinds == ["captured"]
    # Running the worker again takes no more money and moves nothing.
    settlement().run_once()
    assert [r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order.id)] == ["captured"]


def test_seller_is_paid_the_price_less_commission(app, clock, gateway):
    seller = make_user()
    account = gateway.create_connected_account(seller.email, f"acct:{seller.id}")
    seller_row = db.session.get(User, seller.id)
    seller_row.stripe_account_id = account
    lot = make_auction(start_cents=1_000_000, minutes=30)
    into_sellers_account(lot, seller)
    listing = db.session.get(Listing, lot.id)
    buyer = make_user(card="pm_card_visa")
    bidding().place(buyer, lot.id, 1_234_567, "x")
    order = settle(clock, lot)
    assert order.status == "completed"
    assert db.session.get(Handle, listing.handle_id).account.user_id == buyer.id
    assert order.commission_cents == 100_000 and order.seller_receives_cents == 900_000
    transfers = gateway.list_transfers(destination=account)
    assert [(t["amount_cents"], t["source_transaction"]) for t in transfers] == [(900_000, order.charge_id)]
    settlement().run_once()
    assert len(gateway.list_transfers(destination=account)) == 1
    # The seller heard of the sale when the money came in, then of the payout.
    kinds = [n.kind for n in db.session.query(Notification).filter_by(user_id=seller.id).order_by(Notification.id)]
    assert kinds == ["lot_sold", "payout_sent"]


def test_capture_done_before_a_crash_is_adopted_not_repeated(app, clock, gateway):
    lot = make_auction(start_cents=100_000, minutes=30)
    bob = make_user(card="pm_card_visa")
    bidding().place(bob, lot.id, 300_000, "b")
    clock.set(db.session.get(Listing, lot.id).ends_at)
    closing().close_due()
    hold, = holds_of(bob)
    # The worker captured, then died before writing it down.
    gateway.capture(hold.intent_id, 100_000, "order:1:capture")
    settlement().run_once()
    db.session.expire_all()
    order = db.session.query(Order).filter_by(listing_id=lot.id).one()
    assert order.status == "completed" and order.intent_id == hold.intent_id
    assert gateway.retrieve(hold.intent_id).amount_received_cents == 100_000


def test_lapsed_hold_falls_back_to_a_charge_and_a_declined_charge_waits_for_the_buyer(app, clock, fake_stripe):
    lot = make_auction(start_cents=100_000, minutes=30)
    bob = make_user(card="pm_card_visa")
    bidding().place(bob, lot.id, 300_000, "b")
    # The hold lapses (lots longer than a week), and the card on file now declines.
    hold = holds_of(bob)[0]
    hold.expires_at = clock.now()
    db.session.get(User, bob.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    db.session.commit()
    order = settle(clock, lot)
    assert order.status == "action_required"
    assert order.pay_by == clock.now() + timedelta(hours=48)
    clock.advance(hours=49)
    settlement().run_once()
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "lapsed"
    assert db.session.get(User, bob.id).strikes == 1


def test_buyers_previous_handle_is_held_for_them_not_released(app, clock, client):
    from marketplace.registry import DatabaseRegistry
    from marketplace.wiring import listings

    bob = make_user(card="pm_card_visa")
    DatabaseRegistry(db.session).create_account("bobs_old", clock.now(), user_id=bob.id)
    db.session.commit()
    lot = make_auction(start_cents=100_000, minutes=30)
    bidding().place(bob, lot.id, 300_000, "b")
    assert settle(clock, lot).status == "completed"
    old = db.session.query(Handle).filter_by(name="bobs_old").one()
    assert old.account_id is None and old.held_for_user_id == bob.id
    assert old.held_until == clock.now() + timedelta(days=30)
    assert "bobs_old" not in [h.name for h in listings().released_handles()]
    admin = make_user(admin=True)
    with pytest.raises(ServiceError) as refused:
        listings().create(admin, {"handle": "bobs_old", "kind": "fixed"})
    assert refused.value.code == "handle_held"


def test_outbid_bidder_sees_the_hold_released_in_my_bids(app, clock, client):
    from tests.factories import login

    lot = make_auction(start_cents=100_000, minutes=60)
    alice, bob = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a")
    login(client, alice)
    assert "$1,500 authorised" in client.get("/me/bids").get_data(as_text=True)
    bidding().place(bob, lot.id, 500_000, "b")
    clock.advance(seconds=120)
    settlement().release_holds()
    page = client.get("/me/bids").get_data(as_text=True)
    assert "Released" in page and "authorised" not in page
    mine = client.get("/api/v1/me/bids").get_json()["items"][0]
    assert mine["card_hold"]["status"] == "cancelled"


def test_no_js_bid_without_a_card_goes_to_the_card_page_and_back(app, client):
    from tests.factories import login

    lot = make_auction(start_cents=100_000)
    login(client, make_user())
    answer = client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "150000", "key": "nojs"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/account/card?next=/lots/{lot.id}"
    assert db.session.get(Listing, lot.id).bid_count == 0
