"""Buying at a price: fixed-price checkout, Dutch lots and buy-now, through the order machine,
against the fake Stripe server on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import Handle, Listing, Order, PaymentRecord, User
from marketplace.wiring import bidding, listings, purchases, settlement
from tests.factories import csrf_token, login, make_auction, make_user, released_handle
from tests.support import fake_stripe_call, fake_stripe_card

pytestmark = pytest.mark.usefixtures("shared_gateway")


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def fixed_lot(price_cents: int = 5_000_000, hours: int = 24):
    admin = make_user(admin=True)
    return listings().create(admin, {"handle": released_handle().display, "kind": "fixed",
                                     "price_cents": price_cents,
                                     "ends_at": (listings().clock.now() + timedelta(hours=hours)).isoformat()})


def dutch_lot(start_cents: int = 8_000_000, floor_cents: int = 2_000_000, half_life: int = 3600):
    admin = make_user(admin=True)
    return listings().create(admin, {"handle": released_handle().display, "kind": "dutch",
                                     "start_price_cents": start_cents, "floor_price_cents": floor_cents,
                                     "half_life_seconds": half_life,
                                     "ends_at": (listings().clock.now() + timedelta(days=3)).isoformat()})


def succeeded_intents(fake_stripe) -> list[dict]:
    status, body = fake_stripe_call(fake_stripe, "GET", "/v1/payment_intents", {"limit": 100})
    assert status == 200, body
    return [i for i in body["data"] if i["status"] == "succeeded"]


def reload(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def test_fixed_price_buy_is_charged_once_and_the_handle_moves(app, fake_stripe):
    lot = fixed_lot()
    buyer = make_user(card="pm_card_visa")
    order = purchases().buy(buyer, lot.id, key="k1")
    settlement().run_once()
    order = reload(Order, order.id)
    assert order.status == "completed" and order.amount_cents == 5_000_000 and order.source == "fixed"
    listing = reload(Listing, lot.id)
    assert listing.closed_status == "sold" and listing.winner_id == buyer.id
    assert db.session.get(Handle, listing.handle_id).account.user_id == buyer.id
    charges = succeeded_intents(fake_stripe)
    assert [c["amount"] for c in charges] == [5_000_000]
    # Pressing buy again returns the same order and takes no more money.
    assert purchases().buy(buyer, lot.id, key="k2").id == order.id
    settlement().run_once()
    assert len(succeeded_intents(fake_stripe)) == 1


def test_second_buyer_meets_the_checkout_hold(app):
    lot = fixed_lot()
    first, second = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    purchases().buy(first, lot.id)
    with pytest.raises(ServiceError) as refused:
        purchases().buy(second, lot.id)
    assert refused.value.status == 409


def test_twenty_buyers_at_once_make_one_order_and_one_charge(app, fake_stripe):
    lot = fixed_lot()
    buyers = [make_user(card="pm_card_visa") for _ in range(20)]
    db.session.commit()
    start = threading.Barrier(len(buyers), timeout=30)
    outcomes: list[str] = []

    def press(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.expunge(user)
            db.session.rollback()  # give the connection back: 20 waiting threads would drain the pool
            try:
                start.wait()
                purchases().buy(user, lot.id)
                outcomes.append("order")
            except ServiceError as exc:
                outcomes.append(exc.code)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes.append(f"crash: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(u.id,), daemon=True) for u in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a buyer hung"
    assert outcomes.count("order") == 1, outcomes
    assert not [o for o in outcomes if o.startswith("crash")], outcomes
    settlement().run_once()
    db.session.expire_all()
    orders = db.session.query(Order).filter_by(listing_id=lot.id).all()
    assert [o.status for o in orders] == ["completed"]
    assert [c["amount"] for c in succeeded_intents(fake_stripe)] == [5_000_000]


def test_declined_checkout_waits_for_its_hold_then_lapses_without_a_strike(app, clock, fake_stripe):
    lot = fixed_lot()
    buyer = make_user(card=fake_stripe_card(fake_stripe, "4000000000000341"))
    order = purchases().buy(buyer, lot.id)
    order = reload(Order, order.id)
    assert order.status == "action_required"
    assert order.pay_by == clock.now() + timedelta(minutes=15)
    clock.advance(minutes=16)
    settlement().run_once()
    assert reload(Order, order.id).status == "lapsed"
    assert reload(User, buyer.id).strikes == 0
    # The lot is for sale again.
    other = make_user(card="pm_card_visa")
    assert purchases().buy(other, lot.id).status in ("paid", "transferred", "completed")


def test_dutch_lot_sells_at_the_current_price(app, clock):
    lot = dutch_lot()
    clock.advance(seconds=3600)  # one half-life: the price has fallen
    buyer = make_user(card="pm_card_visa")
    order = purchases().buy(buyer, lot.id, max_price_cents=8_000_000)
    assert order.source == "dutch" and order.amount_cents < 8_000_000
    settlement().run_once()
    assert reload(Order, order.id).status == "completed"


def test_dutch_buy_refused_above_the_buyers_limit(app):
    lot = dutch_lot()
    buyer = make_user(card="pm_card_visa")
    with pytest.raises(ServiceError) as refused:
        purchases().buy(buyer, lot.id, max_price_cents=1_000_000)
    assert refused.value.status in (409, 422)
    assert reload(Listing, lot.id).closed_status is None
    assert db.session.query(Order).count() == 0


def test_buy_now_sells_the_auction_and_is_gone_after_the_first_bid(app):
    lot = make_auction(start_cents=100_000, buy_now_cents=1_000_000)
    buyer = make_user(card="pm_card_visa")
    order = purchases().buy(buyer, lot.id)
    assert order.source == "buy_now" and order.amount_cents == 1_000_000
    settlement().run_once()
    assert reload(Order, order.id).status == "completed"
    other = make_auction(start_cents=100_000, buy_now_cents=1_000_000)
    bidding().place(make_user(card="pm_card_visa"), other.id, 150_000, "b")
    with pytest.raises(ServiceError) as refused:
        purchases().buy(buyer, other.id)
    assert refused.value.status in (409, 422)


def test_api_buy_needs_a_card_and_rejects_tampered_prices(app, client):
    lot = fixed_lot()
    no_card = make_user()
    login(client, no_card)
    headers = {"X-CSRFToken": csrf_token(client)}
    refused = client.post(f"/api/v1/lots/{lot.id}/buy", json={}, headers=headers)
    assert refused.status_code == 402
    assert refused.get_json()["error"]["action_url"] == "/account/card"
    buyer = make_user(card="pm_card_visa")
    client.post("/logout", headers=headers)
    login(client, buyer)
    headers = {"X-CSRFToken": csrf_token(client)}
    for bad in ("lots", -5, 1.5, 10**20, True):
        answer = client.post(f"/api/v1/lots/{lot.id}/buy", json={"max_price_cents": bad}, headers=headers)
        assert answer.status_code == 400, (bad, answer.get_json())
    assert client.post(f"/api/v1/lots/{lot.id}/buy", data="[1]", content_type="application/json",
                       headers=headers).status_code == 400
    assert client.post("/api/v1/lots/999999/buy", json={}, headers=headers).status_code == 404
    bought = client.post(f"/api/v1/lots/{lot.id}/buy", json={}, headers=headers)
    assert bought.status_code == 201, bought.get_json()
    order_id = bought.get_json()["id"]
    assert client.get(f"/api/v1/orders/{order_id}").status_code == 200
    assert db.session.query(PaymentRecord).filter_by(order_id=order_id).count() == 1


def test_another_users_order_is_not_found(app, client):
    lot = fixed_lot()
    order = purchases().buy(make_user(card="pm_card_visa"), lot.id)
    login(client, make_user())
    assert client.get(f"/api/v1/orders/{order.id}").status_code == 404

