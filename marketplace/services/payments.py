"""Saved cards and the card authorisations (holds) that back every bid."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select

from ..db import transaction
from ..errors import BadRequest, ServiceError
from ..models import CardHold, HoldStatus, PaymentRecord, User
from ..payments.gateway import PaymentError

log = logging.getLogger(__name__)

# Card authorisations lapse after about 7 days; count them as gone a little before that.
HOLD_LIFETIME = timedelta(days=6, hours=12)


class PaymentRequired(ServiceError):
    """The buyer's card must be saved, or the bank wants them to act (HTTP 402)."""

    status = 402

    def __init__(self, code: str, message: str, action_url: str | None = None, /, **params):
        super().__init__(code, message, **params)
        self.action_url = action_url

    def to_dict(self) -> dict:
        """The API's error body, with where to go next."""
        body = super().to_dict()
        if self.action_url:
            body["error"]["action_url"] = self.action_url
        return body


def record(session, kind: str, amount_cents: int, now, *, order_id=None, hold_id=None, user_id=None,
           stripe_id=None, idempotency_key=None, **details) -> None:
    """Append to the payment log (never updated, never deleted)."""
    session.add(PaymentRecord(order_id=order_id, hold_id=hold_id, user_id=user_id, kind=kind,
                              amount_cents=amount_cents, stripe_id=stripe_id,
                              idempotency_key=idempotency_key, at=now,
                              details_json=json.dumps(details, default=str)))


class CardService:
    """Saves a buyer's card with Stripe: SetupIntent in the browser, or a PaymentMethod id."""

    def __init__(self, session, clock, gateway):
        self.session = session
        self.clock = clock
        self.gateway = gateway

    def _customer(self, user: User) -> str:
        """The user's Stripe customer, created on first use."""
        if user.stripe_customer_id:
            return user.stripe_customer_id
        customer = self.gateway.create_customer(user.email, user.display_name, f"customer:{user.id}")
        with transaction():
            fresh = self.session.get(User, user.id)
            fresh.stripe_customer_id = fresh.stripe_customer_id or customer
        return user.stripe_customer_id

    def start_setup(self, user: User) -> dict:
        """Begin saving a card in the browser: a SetupIntent's client secret."""
        customer = self._customer(user)
        setup_id, secret = self.gateway.create_setup_intent(
            customer, f"setup:{user.id}:{self.clock.now().timestamp():.0f}")
        return {"setup_intent": setup_id, "client_secret": secret,
                "publishable_key": self.gateway.publishable_key}

    def _save(self, user: User, card) -> dict:
        with transaction():
            fresh = self.session.get(User, user.id)
            fresh.payment_method_id, fresh.card_brand, fresh.card_last4 = (
                card.payment_method_id, card.brand, card.last4)
            record(self.session, "card_saved", 0, self.clock.now(), user_id=user.id,
                   stripe_id=card.payment_method_id, brand=card.brand, last4=card.last4)
        return {"has_payment_method": True, "brand": card.brand, "last4": card.last4}

    def finish_setup(self, user: User, setup_intent_id: object) -> dict:
        """Remember the card a SetupIntent confirmed in the browser."""
        if not isinstance(setup_intent_id, str) or not setup_intent_id.startswith("seti_"):
            raise BadRequest("invalid_setup_intent", "That card setup could not be found; please try again.")
        customer = self._customer(user)
        card = self.gateway.card_from_setup_intent(setup_intent_id, customer)
        if card is None:  # not confirmed yet, or another user's setup: nothing is saved
            raise ServiceError("card_not_confirmed", "The card was not confirmed; please enter it again.", 409)
        return self._save(user, self.gateway.attach_card(customer, card.payment_method_id,
                                                         f"attach:{user.id}:{card.payment_method_id}"))

    def save_payment_method(self, user: User, payment_method_id: object) -> dict:
        """Attach a PaymentMethod id (API users; test cards such as pm_card_visa) and remember it."""
        if not isinstance(payment_method_id, str) or not payment_method_id.startswith("pm_") \
                or len(payment_method_id) > 64:
            raise BadRequest("invalid_payment_method", "Send a Stripe PaymentMethod id such as pm_card_visa.")
        customer = self._customer(user)
        try:
            card = self.gateway.attach_card(customer, payment_method_id, f"attach:{user.id}:{payment_method_id}")
        except PaymentError as exc:
            raise ServiceError(exc.code, "The card was refused: %(reason)s", 402, reason=exc.message) from None
        return self._save(user, card)


