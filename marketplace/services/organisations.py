"""Organisations: who may send handle inquiries and buy lots restricted to organisations.

An organisation is in good standing when an admin has verified it and its $1,000 a month
Stripe Billing subscription is active (DESIGN.md section 6); `standing_problem` is the one rule.
The subscription's state is what Stripe last said: subscribing, cancelling, webhooks and the
worker's recheck (`refresh_due`) all read it again from Stripe and write it here.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select

from ..audit import audit
from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import N_, BadRequest, Conflict, Forbidden, NotFound, ServiceError
from ..models import Organisation, PaymentRecord, SubscriptionStatus, User
from ..payments.gateway import ORG_PRICE_CENTS, PaymentError
from ..validation import require_object
from .notices import notify
from .payments import PaymentRequired, record

log = logging.getLogger(__name__)


def standing_problem(session, user: User, now: datetime) -> Forbidden | None:
    """Why the user may not act for a verified, subscribed organisation now, or None when they may."""
    org = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if org is None:
        return Forbidden("organisation_required", "Only verified organisations may do this. "
                                                  "Create your organisation's account first.")
    if org.verified_at is None:
        return Forbidden("organisation_unverified", "Your organisation is not verified yet; "
                                                    "an admin checks new organisations.")
    if not org.in_good_standing(now):
        if org.subscription_status == SubscriptionStatus.PAST_DUE:
            return Forbidden("subscription_inactive", "Your organisation's subscription payment failed; "
                                                      "update the card to carry on.")
        return Forbidden("subscription_inactive", "Your organisation's subscription is not active; "
                                                  "subscribe to carry on.")
    return None


def require_good_standing(session, user: User, now: datetime) -> Organisation:
    """The user's organisation, verified and subscribed; otherwise refuse with the reason (403)."""
    problem = standing_problem(session, user, now)
    if problem is not None:
        raise problem
    return session.get(Organisation, user.organisation_id)


# ---- organisations, their verification and their subscription (DESIGN.md section 6) ---------

# Stripe's subscription statuses → ours. Anything not listed (a status Stripe adds later) counts
# as not paid up, so it never opens what an active subscription opens.
_STRIPE_STATUSES = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "paused": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "incomplete": SubscriptionStatus.INCOMPLETE,
}
# A subscription not read from Stripe for this long is read again by the worker (webhooks
# usually tell us sooner).
RECHECK_AFTER = timedelta(hours=6)
NAME_LENGTH = (2, 120)
WEBSITE_LENGTH = 200
REASON_LENGTH = (3, 200)
VERIFICATION_STATES = ("pending", "verified", "rejected")
CARD_PAGE = "/account/card?next=/organisation"


def subscription_status(stripe_status: str | None) -> SubscriptionStatus:
    """Our status for a Stripe subscription status (the one mapping)."""
    return _STRIPE_STATUSES.get(stripe_status or "", SubscriptionStatus.INCOMPLETE)


def verification_state(org: Organisation) -> str:
    """pending (not checked yet), verified, or rejected (with a reason)."""
    if org.verified_at is not None:
        return "verified"
    return "rejected" if org.rejected_at is not None else "pending"


def _from_unix(value: int | None) -> datetime | None:
    """A Stripe Unix time as an aware UTC datetime."""
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


# _text's refusals per field, whole sentences so each translates as one: (not text, wrong length).
TEXT_REFUSALS = {
    "name": (N_("The name must be text."), N_("The name must be %(low)s to %(high)s characters.")),
    "reason": (N_("The reason must be text."), N_("The reason must be %(low)s to %(high)s characters.")),
}


def _text(value: object, lengths: tuple[int, int], field: str) -> str:
    """Text with its spaces collapsed, of a bounded length, or a 400 naming the field."""
    not_text, wrong_length = TEXT_REFUSALS[field]
    if not isinstance(value, str):
        raise BadRequest("invalid_field", not_text)
    value = " ".join(value.split())
    low, high = lengths
    if not low <= len(value) <= high:
        raise BadRequest("invalid_field", wrong_length, low=low, high=high)
    return value


