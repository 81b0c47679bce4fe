"""Refunds: the one rule for giving a buyer their money back, used by admins and by settlement.

A refund is claimed in our own payment log before Stripe is called, under the order's lock, so
a second click or a concurrent refund (an admin and the worker, two admins) finds the claim and
stops instead of refunding twice; localstripe ignores idempotency keys, so our record is the
guard, not the key. The Stripe calls (the refund, and the reversal of a seller payout already
sent) carry keys derived from the order, and the gateway finds a refund made before a crash by
its key, so resuming a stale claim never pays twice either.

Refunding does not move the handle back: after a transfer the buyer keeps it until an admin
takes it back by hand, a separate action.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from ..audit import audit
from ..db import lock_for_update, transaction
from ..errors import BadRequest, Conflict, NotFound, ServiceError
from ..models import Listing, Order, OrderStatus, PaymentRecord
from ..payments.gateway import PaymentError
from .notices import notify
from .payments import record

log = logging.getLogger(__name__)

REFUNDABLE = (OrderStatus.PAID, OrderStatus.TRANSFERRED, OrderStatus.COMPLETED)
# A claim older than this belongs to an attempt that crashed; a new attempt may resume it.
CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_REASON_LENGTH = 200
HANDLE_NOTE = ("The handle stays in the buyer's account: a refund does not move it back. "
               "Taking it back is a separate, manual admin action.")


def refund_key(order_id: int) -> str:
    """The idempotency key of an order's refund."""
    return f"order:{order_id}:refund"


class RefundService:
    """Refunds paid, transferred or completed orders exactly once."""

    def __init__(self, session, clock, gateway, publisher):
        self.session = session
        self.clock = clock
        self.gateway = gateway
        self.publisher = publisher

    def refund(self, order_id: int, reason: object, actor=None) -> Order:
        """Give the buyer their money back (and reverse the seller's payout); return the order."""
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise BadRequest("reason_required", "Give a reason for the refund; the buyer and the audit log see it.")
        if len(reason) > MAX_REASON_LENGTH:
            raise BadRequest("reason_too_long", "Keep the reason to %(max)s characters.", max=MAX_REASON_LENGTH)
        order = self._claim(order_id, reason, actor)
        try:
            refund_id = self.gateway.refund(order.intent_id, order.amount_cents, refund_key(order.id))
            reversal_id = None
            if order.payout_id:
                reversal_id = self.gateway.reverse_transfer(order.payout_id, order.seller_receives_cents,
                                                            f"order:{order.id}:payout-reversal")
        except PaymentError as exc:
            self._release(order, exc)
            if exc.code == "unavailable":
                raise ServiceError("payments_unavailable", "Stripe could not be reached; nothing was refunded. "
                                   "Try again in a moment.", 503) from None
            raise ServiceError("refund_failed", "Stripe refused the refund: %(reason)s",
                                                502, reason=exc.message) from None
        return self._finish(order.id, reason, actor, refund_id, reversal_id)

    # ---- steps ------------------------------------------------------------------------------
    def _locked(self, order_id: int) -> Order:
        """The order, locked for this transaction."""
        order = self.session.execute(lock_for_update(select(Order).where(Order.id == order_id))).scalar_one_or_none()
        if order is None:
            raise NotFound("order_not_found", "There is no such order.")
        return order

    def _refund_records(self, order_id: int) -> list[PaymentRecord]:
        """The order's refund entries in the payment log, oldest first."""
        return self.session.execute(select(PaymentRecord).where(
            PaymentRecord.order_id == order_id,
            PaymentRecord.kind.in_(["refund_requested", "refund_failed", "refunded"])
        ).order_by(PaymentRecord.id)).scalars().all()

    def _claim(self, order_id: int, reason: str, actor) -> Order:
        """Check the rule and write the claim, under the order's lock, before Stripe is called."""
        with transaction():
            order = self._locked(order_id)
            entries = self._refund_records(order_id)
            if order.status == OrderStatus.REFUNDED or any(e.kind == "refunded" for e in entries):
                raise Conflict("already_refunded", "Order %(order)s has already been refunded; nothing was changed.",
                                                   order=order.id)
            if order.status not in REFUNDABLE or not order.intent_id:
                raise Conflict("order_not_refundable", "Order %(order)s is %(state)s: only paid, transferred or "
                                                       "completed orders can be refunded. Nothing was charged to "
                                                       "refund.", order=order.id, state=order.status.replace('_', ' '))
            now = self.clock.now()
            last = entries[-1] if entries else None
            if last is not None and last.kind == "refund_requested" and last.at > now - CLAIM_TIMEOUT:
                raise Conflict("refund_in_progress", "A refund of order %(order)s is already under way; reload in "
                                                     "a moment to see it.", order=order.id)
            record(self.session, "refund_requested", order.amount_cents, now, order_id=order.id,
                   user_id=order.buyer_id, stripe_id=order.intent_id, idempotency_key=refund_key(order.id),
                   reason=reason, actor_id=getattr(actor, "id", None))
        return order  # its attributes reload after the commit, without the lock

    def _release(self, order: Order, exc: PaymentError) -> None:
        """Stripe refused or was unreachable: drop the claim so the refund can be tried again."""
        with transaction():
            self._locked(order.id)
            record(self.session, "refund_failed", order.amount_cents, self.clock.now(), order_id=order.id,
                   user_id=order.buyer_id, stripe_id=order.intent_id, code=exc.code, message=exc.message)

    def _finish(self, order_id: int, reason: str, actor, refund_id: str, reversal_id: str | None) -> Order:
        """Record the refund, audit it and tell the buyer."""
        with transaction(self.publisher):
            order = self._locked(order_id)
            if order.status == OrderStatus.REFUNDED:
                return order  # finished by a resumed attempt; Stripe refunded once (same key)
            now = self.clock.now()
            previous = order.status
            order.status, order.failure, order.updated_at = OrderStatus.REFUNDED, reason, now
            record(self.session, "refunded", order.amount_cents, now, order_id=order.id, user_id=order.buyer_id,
                   stripe_id=refund_id, idempotency_key=refund_key(order.id), reason=reason,
                   intent_id=order.intent_id, actor_id=getattr(actor, "id", None))
            if reversal_id:
                record(self.session, "payout_reversed", order.seller_receives_cents, now, order_id=order.id,
                       user_id=order.seller_id, stripe_id=reversal_id, transfer_id=order.payout_id)
            listing = self.session.get(Listing, order.listing_id)
            moved = previous in (OrderStatus.TRANSFERRED, OrderStatus.COMPLETED)
            audit(self.session, now, actor, "order_refunded", f"order:{order.id}", {
                "reason": reason, "amount_cents": order.amount_cents, "refund_id": refund_id,
                "previous_status": previous, "handle": listing.handle_display,
                "payout_reversed_cents": order.seller_receives_cents if reversal_id else None,
                "handle_note": HANDLE_NOTE if moved else "The handle had not moved to the buyer."})
            notify(self.session, self.publisher, order.buyer_id, "refunded", now, lot_id=order.listing_id,
                   order_id=order.id, amount_cents=order.amount_cents, reason=reason)
        log.info("order %s refunded (%s)", order_id, refund_id)
        return self.session.get(Order, order_id)
