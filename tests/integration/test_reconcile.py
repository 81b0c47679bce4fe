"""Reconciliation of card holds with the fake Stripe server, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import CardHold, HoldStatus, PaymentRecord
from marketplace.services.reconcile import Reconciler
from marketplace.wiring import bidding, clock as app_clock, gateway as app_gateway
from tests.factories import make_auction, make_user
from tests.support import FAKE_STRIPE_SECRET_KEY, fake_stripe_call


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


pytestmark = pytest.mark.usefixtures("shared_gateway")


def reconcile() -> dict:
    return Reconciler(db.session, app_clock(), app_gateway()).run_once()


def stripe_status(fake_stripe, intent_id: str) -> str:
    status, body = fake_stripe_call(fake_stripe, "GET", f"/v1/payment_intents/{intent_id}")
    assert status == 200, body
    return body["status"]


def bidder_with_hold():
    """A bidder whose card is authorised on a live lot (so reconciliation looks at their intents)."""
    lot = make_auction(start_cents=100_000, minutes=60)
    alice = make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a")
    return lot, alice, db.session.query(CardHold).filter_by(user_id=alice.id).one()


def pending_hold(user, lot, clock, amount_cents: int = 200_000) -> CardHold:
    """A hold written as pending before the Stripe call (what HoldService.ensure does first)."""
    now = clock.now()
    hold = CardHold(user_id=user.id, listing_id=lot.id, amount_cents=amount_cents, status=HoldStatus.PENDING,
                    idempotency_key=f"hold:{user.id}:{lot.id}:{amount_cents}:crash", created_at=now,
                    updated_at=now, expires_at=now + timedelta(days=6))
    db.session.add(hold)
    db.session.commit()
    return hold


def records(kind: str) -> list[PaymentRecord]:
    db.session.expire_all()
    return db.session.query(PaymentRecord).filter_by(kind=kind).all()


def test_an_orphan_authorisation_is_cancelled_at_stripe_and_logged(app, gateway, fake_stripe):
    lot, alice, hold = bidder_with_hold()
    stray = gateway.authorize(alice.stripe_customer_id, alice.payment_method_id, 70_000, "stray-attempt",
                              {"user_id": str(alice.id)})

    assert reconcile() == {"pending_settled": 0, "orphans_cancelled": 1}

    assert stripe_status(fake_stripe, stray.id) == "canceled"
    assert stripe_status(fake_stripe, hold.intent_id) == "requires_capture"  # the live hold stays
    logged, = records("orphan_cancelled")
    assert (logged.stripe_id, logged.user_id, logged.amount_cents) == (stray.id, alice.id, 70_000)
    assert logged.idempotency_key == f"orphan:{stray.id}:cancel"
    assert reconcile() == {"pending_settled": 0, "orphans_cancelled": 0}
    assert len(records("orphan_cancelled")) == 1


def test_an_authorisation_whose_hold_we_cancelled_is_cancelled_at_stripe(app, fake_stripe):
    lot, alice, hold = bidder_with_hold()
    # We marked the hold cancelled, but the cancel never reached Stripe.
    db.session.get(CardHold, hold.id).status = HoldStatus.CANCELLED
    db.session.commit()

    assert reconcile()["orphans_cancelled"] == 1

    assert stripe_status(fake_stripe, hold.intent_id) == "canceled"
    assert records("orphan_cancelled")[0].hold_id == hold.id


def test_a_stuck_pending_hold_authorised_at_stripe_is_recorded_as_authorised(app, clock, gateway, fake_stripe):
    lot, alice, _ = bidder_with_hold()
    hold = pending_hold(alice, lot, clock)
    # The Stripe call succeeded, then the process died before writing the hold down.
    intent = gateway.authorize(alice.stripe_customer_id, alice.payment_method_id, 200_000, hold.idempotency_key,
                               {"hold_id": str(hold.id), "user_id": str(alice.id), "listing_id": str(lot.id)})
    clock.advance(minutes=2)

    assert reconcile() == {"pending_settled": 1, "orphans_cancelled": 0}

    db.session.expire_all()
    settled = db.session.get(CardHold, hold.id)
    assert (settled.status, settled.intent_id) == ("authorized", intent.id)
    assert stripe_status(fake_stripe, intent.id) == "requires_capture"
    assert [r.stripe_id for r in records("authorized") if r.hold_id == hold.id] == [intent.id]
    assert reconcile() == {"pending_settled": 0, "orphans_cancelled": 0}


def test_a_stuck_pending_hold_stripe_never_authorised_is_cancelled(app, clock):
    lot, alice, _ = bidder_with_hold()
    hold = pending_hold(alice, lot, clock)
    clock.advance(minutes=2)

    assert reconcile()["pending_settled"] == 1

    db.session.expire_all()
    assert db.session.get(CardHold, hold.id).status == "cancelled"
    assert [r.hold_id for r in records("authorization_cancelled")] == [hold.id]


def test_a_young_pending_hold_is_left_to_the_bid_in_progress(app, clock, gateway, fake_stripe):
    lot, alice, _ = bidder_with_hold()
    hold = pending_hold(alice, lot, clock)
    intent = gateway.authorize(alice.stripe_customer_id, alice.payment_method_id, 200_000, hold.idempotency_key,
                               {"hold_id": str(hold.id), "user_id": str(alice.id)})

    assert reconcile() == {"pending_settled": 0, "orphans_cancelled": 0}

    db.session.expire_all()
    assert db.session.get(CardHold, hold.id).status == "pending"
    assert stripe_status(fake_stripe, intent.id) == "requires_capture"


def test_a_retried_pending_hold_keeps_one_authorisation_and_cancels_the_duplicate(app, clock, gateway, fake_stripe):
    lot, alice, _ = bidder_with_hold()
    hold = pending_hold(alice, lot, clock)
    meta = {"hold_id": str(hold.id), "user_id": str(alice.id)}
    # localstripe ignores idempotency keys: a retried attempt made a second intent.
    first = gateway.authorize(alice.stripe_customer_id, alice.payment_method_id, 200_000, hold.idempotency_key, meta)
    second = gateway.authorize(alice.stripe_customer_id, alice.payment_method_id, 200_000, hold.idempotency_key, meta)
    clock.advance(minutes=2)

    assert reconcile() == {"pending_settled": 1, "orphans_cancelled": 1}

    db.session.expire_all()
    kept = db.session.get(CardHold, hold.id).intent_id
    assert kept in (first.id, second.id)
    assert sorted(stripe_status(fake_stripe, i) for i in (first.id, second.id)) == ["canceled", "requires_capture"]
    assert stripe_status(fake_stripe, kept) == "requires_capture"


def test_reconciliation_waits_while_payments_are_unavailable(app, clock):
    from marketplace.payments import StripeGateway
    from tests.procs import free_port

    lot, alice, _ = bidder_with_hold()
    hold = pending_hold(alice, lot, clock)
    clock.advance(minutes=2)
    down = StripeGateway(FAKE_STRIPE_SECRET_KEY, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0)
    try:
        done = Reconciler(db.session, clock, down).run_once()
    finally:
        down.close()

    assert done == {"pending_settled": 0, "orphans_cancelled": 0}
    db.session.expire_all()
    assert db.session.get(CardHold, hold.id).status == "pending"
