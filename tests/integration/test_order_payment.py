"""When the winner's card fails: the buyer pays in the browser within 48 hours, or the order lapses,
the winner gets a strike and the runner-up a 24-hour second-chance offer at their own highest bid.
Against the fake Stripe server, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import CardHold, Handle, Listing, Order, PaymentRecord, User
from marketplace.wiring import bidding, buyer_orders, cards, closing, settlement
from tests.factories import csrf_token, login, make_auction, make_user, win_with_failing_card
from tests.support import fake_stripe_call, fake_stripe_card

pytestmark = pytest.mark.usefixtures("shared_gateway")


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def reload(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def succeeded(fake_stripe) -> list[dict]:
    status, body = fake_stripe_call(fake_stripe, "GET", "/v1/payment_intents", {"limit": 100})
    assert status == 200, body
    return [i for i in body["data"] if i["status"] == "succeeded"]


def test_declined_winner_pays_with_another_card_once(app, clock, fake_stripe):
    lot, _, bob, order = win_with_failing_card(clock, fake_stripe)
    with pytest.raises(ServiceError) as refused:
        buyer_orders().pay(bob, order.id)  # the same card declines again
    assert refused.value.status == 402 and refused.value.code == "card_declined"
    assert refused.value.action_url == f"/account/card?next=/orders/{order.id}/pay"
    assert reload(Order, order.id).status == "action_required"
    cards().save_payment_method(bob, "pm_card_visa")
    bob = reload(User, bob.id)
    answer = buyer_orders().pay(bob, order.id)
    assert answer["status"] == "completed"
    assert buyer_orders().pay(bob, order.id)["status"] == "completed"  # a second click: no-op
    settlement().run_once()
    assert [i["amount"] for i in succeeded(fake_stripe)] == [160_000]
    listing = reload(Listing, lot.id)
    assert db.session.get(Handle, listing.handle_id).account.user_id == bob.id
    kinds = [r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order.id).order_by(PaymentRecord.id)]
    assert kinds == ["charge_failed", "charge_failed", "payment_started", "charged"]


def test_bank_check_is_finished_on_the_pay_page(app, clock, fake_stripe, client):
    lot, _, bob, order = win_with_failing_card(clock, fake_stripe, "4000002760003184")
    assert order.intent_id  # the off-session attempt the bank wants confirmed
    login(client, bob)
    page = client.get(f"/orders/{order.id}/pay")
    assert page.status_code == 200 and 'data-testid="pay-now"' in page.get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_token(client)}
    answer = client.post(f"/orders/{order.id}/pay", json={}, headers=headers).get_json()
    assert answer["status"] == "requires_action" and answer["client_secret"]
    not_yet = client.post(f"/orders/{order.id}/pay/confirm", json={}, headers=headers).get_json()
    assert not_yet["status"] == "action_required"
    # What Stripe.js does when the buyer passes the bank's check.
    status, body = fake_stripe_call(fake_stripe, "POST", f"/v1/payment_intents/{order.intent_id}/_authenticate",
                                    {"client_secret": answer["client_secret"], "success": "true"})
    assert status == 200, body
    done = client.post(f"/orders/{order.id}/pay/confirm", json={}, headers=headers).get_json()
    assert done["status"] == "completed"
    assert [i["amount"] for i in succeeded(fake_stripe)] == [160_000]


def test_worker_notices_a_payment_made_when_the_page_was_closed(app, clock, fake_stripe):
    lot, _, bob, order = win_with_failing_card(clock, fake_stripe, "4000002760003184")
    status, intent = fake_stripe_call(fake_stripe, "GET", f"/v1/payment_intents/{order.intent_id}")
    fake_stripe_call(fake_stripe, "POST", f"/v1/payment_intents/{order.intent_id}/_authenticate",
                     {"client_secret": intent["client_secret"], "success": "true"})
    settlement().run_once()
    assert reload(Order, order.id).status == "action_required"  # not asked again so soon
    clock.advance(minutes=3)
    settlement().run_once()
    assert reload(Order, order.id).status == "completed"


def test_unpaid_win_lapses_with_a_strike_and_the_runner_up_is_offered_the_lot(app, clock, fake_stripe):
    lot, alice, bob, order = win_with_failing_card(clock, fake_stripe)
    clock.advance(hours=49)
    settlement().run_once()
    assert reload(Order, order.id).status == "lapsed"
    assert reload(User, bob.id).strikes == 1
    offer = db.session.query(Order).filter_by(listing_id=lot.id, buyer_id=alice.id).one()
    assert offer.status == "offered" and offer.amount_cents == 150_000  # her own highest bid
    assert offer.second_chance_of_id == order.id and offer.pay_by == clock.now() + timedelta(hours=24)
    with pytest.raises(ServiceError):
        buyer_orders().accept_offer(bob, offer.id)  # not his offer
    answer = buyer_orders().accept_offer(reload(User, alice.id), offer.id)
    assert answer["status"] == "completed"
    listing = reload(Listing, lot.id)
    assert listing.winner_id == alice.id and listing.closed_status == "sold"
    assert db.session.get(Handle, listing.handle_id).account.user_id == alice.id
    assert [i["amount"] for i in succeeded(fake_stripe)] == [150_000]
    with pytest.raises(ServiceError) as closed:
        buyer_orders().decline_offer(reload(User, alice.id), offer.id)
    assert closed.value.code == "offer_closed"


def test_an_offer_not_taken_expires_and_the_lot_closes_unsold(app, clock, fake_stripe):
    lot, alice, bob, order = win_with_failing_card(clock, fake_stripe)
    clock.advance(hours=49)
    settlement().run_once()
    offer = db.session.query(Order).filter_by(listing_id=lot.id, buyer_id=alice.id).one()
    clock.advance(hours=25)
    settlement().run_once()
    assert reload(Order, offer.id).status == "declined"
    assert reload(Listing, lot.id).closed_status == "unsold"
    assert reload(User, alice.id).strikes == 0
    with pytest.raises(ServiceError):
        buyer_orders().accept_offer(reload(User, alice.id), offer.id)
    assert succeeded(fake_stripe) == []


def test_declining_an_offer_closes_the_lot(app, clock, fake_stripe, client):
    lot, alice, bob, order = win_with_failing_card(clock, fake_stripe)
    clock.advance(hours=49)
    settlement().run_once()
    offer = db.session.query(Order).filter_by(listing_id=lot.id, buyer_id=alice.id).one()
    login(client, alice)
    answer = client.post(f"/api/v1/orders/{offer.id}/decline", json={}, headers={"X-CSRFToken": csrf_token(client)})
    assert answer.status_code == 200 and answer.get_json()["status"] == "declined"
    assert reload(Listing, lot.id).closed_status == "unsold"


def test_paying_is_only_for_the_buyer_and_before_the_deadline(app, clock, fake_stripe, client):
    lot, alice, bob, order = win_with_failing_card(clock, fake_stripe)
    login(client, alice)
    headers = {"X-CSRFToken": csrf_token(client)}
    assert client.post(f"/api/v1/orders/{order.id}/pay", json={}, headers=headers).status_code == 404
    assert client.get(f"/orders/{order.id}/pay").status_code == 404
    assert client.post("/api/v1/orders/999999/pay", json={}, headers=headers).status_code == 404
    clock.advance(hours=48, seconds=1)
    with pytest.raises(ServiceError) as late:
        buyer_orders().pay(bob, order.id)
    assert late.value.code == "payment_window_closed"


def test_three_strikes_suspend_bidding_and_buying(app):
    lot = make_auction(start_cents=100_000)
    striker = make_user(card="pm_card_visa")
    db.session.get(User, striker.id).strikes = 3
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        bidding().place(reload(User, striker.id), lot.id, 150_000, "s")
    assert refused.value.status == 403 and refused.value.code == "buyer_suspended"
