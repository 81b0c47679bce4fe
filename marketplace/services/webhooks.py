"""Stripe webhook events: a speed-up for what the worker's settlement and reconciliation do anyway.

An event is only a hint. Its payload may be stale, out of order or a replay, so the intent it
names is read again from Stripe and the usual idempotent steps run on what Stripe says now. An
event id is remembered once it has been handled: a second delivery changes nothing. A failure
leaves it unremembered so Stripe delivers it again.
"""
from __future__ import annotations

import logging

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..db import transaction
from ..errors import BadRequest, ServiceError
from ..models import HoldStatus, Order, OrderStatus, WebhookEvent
from ..payments.gateway import PaymentError
from .reconcile import PENDING_GRACE, hold_for_intent, sync_hold
from .settlement import ACTIVE

log = logging.getLogger(__name__)

INTENT_EVENTS = frozenset({
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
})
# Organisations' Billing subscriptions: each names a subscription (or an invoice of one), read again.
SUBSCRIPTION_EVENTS = frozenset({
    "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
    "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
})


class WebhookService:
    """Handles verified Stripe events once each."""

    def __init__(self, session, clock, gateway, settlement):
        self.session = session
        self.clock = clock
        self.gateway = gateway
        self.settlement = settlement

    def handle(self, event: dict) -> str:
        """Handle one verified event: "handled", "duplicate" or "ignored" (ServiceError 503: retry later)."""
        event_id, kind = _identify(event)
        if self.session.get(WebhookEvent, event_id) is not None:
            self.session.rollback()
            return "duplicate"
        if kind not in INTENT_EVENTS and kind not in SUBSCRIPTION_EVENTS and kind != "account.updated":
            log.debug("webhook %s (%s) does not concern us", event_id, kind)
            self.session.rollback()
            return "ignored"
        try:
            self._dispatch(kind, event["data"]["object"])
        except PaymentError as exc:
            self.session.rollback()
            if exc.code == "unavailable":
                raise ServiceError("payments_unavailable", "Payments are briefly unavailable; "
                                   "deliver this event again later.", 503) from None
            raise self._failed(event_id, exc) from None
        except ServiceError:
            self.session.rollback()
            raise
        except Exception as exc:  # noqa: BLE001 - Stripe must retry, and the endpoint never 500s
            self.session.rollback()
            raise self._failed(event_id, exc) from None
        return self._remember(event_id, kind)

    def _failed(self, event_id: str, exc: Exception) -> ServiceError:
        """Log a handler failure; the event stays unremembered so its redelivery runs again."""
        log.exception("webhook %s failed: %s", event_id, exc.__class__.__name__, exc_info=exc)
        return ServiceError("webhook_failed", "The event could not be handled now; deliver it again later.", 503)

    def _remember(self, event_id: str, kind: str) -> str:
        """Mark the event handled; a concurrent delivery that got there first makes this one a duplicate."""
        try:
            with transaction():
                self.session.add(WebhookEvent(id=event_id, type=kind, received_at=self.clock.now()))
        except IntegrityError:
            return "duplicate"
        return "handled"

    def _dispatch(self, kind: str, obj: dict) -> None:
        """Run what this kind of event hints at."""
        if kind == "account.updated":
            log.info("Stripe account %s updated", obj.get("id"))
            return
        if kind in SUBSCRIPTION_EVENTS:
            self._refresh_subscription(kind, obj)
            return
        intent_id = obj.get("id")
        if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
            raise BadRequest("invalid_event", "A payment_intent event must name a PaymentIntent.")
        try:
            intent = self.gateway.retrieve(intent_id)  # what Stripe says now, not what the event said
        except PaymentError as exc:
            if exc.code != "invalid_request":
                raise
            log.info("webhook names intent %s, which Stripe does not know", intent_id)
            return
        hold = hold_for_intent(self.session, intent)
        hold_id = hold.id if hold is not None and not self._in_grace(hold) else None
        order_ids = self._orders_for(intent, hold)  # ends the read transaction
        if hold_id is not None:
            sync_hold(self.session, self.clock, hold_id, intent)
        for order_id in order_ids:
            self._advance(order_id)

    def _refresh_subscription(self, kind: str, obj: dict) -> None:
        """Read the subscription the event names again and apply it to its organisation."""
        from .organisations import OrganisationService

        if kind.startswith("invoice."):
            # Older API versions name the subscription on the invoice, newer ones under `parent`.
            parent = (obj.get("parent") or {}).get("subscription_details") or {}
            sub_id = obj.get("subscription") or parent.get("subscription")
            if isinstance(sub_id, dict):
                sub_id = sub_id.get("id")
            if sub_id is None:
                return  # an invoice of no subscription: not ours to follow
        else:
            sub_id = obj.get("id")
        if not isinstance(sub_id, str) or not sub_id.startswith("sub_") or len(sub_id) > 64:
            raise BadRequest("invalid_event", "A subscription event must name a subscription.")
        try:
            OrganisationService(self.session, self.clock, self.gateway, None).refresh_subscription(sub_id)
        except PaymentError as exc:
            if exc.code != "invalid_request":
                raise
            log.info("webhook names subscription %s, which Stripe does not know", sub_id)

    def _in_grace(self, hold) -> bool:
        """A young pending hold belongs to a bid still being placed; reconciliation takes it after the grace."""
        return hold.status == HoldStatus.PENDING and hold.created_at > self.clock.now() - PENDING_GRACE

    def _orders_for(self, intent, hold) -> list[int]:
        """Open orders this intent pays for: named in its metadata, or paid with it (or its hold)."""
        clauses = [Order.intent_id == intent.id]
        named = intent.metadata.get("order_id", "")
        if named.isdigit():
            clauses.append(Order.id == int(named))
        if hold is not None:
            clauses.append((Order.listing_id == hold.listing_id) & (Order.buyer_id == hold.user_id))
        open_states = [s.value for s in ACTIVE] + [OrderStatus.ACTION_REQUIRED.value]
        ids = self.session.execute(select(Order.id).where(or_(*clauses), Order.status.in_(open_states))
                                   .order_by(Order.id)).scalars().all()
        self.session.rollback()
        return list(ids)

    def _advance(self, order_id: int) -> None:
        """Move an order on as far as it can go now (each step is idempotent and locked)."""
        self.settlement.confirm_payment(order_id)  # a buyer's payment counts at once, not at the next recheck
        self.settlement.advance(order_id)


def _identify(event: dict) -> tuple[str, str]:
    """The event's id and type, or 400 for a payload that is not a usable event."""
    event_id, kind, data = event.get("id"), event.get("type"), event.get("data")
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 80 and isinstance(kind, str) and len(kind) <= 80):
        raise BadRequest("invalid_event", "The event has no usable id or type.")
    if not (isinstance(data, dict) and isinstance(data.get("object"), dict)):
        raise BadRequest("invalid_event", "The event has no data object.")
    return event_id, kind
