"""What a buyer does with an order that waits for them: pay it in the browser (a declined card,
a lapsed hold, a bank that wants its check) and answer a second-chance offer.

Paying is on-session: the saved card is charged with the buyer present, and a bank check is
finished in the page with Stripe.js. The settlement machine then writes the payment down and
carries the order on (handle, payout); nothing here marks an order paid by itself.
"""
from __future__ import annotations

from sqlalchemy import select

from ..db import lock_for_update, transaction
from ..errors import Conflict, NotFound, ServiceError
from ..models import Order, OrderStatus, User
from ..payments.gateway import PaymentError
from .payments import PaymentRequired, record

SETTLED = (OrderStatus.PAID, OrderStatus.TRANSFERRED, OrderStatus.COMPLETED)


def buyers_order(session, user: User, order_id: int) -> Order:
    """The user's own order as its buyer; 404 for anyone else (sellers and admins do not pay)."""
    order = session.get(Order, order_id)
    if order is None or order.buyer_id != user.id:
        raise NotFound("order_not_found", "There is no such order.")
    return order


class BuyerOrders:
    """Paying a waiting order and answering a second-chance offer."""

    def __init__(self, session, clock, gateway, settlement):
        self.session = session
        self.clock = clock
        self.gateway = gateway
        self.settlement = settlement

    def page(self, user: User, order_id: int) -> dict:
        """What the pay page shows: the amount, the deadline, the card, and Stripe.js settings."""
        order = buyers_order(self.session, user, order_id)
        secret = None
        if order.status == OrderStatus.ACTION_REQUIRED and order.intent_id:
            intent = self.gateway.retrieve(order.intent_id)
            if intent.status == "requires_action" and self._same_card(intent, user):
                secret = intent.client_secret
        return {"order": order, "card_brand": user.card_brand, "card_last4": user.card_last4,
                "has_card": user.has_payment_method, "client_secret": secret,
                "publishable_key": self.gateway.publishable_key, "stripe_js_url": self.gateway.stripe_js_url,
                "payment_method_id": user.payment_method_id}

    def pay(self, user: User, order_id: int) -> dict:
        """Charge the saved card for the order now; `requires_action` means finish in Stripe.js."""
        order = buyers_order(self.session, user, order_id)
        if order.status in SETTLED:
            return self._answer(order)  # paid already (a second click): nothing more to do
        self._check_payable(order)
        if not user.has_payment_method:
            raise PaymentRequired("payment_method_required", "Save a card to pay for this order.",
                                  f"/account/card?next=/orders/{order.id}/pay")
        if self.settlement.confirm_payment(order.id):
            return self._answer(self.session.get(Order, order.id), advance=True)
        with transaction():
            # The order stays locked through the Stripe call: two clicks, two tabs or the worker
            # cannot start a second payment for it (localstripe ignores idempotency keys).
            locked = self.session.execute(lock_for_update(select(Order).where(Order.id == order.id))).scalar_one()
            if locked.status != OrderStatus.ACTION_REQUIRED:
                return self._answer(locked)
            reuse = self._payment_in_flight(locked, user)
            if reuse is not None:
                return {**self._answer(locked), "status": "requires_action", "client_secret": reuse}
            key = f"order:{locked.id}:pay:{user.payment_method_id}"
            try:
                intent = self.gateway.pay_with_buyer(
                    user.stripe_customer_id, user.payment_method_id, locked.amount_cents, key,
                    {"order_id": str(locked.id), "payment_method": user.payment_method_id})
            except PaymentError as exc:
                if exc.code == "unavailable":
                    raise ServiceError("payments_unavailable", "Payments are briefly unavailable; nothing was "
                                       "charged. Try again in a moment.", 503) from None
                record(self.session, "charge_failed", locked.amount_cents, self.clock.now(), order_id=locked.id,
                       user_id=user.id, stripe_id=exc.intent_id, idempotency_key=key, reason=exc.message)
                declined = exc
            else:
                declined = None
                locked.intent_id, locked.updated_at = intent.id, self.clock.now()
                record(self.session, "payment_started", locked.amount_cents, self.clock.now(), order_id=locked.id,
                       user_id=user.id, stripe_id=intent.id, idempotency_key=key, status=intent.status)
        if declined is not None:
            raise PaymentRequired("card_declined", "Your card was declined. Use another card and pay again "
                                  "before the deadline.", f"/account/card?next=/orders/{order.id}/pay")
        if intent.status == "requires_action":
            return {**self._answer(order), "status": "requires_action", "client_secret": intent.client_secret}
        self.settlement.confirm_payment(order.id)
        return self._answer(self.session.get(Order, order.id), advance=True)

    def confirm(self, user: User, order_id: int) -> dict:
        """After the bank's check in the browser: ask Stripe, and carry a paid order on."""
        order = buyers_order(self.session, user, order_id)
        paid = self.settlement.confirm_payment(order.id)
        return self._answer(self.session.get(Order, order.id), advance=paid)

    def accept_offer(self, user: User, order_id: int) -> dict:
        """Take a second-chance offer: the lot is the user's at their own highest bid; pay now."""
        order = buyers_order(self.session, user, order_id)
        if not self.settlement.accept_offer(order.id, user.id):
            raise Conflict("offer_closed", "This offer is no longer open.")
        return self._answer(self.session.get(Order, order.id), advance=True)

    def decline_offer(self, user: User, order_id: int) -> dict:
        """Turn a second-chance offer down (no strike: an offer is not a promise)."""
        order = buyers_order(self.session, user, order_id)
        if not self.settlement.end_offer(order.id, user.id, "declined by the runner-up"):
            raise Conflict("offer_closed", "This offer is no longer open.")
        return self._answer(self.session.get(Order, order.id))

    # ---- helpers ------------------------------------------------------------------------------
    def _check_payable(self, order: Order) -> None:
        if order.status != OrderStatus.ACTION_REQUIRED:
            raise Conflict("order_not_payable", "This order is not waiting for a payment.")
        if order.pay_by is not None and order.pay_by <= self.clock.now():
            raise Conflict("payment_window_closed", "The time to pay for this order has passed.")

    def _payment_in_flight(self, order: Order, user: User) -> str | None:
        """The client secret of a payment with this card still waiting for the bank's check."""
        if not order.intent_id:
            return None
        intent = self.gateway.retrieve(order.intent_id)
        if intent.status == "requires_action" and self._same_card(intent, user):
            return intent.client_secret
        return None

    @staticmethod
    def _same_card(intent, user: User) -> bool:
        method = intent.metadata.get("payment_method")
        return method is None or method == user.payment_method_id

    def _answer(self, order: Order, advance: bool = False) -> dict:
        status = self.settlement.advance(order.id) if advance else order.status
        return {"order_id": order.id, "status": status, "url": f"/orders/{order.id}"}
