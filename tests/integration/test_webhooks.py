"""POST /webhooks/stripe against the fake Stripe server, on SQLite and PostgreSQL.

Events are signed here with Stripe's scheme (HMAC-SHA256 of "<t>.<payload>"); the intents they
name are real ones at localstripe, which the endpoint reads again before acting.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from marketplace.extensions import db
from marketplace.models import CardHold, Listing, Order, PaymentRecord, WebhookEvent
from marketplace.payments import StripeGateway
from marketplace.services.webhooks import WebhookService
from marketplace.wiring import bidding, closing
from tests.factories import make_auction, make_user
from tests.procs import free_port
from tests.support import (
    FAKE_STRIPE_SECRET_KEY,
    FAKE_STRIPE_WEBHOOK_SECRET,
    fake_stripe_call,
)


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


pytestmark = pytest.mark.usefixtures("shared_gateway")


def signature(payload: bytes, secret: str = FAKE_STRIPE_WEBHOOK_SECRET) -> str:
    """A Stripe-Signature header for `payload`."""
    timestamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def deliver(client, event: dict, header: str | None = None):
    """POST an event as Stripe does (signed with the test secret unless a header is given)."""
    payload = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    if header != "":
        headers["Stripe-Signature"] = signature(payload) if header is None else header
    return client.post("/webhooks/stripe", data=payload, headers=headers)


def intent_event(event_id: str, kind: str, intent_id: str) -> dict:
    """A payment_intent event naming an intent (its payload is deliberately thin: we re-read it)."""
    return {"id": event_id, "object": "event", "type": kind,
            "data": {"object": {"id": intent_id, "object": "payment_intent"}}}


def won_lot(clock):
    """A closed lot whose winner's card is authorised and whose order awaits payment."""
    lot = make_auction(start_cents=100_000, minutes=30)
    bob = make_user(card="pm_card_visa")
    bidding().place(bob, lot.id, 300_000, "b")
    clock.set(db.session.get(Listing, lot.id).ends_at)
    closing().close_due()
    hold = db.session.query(CardHold).filter_by(user_id=bob.id).one()
    return lot, bob, hold


def seen_events() -> list[str]:
    db.session.expire_all()
    return [e.id for e in db.session.query(WebhookEvent)]


def test_a_signed_event_moves_the_order_once_even_when_delivered_twice(client, clock):
    lot, bob, hold = won_lot(clock)
    event = intent_event("evt_capturable_1", "payment_intent.amount_capturable_updated", hold.intent_id)

    first = deliver(client, event)
    second = deliver(client, event)

    assert (first.status_code, first.get_json()) == (200, {"received": True, "outcome": "handled"})
    assert (second.status_code, second.get_json()) == (200, {"received": True, "outcome": "duplicate"})
    assert seen_events() == ["evt_capturable_1"]
    order = db.session.query(Order).filter_by(listing_id=lot.id).one()
    assert order.status == "completed" and order.intent_id == hold.intent_id
    assert [r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order.id)] == ["captured"]


def test_a_bad_signature_is_refused_with_400_and_nothing_is_recorded(client, clock):
    lot, bob, hold = won_lot(clock)
    event = intent_event("evt_bad", "payment_intent.succeeded", hold.intent_id)
    payload = json.dumps(event).encode()

    forged = deliver(client, event, header=signature(payload, "whsec_someone_else"))

    assert forged.status_code == 400
    assert forged.get_json()["error"]["code"] == "invalid_signature"
    assert seen_events() == []
    assert db.session.query(Order).filter_by(listing_id=lot.id).one().status == "awaiting_payment"


def test_a_missing_signature_is_refused_with_400(client):
    response = deliver(client, intent_event("evt_unsigned", "payment_intent.succeeded", "pi_x"), header="")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert seen_events() == []


def test_a_signed_payload_that_is_not_an_event_is_refused_with_400(client):
    response = deliver(client, {"id": "evt_no_data", "type": "payment_intent.succeeded"})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_event"
    assert seen_events() == []


