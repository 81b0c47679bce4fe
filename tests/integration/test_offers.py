"""Offers on fixed-price lots: made, countered, accepted into an order charged through the fake Stripe
server, expired by the worker, raced against a buy, and hidden from everyone but the two sides."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import EmailMessage, Handle, Listing, Notification, Offer, Order, PlatformAccount, User
from marketplace.wiring import listings, offers, purchases, settlement
from tests.factories import csrf_token, login, make_user, released_handle
from tests.support import fake_stripe_call

pytestmark = pytest.mark.usefixtures("shared_gateway")

PRICE = 5_000_000


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def seller_lot(price_cents: int = PRICE, hours: int | None = None, accepts: bool = True):
    """A live fixed-price lot sold by a seller who holds the handle in their platform account."""
    admin = make_user(admin=True)
    seller = make_user(name="Seller")
    data = {"handle": released_handle().display, "kind": "fixed", "price_cents": price_cents}
    if hours is not None:
        data["ends_at"] = (listings().clock.now() + timedelta(hours=hours)).isoformat()
    lot = listings().create(admin, data)
    now = listings().clock.now()
    account = PlatformAccount(user_id=seller.id, last_active_at=now, created_at=now)
    db.session.add(account)
    db.session.flush()
    db.session.get(Handle, lot.handle_id).account_id = account.id
    lot.seller_id, lot.accepts_offers = seller.id, accepts
    db.session.commit()
    return lot, seller


def reload(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def succeeded_intents(fake_stripe) -> list[dict]:
    status, body = fake_stripe_call(fake_stripe, "GET", "/v1/payment_intents", {"limit": 100})
    assert status == 200, body
    return [i for i in body["data"] if i["status"] == "succeeded"]


def state() -> tuple:
    """Everything an offer action could change."""
    db.session.expire_all()
    rows = db.session.query(Offer.id, Offer.status, Offer.amount_cents, Offer.order_id).order_by(Offer.id).all()
    lots = db.session.query(Listing.id, Listing.closed_status, Listing.hold_buyer_id, Listing.seq).all()
    return (rows, lots, db.session.query(Order).count(), db.session.query(Notification).count())


def kinds(user) -> list[str]:
    return [n.kind for n in db.session.query(Notification).filter_by(user_id=user.id).order_by(Notification.id)]


def signed_in(client, user) -> dict:
    login(client, user)
    return {"X-CSRFToken": csrf_token(client)}


# ---- the negotiation through the service --------------------------------------------------------

def test_offer_counter_and_counter_back_then_accept_charges_the_card_once(app, fake_stripe):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    first, made = offers().make(buyer, lot.id, 4_000_000, "Would you take $40k?", key="k1")
    assert made and first.status == "pending" and first.made_by == "buyer" and first.seller_id == seller.id
    assert kinds(seller) == ["offer_received"]
    # A retry with the same key returns the same offer and tells nobody again.
    again, made = offers().make(buyer, lot.id, 4_000_000, "Would you take $40k?", key="k1")
    assert (again.id, made) == (first.id, False) and kinds(seller) == ["offer_received"]

    countered = offers().counter(seller, first.id, 4_700_000)
    assert (countered.made_by, countered.parent_id, countered.status) == ("seller", first.id, "pending")
    assert reload(Offer, first.id).status == "countered" and kinds(buyer) == ["offer_countered"]
    back = offers().counter(buyer, countered.id, 4_400_000, "Meet in the middle?")
    assert (back.made_by, back.parent_id) == ("buyer", countered.id)

    accepted, order = offers().accept(seller, back.id)
    assert accepted.status == "accepted" and accepted.order_id == order.id
    assert (order.source, order.amount_cents, order.buyer_id, order.seller_id) == ("offer", 4_400_000, buyer.id,
                                                                                    seller.id)
    assert order.status == "paid"  # charged at once, as a purchase is
    assert "offer_accepted" in kinds(buyer) and "payment_taken" in kinds(buyer)
    settlement().run_once()
    order = reload(Order, order.id)
    assert order.status == "transferred"  # the payout waits for the seller's Connect account
    listing = reload(Listing, lot.id)
    assert (listing.winner_id, listing.final_price_cents, listing.closed_status) == (buyer.id, 4_400_000, "sold")
    assert db.session.get(Handle, listing.handle_id).account.user_id == buyer.id
    assert [i["amount"] for i in succeeded_intents(fake_stripe)] == [4_400_000]
    settlement().run_once()
    assert len(succeeded_intents(fake_stripe)) == 1


def test_sale_ends_other_buyers_open_offers_declined_with_a_reason(app):
    lot, seller = seller_lot()
    winner, other = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    mine, _ = offers().make(winner, lot.id, 4_500_000)
    theirs, _ = offers().make(other, lot.id, 4_000_000)
    offers().accept(seller, mine.id)
    assert reload(Offer, theirs.id).status == "declined"
    [declined] = db.session.query(Notification).filter_by(user_id=other.id, kind="offer_declined").all()
    assert declined.payload["reason"] == "The lot was sold."
    assert "The lot was sold." in db.session.query(EmailMessage).filter_by(
        user_id=other.id, kind="offer_declined").one().body_text


def test_buy_it_now_at_full_price_ends_open_offers(app):
    lot, seller = seller_lot()
    offerer, buyer = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    offer, _ = offers().make(offerer, lot.id, 4_000_000)
    purchases().buy(buyer, lot.id)
    assert reload(Offer, offer.id).status == "declined"
    with pytest.raises(ServiceError) as refused:
        offers().accept(seller, offer.id)
    assert refused.value.status == 409


def test_decline_and_withdraw_are_for_the_right_side(app):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    with pytest.raises(ServiceError) as refused:
        offers().withdraw(seller, offer.id)
    assert refused.value.status == 403
    with pytest.raises(ServiceError) as refused:
        offers().accept(buyer, offer.id)
    assert refused.value.status == 403
    assert offers().decline(seller, offer.id).status == "declined"
    assert kinds(buyer) == ["offer_declined"]
    # A new offer after a declined one is a new negotiation.
    second, _ = offers().make(buyer, lot.id, 4_200_000)
    assert second.parent_id is None
    assert offers().withdraw(buyer, second.id).status == "withdrawn"
    with pytest.raises(ServiceError) as refused:
        offers().accept(seller, second.id)
    assert refused.value.status == 409 and refused.value.code == "offer_closed"


def test_one_open_offer_per_buyer_per_lot(app):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offers().make(buyer, lot.id, 4_000_000)
    before = state()
    with pytest.raises(ServiceError) as refused:
        offers().make(buyer, lot.id, 4_100_000)
    assert refused.value.status == 409 and refused.value.code == "offer_pending"
    assert state() == before


def test_seller_and_linked_accounts_cannot_offer_on_their_own_lot(app):
    lot, seller = seller_lot()
    db.session.get(User, seller.id).payment_method_id = "pm_x"
    db.session.get(User, seller.id).stripe_customer_id = "cus_x"
    twin = make_user(card="pm_card_visa")
    db.session.get(User, seller.id).linked_group = db.session.get(User, twin.id).linked_group = "same-person"
    db.session.commit()
    for who in (seller, twin):
        with pytest.raises(ServiceError) as refused:
            offers().make(reload(User, who.id), lot.id, 4_000_000)
        assert refused.value.status == 403 and refused.value.code == "seller_cannot_bid"
    assert db.session.query(Offer).count() == 0


def test_refused_offers_change_nothing(app):
    lot, seller = seller_lot(accepts=True)
    closed_lot, _ = seller_lot(accepts=False)
    no_card, buyer = make_user(), make_user(card="pm_card_visa")
    before = state()
    cases = [
        (buyer, lot.id, PRICE, 422, "offer_not_below_price"),
        (buyer, lot.id, PRICE + 1, 422, "offer_not_below_price"),
        (buyer, lot.id, 0, 400, "invalid_amount"),
        (buyer, lot.id, -100, 400, "invalid_amount"),
        (buyer, lot.id, "100", 400, "invalid_amount"),
        (buyer, lot.id, True, 400, "invalid_amount"),
        (buyer, closed_lot.id, 4_000_000, 422, "offers_not_accepted"),
        (buyer, 999_999, 4_000_000, 404, "lot_not_found"),
        (no_card, lot.id, 4_000_000, 402, "payment_method_required"),
    ]
    for user, lot_id, amount, status, code in cases:
        with pytest.raises(ServiceError) as refused:
            offers().make(user, lot_id, amount)
        assert (refused.value.status, refused.value.code) == (status, code), (amount, lot_id)
        assert "buy it now" in refused.value.message or code != "offer_not_below_price"
    with pytest.raises(ServiceError) as refused:
        offers().make(buyer, lot.id, 4_000_000, "x" * 501)
    assert refused.value.status == 400
    assert state() == before


def test_platform_and_auction_lots_take_no_offers(app):
    from tests.factories import make_auction
    auction = make_auction()
    auction.accepts_offers = True
    admin = make_user(admin=True)
    platform = listings().create(admin, {"handle": released_handle().display, "kind": "fixed",
                                         "price_cents": PRICE})
    platform.accepts_offers = True
    db.session.commit()
    buyer = make_user(card="pm_card_visa")
    for lot in (auction, platform):
        with pytest.raises(ServiceError) as refused:
            offers().make(buyer, lot.id, 4_000)
        assert refused.value.code == "offers_not_accepted"


# ---- expiry --------------------------------------------------------------------------------------

def test_offer_expires_after_48_hours_and_cannot_be_accepted(app, clock):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    assert offer.expires_at == clock.now() + timedelta(hours=48)
    clock.advance(hours=47)
    assert offers().expire_due() == 0
    clock.advance(hours=1)
    before = state()
    with pytest.raises(ServiceError) as refused:
        offers().accept(seller, offer.id)
    assert refused.value.status == 409 and "expired" in refused.value.message
    assert state() == before
    assert offers().expire_due() == 1
    assert reload(Offer, offer.id).status == "expired"
    assert kinds(buyer) == ["offer_expired"]
    assert offers().expire_due() == 0  # once only
    assert db.session.query(Order).count() == 0


def test_offer_never_outlives_the_lot_and_ends_when_the_lot_closes(app, clock):
    from marketplace.wiring import closing

    lot, seller = seller_lot(hours=5)
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    assert offer.expires_at == reload(Listing, lot.id).ends_at
    clock.advance(hours=5)
    closing().close_due()
    assert reload(Listing, lot.id).closed_status == "unsold"
    assert offers().expire_due() == 1
    assert reload(Offer, offer.id).status == "declined"
    [notice] = db.session.query(Notification).filter_by(user_id=buyer.id, kind="offer_declined").all()
    assert notice.payload["reason"] == "The lot is no longer for sale."


def test_worker_pass_expires_offers(app, clock):
    from marketplace.worker import Worker

    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    clock.advance(hours=49)
    Worker(app).run_once()
    assert reload(Offer, offer.id).status == "expired"


def test_seller_switching_offers_off_ends_open_ones(app):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    reload(Listing, lot.id).accepts_offers = False
    db.session.commit()
    assert offers().expire_due() == 1
    assert reload(Offer, offer.id).status == "declined"
    [notice] = db.session.query(Notification).filter_by(user_id=buyer.id, kind="offer_declined").all()
    assert "no longer takes offers" in notice.payload["reason"]


# ---- races ---------------------------------------------------------------------------------------

def race(app, calls) -> list[str]:
    """Run each call at once in its own thread and app context; what each ended with."""
    start = threading.Barrier(len(calls), timeout=30)
    outcomes: list[str] = []

    def run(call) -> None:
        with app.app_context():
            try:
                start.wait()
                call()
                outcomes.append("ok")
            except ServiceError as exc:
                outcomes.append(exc.code)
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                outcomes.append(f"crash: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a call hung"
    assert not [o for o in outcomes if o.startswith("crash")], outcomes
    return outcomes


def test_two_accepts_at_once_make_one_order(app, fake_stripe):
    lot, seller = seller_lot()
    a, b = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    offer_a, _ = offers().make(a, lot.id, 4_000_000)
    offer_b, _ = offers().make(b, lot.id, 4_100_000)
    seller_id, a_id, b_id = seller.id, offer_a.id, offer_b.id
    db.session.remove()

    def accept(offer_id):
        return lambda: offers().accept(db.session.get(User, seller_id), offer_id)

    outcomes = race(app, [accept(a_id), accept(b_id), accept(a_id)])
    assert outcomes.count("ok") == 1, outcomes
    assert db.session.query(Order).count() == 1
    assert len(succeeded_intents(fake_stripe)) == 1


def test_accept_and_buy_at_once_make_one_order(app, fake_stripe):
    lot, seller = seller_lot()
    offerer, buyer = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    offer, _ = offers().make(offerer, lot.id, 4_000_000)
    seller_id, buyer_id, offer_id, lot_id = seller.id, buyer.id, offer.id, lot.id
    db.session.remove()
    outcomes = race(app, [lambda: offers().accept(db.session.get(User, seller_id), offer_id),
                          lambda: purchases().buy(db.session.get(User, buyer_id), lot_id)])
    assert outcomes.count("ok") == 1, outcomes
    assert db.session.query(Order).count() == 1
    settlement().run_once()
    assert len(succeeded_intents(fake_stripe)) == 1


# ---- the API ---------------------------------------------------------------------------------------

def test_api_negotiation_from_offer_to_order(app, client):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    headers = signed_in(client, buyer)
    made = client.post(f"/api/v1/lots/{lot.id}/offers", json={"amount_cents": 4_000_000, "message": "hi"},
                       headers={**headers, "Idempotency-Key": "abc"})
    assert made.status_code == 201, made.get_json()
    offer = made.get_json()
    assert (offer["status"], offer["made_by"], offer["your_side"], offer["actions"]) == (
        "pending", "buyer", "buyer", ["withdraw"])
    assert offer["price_cents"] == PRICE and offer["handle"] == lot.handle_display
    replay = client.post(f"/api/v1/lots/{lot.id}/offers", json={"amount_cents": 4_000_000, "message": "hi"},
                         headers={**headers, "Idempotency-Key": "abc"})
    assert replay.status_code == 200 and replay.get_json()["id"] == offer["id"]
    client.post("/logout", headers=headers)

    headers = signed_in(client, seller)
    listed = client.get("/api/v1/offers?role=seller").get_json()
    assert [o["id"] for o in listed["items"]] == [offer["id"]] and listed["total"] == 1
    assert listed["items"][0]["actions"] == ["accept", "decline", "counter"]
    assert client.get("/api/v1/offers?role=buyer").get_json()["total"] == 0
    assert client.get("/api/v1/offers?role=nobody").status_code == 400
    countered = client.post(f"/api/v1/offers/{offer['id']}/counter", json={"amount_cents": 4_600_000},
                            headers=headers)
    assert countered.status_code == 201 and countered.get_json()["parent_id"] == offer["id"]
    counter_id = countered.get_json()["id"]
    client.post("/logout", headers=headers)

    headers = signed_in(client, buyer)
    accepted = client.post(f"/api/v1/offers/{counter_id}/accept", headers=headers)
    assert accepted.status_code == 200, accepted.get_json()
    answer = accepted.get_json()
    assert answer["offer"]["status"] == "accepted" and answer["offer"]["order_id"] == answer["order"]["id"]
    assert answer["order"]["source"] == "offer" and answer["order"]["amount_cents"] == 4_600_000
    assert client.get(f"/api/v1/orders/{answer['order']['id']}").status_code == 200
    again = client.post(f"/api/v1/offers/{counter_id}/accept", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "offer_closed"
    assert db.session.query(Order).count() == 1


def test_api_refusals_are_4xx_with_the_error_shape_and_change_nothing(app, client):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    headers = signed_in(client, buyer)
    before = state()
    bad = [
        ("post", f"/api/v1/lots/{lot.id}/offers", {"amount_cents": "lots"}, 400),
        ("post", f"/api/v1/lots/{lot.id}/offers", {"amount_cents": 1.5}, 400),
        ("post", f"/api/v1/lots/{lot.id}/offers", {"amount_cents": PRICE}, 422),
        ("post", f"/api/v1/lots/{lot.id}/offers", {"amount_cents": 100, "message": 7}, 400),
        ("post", f"/api/v1/lots/{lot.id}/offers", {"amount_cents": 100, "key": ""}, 400),
        ("post", f"/api/v1/lots/{lot.id}/offers", {"amount_cents": 4_100_000}, 409),  # one open offer
        ("post", "/api/v1/lots/999999/offers", {"amount_cents": 100}, 404),
        ("post", f"/api/v1/offers/{offer.id}/accept", None, 403),  # one's own offer
        ("post", f"/api/v1/offers/{offer.id}/counter", {"amount_cents": 100}, 403),
        ("post", "/api/v1/offers/999999/withdraw", None, 404),
    ]
    for method, path, payload, status in bad:
        answer = getattr(client, method)(path, json=payload if payload is not None else {}, headers=headers)
        assert answer.status_code == status, (path, payload, answer.get_json())
        error = answer.get_json()["error"]
        assert error["code"] and error["message"]
    assert client.post(f"/api/v1/lots/{lot.id}/offers", data="[1]", content_type="application/json",
                       headers=headers).status_code == 400
    client.post("/logout", headers=headers)
    assert client.post(f"/api/v1/lots/{lot.id}/offers", json={"amount_cents": 100}).status_code == 401
    assert client.get("/api/v1/offers").status_code == 401
    headers = signed_in(client, seller)
    for amount, status in ((4_000_000, 422), (PRICE, 422), (0, 400), (None, 400)):
        answer = client.post(f"/api/v1/offers/{offer.id}/counter", json={"amount_cents": amount}, headers=headers)
        assert answer.status_code == status, (amount, answer.get_json())
    assert state() == before


def test_someone_elses_offer_is_not_found_for_reading_and_every_action(app, client):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    headers = signed_in(client, make_user(card="pm_card_visa"))
    before = state()
    assert client.get(f"/api/v1/offers/{offer.id}").status_code == 404
    for action, payload in (("accept", {}), ("decline", {}), ("withdraw", {}),
                            ("counter", {"amount_cents": 4_500_000})):
        answer = client.post(f"/api/v1/offers/{offer.id}/{action}", json=payload, headers=headers)
        assert answer.status_code == 404, (action, answer.get_json())
        assert answer.get_json()["error"]["code"] == "offer_not_found"
    assert client.get("/api/v1/offers").get_json()["total"] == 0
    for action in ("accept", "decline", "withdraw"):
        answer = client.post(f"/offers/{offer.id}/{action}", data={"csrf_token": headers["X-CSRFToken"]})
        assert answer.status_code == 404, action
    assert state() == before


def test_admin_may_read_an_offer_but_not_answer_it(app, client):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    headers = signed_in(client, make_user(admin=True))
    answer = client.get(f"/api/v1/offers/{offer.id}")
    assert answer.status_code == 200 and answer.get_json()["your_side"] is None
    assert answer.get_json()["actions"] == []
    assert client.post(f"/api/v1/offers/{offer.id}/accept", json={}, headers=headers).status_code == 403
    assert reload(Offer, offer.id).status == "pending"


# ---- pages -----------------------------------------------------------------------------------------

def test_lot_page_offers_a_form_to_buyers_with_a_card_only(app, client):
    lot, seller = seller_lot()
    plain, _ = seller_lot(accepts=False)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="sign-in-to-offer"' in page and 'data-testid="offer-form"' not in page
    login(client, make_user())
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="save-card-to-offer"' in page and 'data-testid="offer-form"' not in page
    client.post("/logout")
    login(client, make_user(card="pm_card_visa"))
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="offer-form"' in page
    assert 'data-testid="offer-box"' not in client.get(f"/lots/{plain.id}").get_data(as_text=True)
    client.post("/logout")
    login(client, seller)
    assert 'data-testid="offer-box"' not in client.get(f"/lots/{lot.id}").get_data(as_text=True)


def test_offer_from_the_lot_page_is_confirmed_before_it_is_sent(app, client):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    login(client, buyer)
    review = client.post(f"/lots/{lot.id}/offer/confirm", data={"amount": "$40,000", "message": "Keen buyer"})
    assert review.status_code == 200
    page = review.get_data(as_text=True)
    assert 'data-testid="offer-confirm-page"' in page and "$40,000" in page and "Keen buyer" in page
    assert db.session.query(Offer).count() == 0  # reviewing sends nothing
    key = page.split('name="key" type="hidden" value="', 1)[1].split('"', 1)[0]
    sent = client.post(f"/lots/{lot.id}/offer", data={"amount_cents": "4000000", "message": "Keen buyer", "key": key})
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/offers")
    again = client.post(f"/lots/{lot.id}/offer", data={"amount_cents": "4000000", "message": "Keen buyer", "key": key})
    assert again.status_code == 302
    [offer] = db.session.query(Offer).all()
    assert (offer.amount_cents, offer.message, offer.buyer_id) == (4_000_000, "Keen buyer", buyer.id)
    mine = client.get("/offers").get_data(as_text=True)
    assert f'data-offer-id="{offer.id}"' in mine and 'data-testid="offer-withdraw"' in mine
    assert 'data-testid="no-seller-offers"' in mine
    assert 'data-testid="open-offer"' in client.get(f"/lots/{lot.id}").get_data(as_text=True)


def test_refused_offer_on_the_page_is_said_and_changes_nothing(app, client):
    lot, seller = seller_lot()
    login(client, make_user(card="pm_card_visa"))
    for amount in ("50,000", "abc", "", "0"):
        answer = client.post(f"/lots/{lot.id}/offer/confirm", data={"amount": amount}, follow_redirects=True)
        assert answer.status_code == 200 and 'data-testid="flash"' in answer.get_data(as_text=True), amount
    answer = client.post(f"/lots/{lot.id}/offer", data={"amount_cents": str(PRICE)}, follow_redirects=True)
    assert "buy it now" in answer.get_data(as_text=True)
    assert db.session.query(Offer).count() == 0


def test_seller_answers_on_the_offers_page_counter_then_accept(app, client):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    login(client, seller)
    page = client.get("/offers").get_data(as_text=True)
    for testid in ("offer-accept", "offer-decline", "offer-counter-form"):
        assert f'data-testid="{testid}"' in page
    assert 'data-testid="empty-state"' in page  # no offers made as a buyer
    countered = client.post(f"/offers/{offer.id}/counter", data={"amount": "46,000"})
    assert countered.status_code == 302
    counter_offer = db.session.query(Offer).filter_by(parent_id=offer.id).one()
    assert counter_offer.amount_cents == 4_600_000
    client.post("/logout")
    login(client, buyer)
    page = client.get("/offers").get_data(as_text=True)
    assert "Accept and pay $46,000" in page
    accepted = client.post(f"/offers/{counter_offer.id}/accept", data={})
    assert accepted.status_code == 302 and "/orders/" in accepted.headers["Location"]
    assert reload(Offer, counter_offer.id).order_id is not None


def test_seller_offers_partial_renders_with_only_the_current_user(app):
    from flask import render_template_string
    from flask_login import login_user

    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    with app.test_request_context("/seller"):
        login_user(seller)
        html = render_template_string('{% include "offers/_seller_offers.html" %}')
    assert f'data-offer-id="{offer.id}"' in html and 'data-testid="offer-accept"' in html
    with app.test_request_context("/seller"):
        login_user(buyer)
        html = render_template_string('{% include "offers/_seller_offers.html" %}')
    assert 'data-testid="seller-offers-empty"' in html and "data-offer-id" not in html


def test_offer_notices_read_as_sentences_and_lead_to_the_offers_page(app, client):
    lot, seller = seller_lot()
    buyer = make_user(card="pm_card_visa")
    offer, _ = offers().make(buyer, lot.id, 4_000_000)
    offers().decline(seller, offer.id)
    login(client, seller)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert f"New offer of $40,000 for @{lot.handle_display}" in page and 'href="/offers"' in page
    client.post("/logout")
    login(client, buyer)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert f"Your offer of $40,000 for @{lot.handle_display} was declined." in page and "View offers" in page
    [mail] = db.session.query(EmailMessage).filter_by(user_id=buyer.id, kind="offer_declined").all()
    assert "/offers" in mail.body_text and "$40,000.00" in mail.body_text
