"""Private notices: kept in the app, pushed live to the user's room, and told by email.

`notify` is the one place a notice is made. It writes the notification and its email (into the
outbox table) in the caller's transaction, so a rolled-back use case leaves neither behind, and
queues the live push, which the publisher sends only after the commit.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from babel.dates import format_datetime
from flask import current_app
from flask_babel import force_locale, get_locale
from sqlalchemy import func, select, update

from ..i18n import supported, usd
from ..models import EmailMessage, Listing, Notification, User

# Every kind a notice may have; the browser listens for these to keep the unread badge current.
KINDS = ("won", "outbid", "payment_taken", "payment_needed", "payment_failed", "order_lapsed",
         "second_chance_offer", "handle_transferred", "refunded", "lot_sold", "payout_sent",
         "release_warning", "release_reminder", "backorder_released",
         "offer_received", "offer_countered", "offer_accepted", "offer_declined", "offer_expired",
         "inquiry_answered", "organisation_verified", "organisation_rejected", "lot_ending", "bid_voided",
         "buyer_verified", "buyer_unverified", "strikes_cleared")
# Too chatty for email: an active auction can outbid someone every few seconds.
NOT_EMAILED = frozenset({"outbid"})
# Notices link to their order's page when they name one; these are about the bidding, so the lot.
LOT_KINDS = frozenset({"outbid", "lot_ending", "bid_voided"})
# About the buyer's own standing, not a handle: they lead to the market, where it matters.
ACCOUNT_KINDS = frozenset({"buyer_verified", "buyer_unverified", "strikes_cleared"})
# Offer notices lead to the offers page until an accepted one has its order.
OFFER_KINDS = frozenset({"offer_received", "offer_countered", "offer_accepted", "offer_declined", "offer_expired"})


def notice_path(kind: str, payload: dict) -> str | None:
    """Where a notice leads, as a path: the order when it names one, else the lot."""
    if kind.startswith("organisation_"):
        return "/organisation"
    if kind in ACCOUNT_KINDS:
        return "/lots"
    if payload.get("inquiry_id") is not None:
        return f"/inquiries/{int(payload['inquiry_id'])}"
    if kind not in LOT_KINDS and payload.get("order_id") is not None:
        return f"/orders/{int(payload['order_id'])}"
    if kind in OFFER_KINDS:
        return "/offers"
    if payload.get("lot_id") is not None:
        return f"/lots/{int(payload['lot_id'])}"
    return None


def notify(session, publisher, user_id: int, kind: str, now, **payload) -> Notification:
    """Make a private notice: the notification row, its live push and (most kinds) its email."""
    lot_id = payload.get("lot_id")
    if lot_id is not None and not payload.get("handle"):
        # Emails and the notices page name the handle; settlement's payloads carry only the lot.
        listing = session.get(Listing, lot_id)
        if listing is not None:
            payload["handle"] = listing.handle_display
    notice = Notification(user_id=user_id, kind=kind, listing_id=lot_id,
                          payload_json=json.dumps(payload), created_at=now)
    session.add(notice)
    publisher.to_user(user_id, kind, payload)
    if kind not in NOT_EMAILED:
        user = session.get(User, user_id)
        subject, body = render_email(kind, payload, user)
        session.add(EmailMessage(user_id=user_id, to_address=user.email, kind=kind, subject=subject[:200],
                                 body_text=body, created_at=now, attempts=0))
    return notice


def render_email(kind: str, payload: dict, user: User | None = None) -> tuple[str, str]:
    """The subject and plain-text body of a notice's email, in the recipient's language.

    Whatever language the request that caused it was in (another bidder's, say), or none at all
    (the worker): the user's stored `locale`, else the default language.
    """
    with force_locale(email_locale(user)):
        return _render_email(kind, payload, user)


def email_locale(user: User | None) -> str:
    """The language a user's emails are written in: their stored one, else the default."""
    if user is not None and user.locale in supported():
        return user.locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def _render_email(kind: str, payload: dict, user: User | None) -> tuple[str, str]:
    """Render templates/email/<kind>.txt in the active locale: subject and plain-text body.

    The template's first line is `Subject: ...`; the rest is the body. Amounts are written with
    their cents, in the locale's way; links are absolute under the PUBLIC_URL setting.
    """
    public_url = current_app.config.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    path = notice_path(kind, payload)
    context = dict(payload)
    context.update(
        kind=kind,
        user=user,
        name=user.display_name if user is not None else "",
        handle=payload.get("handle") or "",
        amount=usd(payload["amount_cents"], exact=True) if payload.get("amount_cents") is not None else "",
        pay_by_text=_deadline(payload.get("pay_by") or payload.get("expires_at")),
        ends_at_text=_deadline(payload.get("ends_at")),
        link=public_url + path if path else public_url,
        notices_link=public_url + "/account/notifications",
        public_url=public_url,
    )
    # A kind without its own template still tells the user something rather than failing the use case.
    template = current_app.jinja_env.select_template([f"email/{kind}.txt", "email/_notice.txt"])
    text = template.render(context)
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"email/{kind}.txt must start with a 'Subject:' line")
    # Optional paragraphs leave blank lines behind; keep one between paragraphs.
    body = re.sub(r"\n{3,}", "\n\n", rest).strip("\n") + "\n"
    return first[len("Subject:"):].strip(), body


def _deadline(value: str | None) -> str:
    """An ISO time from a payload as mail text in the active locale: "3 Jun 2026, 12:00 UTC" en,
    "3 juin 2026, 12:00 UTC" fr (empty when absent)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)
    return format_datetime(moment, "d MMM y, HH:mm", tzinfo=UTC, locale=get_locale() or "en") + " UTC"


class NoticeService:
    """Reading and marking a user's notices."""

    def __init__(self, session, clock):
        self.session = session
        self.clock = clock

    def unread_count(self, user_id: int) -> int:
        """How many of the user's notices are unread."""
        return self.session.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None))).scalar_one()

    def page(self, user_id: int, page: int = 1, per_page: int = 25) -> dict:
        """A page of the user's notices, newest first, each with the lot's handle and its link."""
        total = self.session.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id)).scalar_one()
        rows = self.session.execute(
            select(Notification, Listing.handle_display).outerjoin(Listing, Listing.id == Notification.listing_id)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset((page - 1) * per_page).limit(per_page)).all()
        items = []
        for notice, handle in rows:
            payload = notice.payload
            payload.setdefault("handle", handle or "")
            items.append({"id": notice.id, "kind": notice.kind, "payload": payload, "created_at": notice.created_at,
                          "unread": notice.read_at is None, "path": notice_path(notice.kind, payload)})
        return {"items": items, "page": page, "per_page": per_page, "total": total}

    def mark_all_read(self, user_id: int) -> int:
        """Mark every unread notice of the user read; return how many were."""
        result = self.session.execute(update(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=self.clock.now()))
        return result.rowcount