class HoldService:
    """Authorises the bidder's card for their maximum before a bid, outside the lot's lock."""

    def __init__(self, session, clock, gateway, action_url_for=None):
        self.session = session
        self.clock = clock
        self.gateway = gateway
        self.action_url_for = action_url_for or (lambda hold_id: f"/holds/{hold_id}/authenticate")

    def covered(self, user_id: int, listing_id: int) -> int:
        """The largest maximum this user's live authorisations on the lot cover."""
        now = self.clock.now()
        amounts = self.session.execute(select(CardHold.amount_cents).where(
            CardHold.user_id == user_id, CardHold.listing_id == listing_id,
            CardHold.status == HoldStatus.AUTHORIZED, CardHold.expires_at > now)).scalars().all()
        return max(amounts, default=0)

    def ensure(self, user: User, listing_id: int, amount_cents: int, bid_key: str | None) -> CardHold | None:
        """Make sure the card is authorised for `amount_cents` on this lot; None when it already is."""
        if not user.has_payment_method:
            raise PaymentRequired("payment_method_required", "Save a card before bidding: every bid is "
                                  "backed by an authorisation of your card.", "/account/card")
        if amount_cents <= self.covered(user.id, listing_id):
            return None
        now = self.clock.now()
        key = f"hold:{user.id}:{listing_id}:{amount_cents}:{bid_key or now.timestamp()}"
        hold = self.session.execute(select(CardHold).where(CardHold.idempotency_key == key)).scalar_one_or_none()
        if hold is None:
            with transaction():
                hold = CardHold(user_id=user.id, listing_id=listing_id, amount_cents=amount_cents,
                                status=HoldStatus.PENDING, idempotency_key=key, created_at=now, updated_at=now,
                                expires_at=now + HOLD_LIFETIME)
                self.session.add(hold)
        if hold.status == HoldStatus.AUTHORIZED:
            return hold
        try:
            intent = self.gateway.authorize(user.stripe_customer_id, user.payment_method_id, amount_cents, key,
                                            {"hold_id": str(hold.id), "user_id": str(user.id),
                                             "listing_id": str(listing_id)})
        except PaymentError as exc:
            self._failed(hold, exc)
            if exc.code == "authentication_required":
                raise PaymentRequired("authentication_required", "Your bank asks you to confirm this "
                                      "authorisation before the bid is placed.", self.action_url_for(hold.id)) from None
            if exc.code == "unavailable":
                raise ServiceError("payments_unavailable", "Card authorisation is briefly unavailable; "
                                   "your bid was not placed. Try again in a moment.", 503) from None
            raise PaymentRequired("card_declined", "Your card was declined for %(amount)s; use another card.",
                                  "/account/card", amount_cents=amount_cents) from None
        with transaction():
            hold = self.session.get(CardHold, hold.id)
            hold.intent_id, hold.status, hold.updated_at = intent.id, HoldStatus.AUTHORIZED, self.clock.now()
            record(self.session, "authorized", amount_cents, self.clock.now(), hold_id=hold.id, user_id=user.id,
                   stripe_id=intent.id, idempotency_key=key)
        return hold

    def _failed(self, hold: CardHold, exc: PaymentError) -> None:
        """Remember a refused or pending-authentication authorisation."""
        with transaction():
            row = self.session.get(CardHold, hold.id)
            row.status = HoldStatus.REQUIRES_ACTION if exc.code == "authentication_required" else HoldStatus.FAILED
            row.intent_id = getattr(exc, "intent_id", None) or row.intent_id
            row.updated_at = self.clock.now()
            record(self.session, "authorization_failed", row.amount_cents, self.clock.now(), hold_id=row.id,
                   user_id=row.user_id, stripe_id=row.intent_id, code=exc.code)


def hold_for_user(session, user: User, hold_id: int) -> CardHold:
    """A user's own hold, or 404 (another user's hold does not exist for them)."""
    from ..errors import NotFound

    hold = session.get(CardHold, hold_id)
    if hold is None or hold.user_id != user.id:
        raise NotFound("hold_not_found", "There is no such card authorisation.")
    return hold


class HoldAuthentication:
    """The page where a bidder confirms a card authorisation their bank asked about."""

    def __init__(self, session, clock, gateway):
        self.session = session
        self.clock = clock
        self.gateway = gateway

    def details(self, user: User, hold_id: int) -> dict:
        """What the page needs: the intent's client secret, the amount and the lot."""
        hold = hold_for_user(self.session, user, hold_id)
        if hold.intent_id is None:
            raise ServiceError("hold_not_ready", "This authorisation has nothing to confirm.", 409)
        intent = self.gateway.retrieve(hold.intent_id)
        return {"hold_id": hold.id, "listing_id": hold.listing_id, "amount_cents": hold.amount_cents,
                "status": hold.status, "client_secret": intent.client_secret,
                "payment_method_id": user.payment_method_id,
                "publishable_key": self.gateway.publishable_key, "stripe_js_url": self.gateway.stripe_js_url}

    def refresh(self, user: User, hold_id: int) -> dict:
        """After the bank's check: ask Stripe and mark the hold authorised if it now is."""
        hold = hold_for_user(self.session, user, hold_id)
        if hold.status == HoldStatus.REQUIRES_ACTION and hold.intent_id:
            intent = self.gateway.retrieve(hold.intent_id)
            with transaction():
                row = self.session.get(CardHold, hold.id)
                now = self.clock.now()
                if intent.status == "requires_capture":
                    row.status = HoldStatus.AUTHORIZED
                    record(self.session, "authorized", row.amount_cents, now, hold_id=row.id, user_id=user.id,
                           stripe_id=intent.id, after="authentication")
                elif intent.status in ("canceled", "requires_payment_method"):
                    row.status = HoldStatus.FAILED
                row.updated_at = now
        hold = self.session.get(CardHold, hold_id)
        return {"hold_id": hold.id, "status": hold.status, "listing_id": hold.listing_id,
                "amount_cents": hold.amount_cents}