def _website(value: object) -> str | None:
    """An optional http(s) address, or a 400."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > WEBSITE_LENGTH:
        raise BadRequest("invalid_field", "The website must be an address of at most %(max)s characters.",
                                          max=WEBSITE_LENGTH)
    value = value.strip()
    parsed = urlsplit(value if "://" in value else "https://" + value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or "." not in parsed.hostname \
            or any(c.isspace() for c in value):
        raise BadRequest("invalid_field", "The website must be an address such as https://example.com.")
    return parsed.geturl()


def organisation_json(org: Organisation, user: User, now: datetime, session) -> dict:
    """The API's shape of the caller's organisation, with its standing."""
    problem = standing_problem(session, user, now)
    return {
        "id": org.id, "name": org.name, "website": org.website,
        "role": "owner" if org.owner_id == user.id else "member",
        "created_at": iso(org.created_at),
        "verification": {"status": verification_state(org), "verified_at": iso(org.verified_at),
                         "rejected_at": iso(org.rejected_at), "rejection_reason": org.rejection_reason},
        "subscription": {"status": str(org.subscription_status), "price_cents": ORG_PRICE_CENTS,
                         "interval": "month", "current_period_end": iso(org.current_period_end),
                         "cancel_at_period_end": cancel_scheduled(session, org),
                         "checked_at": iso(org.subscription_checked_at)},
        "standing": {"ok": problem is None, "code": problem.code if problem else None,
                     "message": problem.message if problem else None},
    }


def cancel_scheduled(session, org: Organisation) -> bool:
    """Whether the current subscription ends at the end of its period (the payment log says so)."""
    if not org.subscription_id:
        return False
    kind = session.execute(select(PaymentRecord.kind).where(
        PaymentRecord.stripe_id == org.subscription_id,
        PaymentRecord.kind.in_(("subscription_cancel_set", "subscription_cancel_unset")))
        .order_by(PaymentRecord.id.desc()).limit(1)).scalar_one_or_none()
    return kind == "subscription_cancel_set"


class OrganisationService:
    """Creating an organisation, its admin check, and its Stripe Billing subscription."""

    def __init__(self, session, clock, gateway, publisher):
        self.session = session
        self.clock = clock
        self.gateway = gateway
        self.publisher = publisher

    # ---- the user's side ------------------------------------------------------------------
    def mine(self, user: User) -> Organisation:
        """The organisation the user acts for, or 404."""
        fresh = self.session.get(User, user.id)
        org = self.session.get(Organisation, fresh.organisation_id) if fresh and fresh.organisation_id else None
        if org is None:
            raise NotFound("organisation_not_found", "You have no organisation yet; create one first.")
        return org

    def create(self, user: User, data: object) -> Organisation:
        """Create an organisation; the user becomes its owner and first member (pending an admin's check)."""
        data = require_object(data)
        name = _text(data.get("name"), NAME_LENGTH, "name")
        website = _website(data.get("website"))
        with transaction():
            fresh = self.session.execute(lock_for_update(select(User).where(User.id == user.id))).scalar_one()
            if fresh.organisation_id is not None:
                raise Conflict("already_member", "You already act for an organisation; one is the limit.")
            org = Organisation(name=name, website=website, owner_id=fresh.id, created_at=self.clock.now(),
                               subscription_status=SubscriptionStatus.NONE.value)
            self.session.add(org)
            self.session.flush()
            fresh.organisation_id = org.id
        return org

    def _owned(self, user: User, lock: bool = False) -> Organisation:
        """The user's organisation (locked when asked), which only its owner may manage."""
        org_id = self.mine(user).id
        query = select(Organisation).where(Organisation.id == org_id)
        org = self.session.execute(lock_for_update(query) if lock else query).scalar_one()
        if org.owner_id != user.id:
            raise Forbidden("not_owner", "Only the organisation's owner manages its subscription.")
        return org

    def subscribe(self, user: User) -> Organisation:
        """Start the $1,000 monthly subscription, paid now with the owner's saved card."""
        org = self._owned(user)
        if org.verified_at is None:
            raise Forbidden("organisation_unverified", "An admin must verify your organisation before it subscribes.")
        if org.subscription_status == SubscriptionStatus.ACTIVE:
            raise Conflict("already_subscribed", "Your organisation's subscription is already active.")
        fresh = self.session.get(User, user.id)
        if not fresh.has_payment_method:
            raise PaymentRequired("payment_method_required", "Save a card to pay the subscription.", CARD_PAGE)
        self.session.rollback()
        plan_id = self.gateway.ensure_organisation_plan()
        try:
            with transaction():
                # The row stays locked through the Stripe call: two clicks or two tabs make one subscription.
                org = self._owned(user, lock=True)
                if org.subscription_status == SubscriptionStatus.ACTIVE:
                    return org
                owner = self.session.get(User, user.id)
                previous = org.subscription_id
                # A new key after each ended subscription and for each card; the same for a second click.
                key = f"org:{org.id}:subscribe:{previous or 'first'}:{owner.payment_method_id}"
                sub = self.gateway.create_subscription(
                    owner.stripe_customer_id, owner.payment_method_id, plan_id, key,
                    {"organisation_id": str(org.id)})
                if previous and previous != sub.id and org.subscription_status in (
                        SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE):
                    self._end_replaced(previous, f"{key}:replace")
                now = self.clock.now()
                self._apply(org, sub, now)
                record(self.session, "subscription_started", ORG_PRICE_CENTS, now, user_id=owner.id,
                       stripe_id=sub.id, idempotency_key=key, organisation_id=org.id, status=sub.status)
        except PaymentError as exc:
            raise _payment_refusal(exc) from None
        return org

    def _end_replaced(self, subscription_id: str, key: str) -> None:
        """End a lapsed subscription a new one replaces, so it stops asking for payment (best effort)."""
        try:
            self.gateway.cancel_subscription(subscription_id, key, at_period_end=False)
        except PaymentError as exc:
            log.warning("could not end replaced subscription %s: %s", subscription_id, exc)

    def cancel(self, user: User, at_period_end: bool = True) -> Organisation:
        """End the subscription: at the end of the paid period (the default), or now."""
        org = self._owned(user)
        if not org.subscription_id or org.subscription_status in (SubscriptionStatus.NONE, SubscriptionStatus.CANCELED):
            raise Conflict("not_subscribed", "Your organisation has no subscription to cancel.")
        if org.subscription_status != SubscriptionStatus.ACTIVE:
            at_period_end = False  # nothing paid to run out: end it now
        if at_period_end and cancel_scheduled(self.session, org):
            return org
        sub_id = org.subscription_id
        self.session.rollback()
        key = f"org:{org.id}:cancel:{sub_id}:{'period_end' if at_period_end else 'now'}"
        try:
            sub = self.gateway.cancel_subscription(sub_id, key, at_period_end=at_period_end)
        except PaymentError as exc:
            raise _payment_refusal(exc) from None
        with transaction():
            org = self._owned(user, lock=True)
            if org.subscription_id == sub.id:
                self._apply(org, sub, self.clock.now())
        return org

    # ---- what Stripe says -------------------------------------------------------------------
    def refresh(self, org_id: int) -> Organisation | None:
        """Read the organisation's subscription from Stripe again and keep what it says."""
        org = self.session.get(Organisation, org_id)
        if org is None or not org.subscription_id:
            self.session.rollback()
            return org
        sub_id = org.subscription_id
        self.session.rollback()
        sub = self.gateway.retrieve_subscription(sub_id)
        with transaction():
            org = self.session.execute(lock_for_update(select(Organisation).where(Organisation.id == org_id))).scalar_one()
            if org.subscription_id == sub.id:  # not replaced meanwhile
                self._apply(org, sub, self.clock.now())
        return org

    def refresh_subscription(self, subscription_id: str) -> Organisation | None:
        """Apply what Stripe now says about one subscription to its organisation (webhooks)."""
        sub = self.gateway.retrieve_subscription(subscription_id)
        org = self.session.execute(select(Organisation).where(Organisation.subscription_id == sub.id)).scalar_one_or_none()
        if org is None:
            named = sub.metadata.get("organisation_id", "")
            candidate = self.session.get(Organisation, int(named)) if named.isdigit() and len(named) < 10 else None
            # Adopt a subscription a crash left unrecorded, never one older than the one we know.
            if candidate is not None and candidate.subscription_id is None and \
                    subscription_status(sub.status) == SubscriptionStatus.ACTIVE:
                org = candidate
        if org is None:
            self.session.rollback()
            return None
        org_id, known = org.id, org.subscription_id
        self.session.rollback()
        with transaction():
            org = self.session.execute(lock_for_update(select(Organisation).where(Organisation.id == org_id))).scalar_one()
            if org.subscription_id in (known, sub.id):
                self._apply(org, sub, self.clock.now())
        return org

    def refresh_due(self, limit: int = 50) -> int:
        """Read again subscriptions not checked for a while or past their period's end; how many changed."""
        now = self.clock.now()
        ids = self.session.execute(select(Organisation.id).where(
            Organisation.subscription_id.is_not(None),
            Organisation.subscription_status != SubscriptionStatus.CANCELED.value,
            or_(Organisation.subscription_checked_at.is_(None),
                Organisation.subscription_checked_at < now - RECHECK_AFTER,
                Organisation.current_period_end < now))
            .order_by(Organisation.subscription_checked_at.asc().nullsfirst(), Organisation.id).limit(limit)).scalars().all()
        self.session.rollback()
        changed = 0
        for org_id in ids:
            before = self.session.get(Organisation, org_id).subscription_status
            self.session.rollback()
            try:
                org = self.refresh(org_id)
            except PaymentError as exc:
                if exc.code == "unavailable":
                    log.warning("subscription check waits: payments unavailable (%s)", exc.message)
                    break
                log.warning("could not check organisation %s's subscription: %s", org_id, exc)
                continue
            changed += org is not None and org.subscription_status != before
        return changed

    def _apply(self, org: Organisation, sub, now: datetime) -> None:
        """Write a Stripe subscription's state onto the (locked) organisation row."""
        status = subscription_status(sub.status)
        was_scheduled = cancel_scheduled(self.session, org) if org.subscription_id == sub.id else False
        org.subscription_id = sub.id
        org.subscription_status = status.value
        org.current_period_end = _from_unix(sub.current_period_end)
        org.subscription_checked_at = now
        if sub.cancel_at_period_end != was_scheduled and status != SubscriptionStatus.CANCELED:
            kind = "subscription_cancel_set" if sub.cancel_at_period_end else "subscription_cancel_unset"
            record(self.session, kind, 0, now, user_id=org.owner_id, stripe_id=sub.id, organisation_id=org.id)

    # ---- admins ---------------------------------------------------------------------------
    def verify(self, admin: User, org_id: int) -> Organisation:
        """An admin checked the organisation: it may now subscribe (audited; the owner is told)."""
        with transaction(self.publisher):
            org = self._for_admin(admin, org_id)
            if org.verified_at is not None:
                raise Conflict("already_verified", "This organisation is verified already.")
            now = self.clock.now()
            org.verified_at, org.verified_by_id = now, admin.id
            org.rejected_at, org.rejection_reason = None, None
            audit(self.session, now, admin, "organisation_verified", f"organisation:{org.id}", {"name": org.name})
            notify(self.session, self.publisher, org.owner_id, "organisation_verified", now,
                   organisation_id=org.id, organisation=org.name)
        return org

    def reject(self, admin: User, org_id: int, reason: object) -> Organisation:
        """An admin turns a pending organisation down, with a reason the owner reads (audited)."""
        reason = _text(reason, REASON_LENGTH, "reason")
        with transaction(self.publisher):
            org = self._for_admin(admin, org_id)
            if org.verified_at is not None:
                raise Conflict("already_verified", "A verified organisation cannot be rejected.")
            now = self.clock.now()
            org.rejected_at, org.rejection_reason = now, reason
            audit(self.session, now, admin, "organisation_rejected", f"organisation:{org.id}",
                  {"name": org.name, "reason": reason})
            notify(self.session, self.publisher, org.owner_id, "organisation_rejected", now,
                   organisation_id=org.id, organisation=org.name, reason=reason)
        return org

    def _for_admin(self, admin: User, org_id: int) -> Organisation:
        """The organisation, locked, for an admin's decision."""
        if not getattr(admin, "is_admin", False):
            raise Forbidden("admins_only", "Only admins may do this.")
        org = self.session.execute(lock_for_update(select(Organisation).where(Organisation.id == org_id))).scalar_one_or_none()
        if org is None:
            raise NotFound("organisation_not_found", "There is no such organisation.")
        return org

    def admin_list(self, state: str | None, page: int, per_page: int) -> dict:
        """Organisations (pending, verified or rejected), oldest pending first, with their owners and counts."""
        pending = (Organisation.verified_at.is_(None)) & (Organisation.rejected_at.is_(None))
        filters = {"pending": pending, "verified": Organisation.verified_at.is_not(None),
                   "rejected": (Organisation.verified_at.is_(None)) & (Organisation.rejected_at.is_not(None))}
        if state is not None and state not in filters:
            raise BadRequest("invalid_state", "Choose pending, verified or rejected.")
        counts = {name: self.session.execute(select(func.count()).select_from(Organisation).where(clause)).scalar_one()
                  for name, clause in filters.items()}
        query = select(Organisation, User).join(User, User.id == Organisation.owner_id)
        if state is not None:
            query = query.where(filters[state])
        total = counts[state] if state else sum(counts.values())
        rows = self.session.execute(query.order_by(Organisation.created_at, Organisation.id)
                                    .offset((page - 1) * per_page).limit(per_page)).all()
        return {"items": [{"organisation": org, "owner": owner, "state": verification_state(org)} for org, owner in rows],
                "counts": counts, "total": total, "page": page, "per_page": per_page}


def _payment_refusal(exc: PaymentError) -> ServiceError:
    """A Stripe refusal as the answer the subscriber sees."""
    if exc.code in ("card_declined", "authentication_required"):
        return PaymentRequired(exc.code, "Your card was not charged for the subscription: the bank "
                                         "declined it or asked for a check we cannot do here. "
                                         "Try another card.", CARD_PAGE)
    if exc.code == "unavailable":
        return ServiceError("payments_unavailable", "Payments are briefly unavailable; nothing was "
                                                    "charged. Try again in a minute.", 503)
    log.error("subscription call refused by Stripe: %s", exc.message)
    return ServiceError("payments_unavailable", "The payment service refused this request; nothing was "
                                                "charged. Try again later.", 503)
