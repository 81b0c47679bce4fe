"""Reconciliation: make our card holds agree with what Stripe holds (DESIGN.md section 5).

Two things can drift. A crash between the Stripe call and our write leaves a hold `pending`
while Stripe has (or has not) authorised the card; and an authorisation can exist at Stripe
that no hold of ours owns (a retry that localstripe, ignoring idempotency keys, turned into a
second intent; a hold we marked cancelled whose cancel never reached Stripe). The worker runs
`Reconciler.run_once` now and then; webhooks use `sync_hold` to apply one intent sooner.
Stripe is always asked: an event or a listing is a hint to look, and every change is idempotent.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, or_, select

from ..db import lock_for_update, transaction
from ..models import CardHold, HoldStatus, Order, User
from ..payments.gateway import Intent, PaymentError
from .payments import record

log = logging.getLogger(__name__)

# A pending hold younger than this may belong to a bid still being placed: leave it alone.
PENDING_GRACE = timedelta(seconds=60)
# Stripe lets an uncaptured authorisation lapse after 7 days; older intents hold nothing.
AUTHORISATION_LIFETIME = timedelta(days=8)

# Plain rows (not objects) stand for holds between transactions, so nothing reloads lazily.
_HOLD = (CardHold.id, CardHold.user_id, CardHold.intent_id, CardHold.status, CardHold.idempotency_key)

# (hold status, intent status) → the hold's new status and the payment-log kind to append.
_TRANSITIONS = {
    (HoldStatus.PENDING, "requires_capture"): (HoldStatus.AUTHORIZED, "authorized"),
    (HoldStatus.REQUIRES_ACTION, "requires_capture"): (HoldStatus.AUTHORIZED, "authorized"),
    (HoldStatus.PENDING, "requires_action"): (HoldStatus.REQUIRES_ACTION, "authorization_failed"),
    (HoldStatus.PENDING, "requires_payment_method"): (HoldStatus.FAILED, "authorization_failed"),
    (HoldStatus.REQUIRES_ACTION, "requires_payment_method"): (HoldStatus.FAILED, "authorization_failed"),
    (HoldStatus.PENDING, "canceled"): (HoldStatus.CANCELLED, "authorization_cancelled"),
    (HoldStatus.REQUIRES_ACTION, "canceled"): (HoldStatus.CANCELLED, "authorization_cancelled"),
    (HoldStatus.AUTHORIZED, "canceled"): (HoldStatus.CANCELLED, "authorization_cancelled"),
}


def names_hold(intent: Intent, hold) -> bool:
    """Whether this intent was made for this hold (its id, or the metadata HoldService sets)."""
    if hold.intent_id is not None:
        return hold.intent_id == intent.id
    key = intent.metadata.get("idempotency_key")
    return intent.metadata.get("hold_id") == str(hold.id) and key in (None, hold.idempotency_key)


def hold_for_intent(session, intent: Intent) -> CardHold | None:
    """Our hold backed by (or made for) this intent, or None."""
    named = intent.metadata.get("hold_id", "")
    clauses = [CardHold.intent_id == intent.id]
    if named.isdigit():
        clauses.append(CardHold.id == int(named))
    for hold in session.execute(select(CardHold).where(or_(*clauses))).scalars():
        if names_hold(intent, hold):
            return hold
    return None


def sync_hold(session, clock, hold_id: int, intent: Intent) -> str | None:
    """Bring one hold in line with its intent at Stripe; the new status, or None when nothing changed.

    Only authorised, cancelled and failed outcomes are applied here; a capture is settlement's.
    """
    with transaction():
        hold = session.execute(lock_for_update(select(CardHold).where(CardHold.id == hold_id))).scalar_one()
        change = _TRANSITIONS.get((HoldStatus(hold.status), intent.status))
        if change is None or not names_hold(intent, hold):
            return None
        now = clock.now()
        hold.status, hold.intent_id, hold.updated_at = change[0], intent.id, now
        record(session, change[1], hold.amount_cents, now, hold_id=hold.id, user_id=hold.user_id,
               stripe_id=intent.id, idempotency_key=hold.idempotency_key, reconciled=intent.status)
    log.info("hold %s is now %s (intent %s is %s)", hold_id, change[0], intent.id, intent.status)
    return str(change[0])


class Reconciler:
    """Settles holds stuck in pending and cancels authorisations nothing of ours owns."""

    def __init__(self, session, clock, gateway):
        self.session = session
        self.clock = clock
        self.gateway = gateway

    def run_once(self, limit: int = 50) -> dict:
        """One bounded pass over recent customers; return what was done."""
        done = {"pending_settled": 0, "orphans_cancelled": 0}
        stuck = self._stuck_holds(limit)
        customers = self._recent_customers(limit) | {c for _, c in stuck}
        self.session.rollback()
        if not customers:
            return done
        since = int((self.clock.now() - AUTHORISATION_LIFETIME).timestamp())
        try:
            intents = self.gateway.intents_of(customers, created_after=since)
        except PaymentError as exc:
            if exc.code != "unavailable":
                raise
            log.warning("reconciliation waits: payments unavailable (%s)", exc.message)
            return done
        for hold, customer in stuck:
            done["pending_settled"] += self._settle_pending(hold, intents.get(customer, []))
        users = dict(self.session.execute(select(User.stripe_customer_id, User.id).where(
            User.stripe_customer_id.in_(list(intents)))).all()) if intents else {}
        held = [(i, users.get(c)) for c, found in intents.items() for i in found if i.status == "requires_capture"]
        done["orphans_cancelled"] = self._cancel_orphans(held, limit)
        return done

    # ---- which rows to look at ----------------------------------------------------------
    def _stuck_holds(self, limit: int) -> list[tuple]:
        """Holds left pending past the grace period, with their owner's Stripe customer."""
        rows = self.session.execute(
            select(*_HOLD, User.stripe_customer_id).join(User, User.id == CardHold.user_id)
            .where(CardHold.status == HoldStatus.PENDING, CardHold.created_at < self.clock.now() - PENDING_GRACE,
                   User.stripe_customer_id.is_not(None))
            .order_by(CardHold.id).limit(limit)).all()
        return [(row, row.stripe_customer_id) for row in rows]

    def _recent_customers(self, limit: int) -> set[str]:
        """Customers with holds recent enough that Stripe may still hold their card (newest first)."""
        newest = func.max(CardHold.updated_at)
        rows = self.session.execute(
            select(User.stripe_customer_id).join(CardHold, CardHold.user_id == User.id)
            .where(CardHold.created_at > self.clock.now() - AUTHORISATION_LIFETIME,
                   User.stripe_customer_id.is_not(None))
            .group_by(User.stripe_customer_id).order_by(newest.desc()).limit(limit)).scalars()
        return set(rows)

    # ---- (a) pending holds ----------------------------------------------------------------
    def _settle_pending(self, hold, intents: list[Intent]) -> int:
        """Record the authorisation Stripe made for a stuck hold, or cancel the hold if there is none."""
        mine = [i for i in intents if names_hold(i, hold)]
        # Prefer a live authorisation; any other one of a retried hold becomes an orphan below.
        rank = {"requires_capture": 0, "requires_action": 1, "requires_payment_method": 2, "canceled": 3}
        mine.sort(key=lambda i: rank.get(i.status, 9))
        if mine and sync_hold(self.session, self.clock, hold.id, mine[0]):
            return 1
        if mine:
            return 0  # still in flight at Stripe (e.g. processing): look again next pass
        return self._abandon(hold.id)

    def _abandon(self, hold_id: int) -> int:
        """A pending hold Stripe never authorised holds nothing: mark it cancelled."""
        with transaction():
            hold = self.session.execute(lock_for_update(select(CardHold).where(CardHold.id == hold_id))).scalar_one()
            if hold.status != HoldStatus.PENDING:
                return 0
            now = self.clock.now()
            hold.status, hold.updated_at = HoldStatus.CANCELLED, now
            record(self.session, "authorization_cancelled", hold.amount_cents, now, hold_id=hold.id,
                   user_id=hold.user_id, idempotency_key=hold.idempotency_key, reason="no intent at Stripe")
        return 1

    # ---- (b) authorisations nothing owns -----------------------------------------------------
    def _cancel_orphans(self, held: list[tuple[Intent, int | None]], limit: int) -> int:
        """Cancel uncaptured authorisations (with their customer's user id) that no live hold and no order owns."""
        if not held:
            return 0
        ids = [i.id for i, _ in held]
        named = {int(i.metadata["hold_id"]) for i, _ in held if i.metadata.get("hold_id", "").isdigit()}
        holds = self.session.execute(select(*_HOLD).where(
            or_(CardHold.intent_id.in_(ids), CardHold.id.in_(named)))).all()
        ordered = set(self.session.execute(select(Order.intent_id).where(Order.intent_id.in_(ids))).scalars())
        self.session.rollback()
        cancelled = 0
        for intent, user_id in held:
            if cancelled >= limit:
                break
            if intent.id in ordered or intent.metadata.get("order_id"):
                continue
            owner = next((h for h in holds if names_hold(intent, h)), None)
            cancelled += self._settle_orphan(intent, owner, user_id)
        return cancelled

    def _settle_orphan(self, intent: Intent, owner, user_id: int | None) -> int:
        """Leave an owned authorisation, adopt one the buyer just authenticated, cancel the rest."""
        status = HoldStatus(owner.status) if owner is not None else None
        if status == HoldStatus.PENDING or (status == HoldStatus.AUTHORIZED and owner.intent_id == intent.id):
            return 0  # a bid in progress, or a live hold
        if status == HoldStatus.REQUIRES_ACTION:
            sync_hold(self.session, self.clock, owner.id, intent)
            return 0
        key = f"orphan:{intent.id}:cancel"
        try:
            self.gateway.cancel(intent.id, key)
        except PaymentError as exc:  # captured meanwhile, or Stripe away: look again next pass
            log.warning("could not cancel authorisation %s: %s", intent.id, exc)
            return 0
        with transaction():
            record(self.session, "orphan_cancelled", intent.amount_capturable_cents or intent.amount_cents,
                   self.clock.now(), hold_id=owner.id if owner else None, user_id=user_id,
                   stripe_id=intent.id, idempotency_key=key)
        log.warning("cancelled authorisation %s that no hold or order owns", intent.id)
        return 1