def test_an_event_of_no_concern_is_answered_200_and_ignored(client):
    event = {"id": "evt_customer", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}

    response = deliver(client, event)

    assert (response.status_code, response.get_json()["outcome"]) == (200, "ignored")
    assert seen_events() == []


def test_a_replayed_event_id_with_a_forged_body_changes_nothing(client, clock, fake_stripe):
    lot, bob, hold = won_lot(clock)
    customer_event = {"id": "evt_replayed", "type": "customer.updated", "data": {"object": {"id": "cus_1"}}}
    assert deliver(client, intent_event("evt_replayed", "payment_intent.succeeded", "pi_unknown")).status_code == 200

    replay = deliver(client, intent_event("evt_replayed", "payment_intent.canceled", hold.intent_id))

    assert replay.get_json()["outcome"] == "duplicate"
    assert deliver(client, customer_event).get_json()["outcome"] == "duplicate"
    db.session.expire_all()
    assert db.session.get(CardHold, hold.id).status == "authorized"
    _, intent = fake_stripe_call(fake_stripe, "GET", f"/v1/payment_intents/{hold.intent_id}")
    assert intent["status"] == "requires_capture"


def test_an_event_claiming_a_cancellation_stripe_does_not_know_of_leaves_the_hold(client, app):
    lot = make_auction(start_cents=100_000, minutes=30)
    alice = make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a")
    hold = db.session.query(CardHold).filter_by(user_id=alice.id).one()

    response = deliver(client, intent_event("evt_lie", "payment_intent.canceled", hold.intent_id))

    assert response.get_json()["outcome"] == "handled"
    db.session.expire_all()
    assert db.session.get(CardHold, hold.id).status == "authorized"


def test_a_hold_cancelled_at_stripe_is_marked_cancelled_once(client, gateway):
    lot = make_auction(start_cents=100_000, minutes=30)
    alice = make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a")
    hold = db.session.query(CardHold).filter_by(user_id=alice.id).one()
    gateway.cancel(hold.intent_id, "dashboard-cancel")

    for event_id in ("evt_cancel_1", "evt_cancel_2"):  # Stripe may send two events for one change
        assert deliver(client, intent_event(event_id, "payment_intent.canceled", hold.intent_id)).status_code == 200

    db.session.expire_all()
    assert db.session.get(CardHold, hold.id).status == "cancelled"
    kinds = [r.kind for r in db.session.query(PaymentRecord).filter_by(hold_id=hold.id)]
    assert kinds == ["authorized", "authorization_cancelled"]
    assert sorted(seen_events()) == ["evt_cancel_1", "evt_cancel_2"]


def test_payments_unavailable_answers_503_and_the_event_is_retried_later(client, app, clock, gateway):
    lot, bob, hold = won_lot(clock)
    event = intent_event("evt_retry", "payment_intent.succeeded", hold.intent_id)
    down = StripeGateway(FAKE_STRIPE_SECRET_KEY, api_base=f"http://127.0.0.1:{free_port()}",
                         webhook_secret=FAKE_STRIPE_WEBHOOK_SECRET, max_network_retries=0)
    app.extensions["gateway"] = down
    try:
        refused = deliver(client, event)
    finally:
        down.close()
        app.extensions["gateway"] = gateway

    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "payments_unavailable"
    assert seen_events() == []
    assert deliver(client, event).get_json()["outcome"] == "handled"
    assert db.session.query(Order).filter_by(listing_id=lot.id).one().status == "completed"


def test_an_unexpected_handler_failure_answers_503_not_500_and_is_not_remembered(client, clock, monkeypatch):
    lot, bob, hold = won_lot(clock)

    def broken(self, kind, obj):
        raise RuntimeError("a bug")

    monkeypatch.setattr(WebhookService, "_dispatch", broken)
    response = deliver(client, intent_event("evt_bug", "payment_intent.succeeded", hold.intent_id))

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "webhook_failed"
    assert seen_events() == []
