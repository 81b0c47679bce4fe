"""Handle inquiries (DESIGN.md section 6): an organisation asks for handles, the assistant answers.

An organisation in good standing names up to 50 handles with a reason. Each answer is due within
3 business days (auctions.calendar, holidays from the HOLIDAYS setting). The assistant, a worker
job, answers pending handles oldest first in bounded batches:

- available: an open lot in the catalog sells it (its lot is linked);
- releasable: an inactive or bot-held account holds it (the release pipeline's one rule), or it
  sits in the platform's pool with no lot; quoted from auctions.valuation;
- unavailable: an active account holds it, it is protected (admins decide), it is sold or held
  for someone, or nobody has registered it (there is nothing to sell: anyone may register it on
  the platform itself).

When every handle is answered, the bulk discount (auctions.discounts) is shared over the
releasable handles in whole cents and the asker is told. Accepting all or part of a quote makes,
per handle and in its own transaction, a private fixed-price lot sold to the buyer and an order
(source "inquiry") that the settlement machine charges and transfers like any other.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select

import auctions
from auctions.calendar import add_business_days

from .. import validation as v
from ..audit import audit
from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import N_, BadRequest, Conflict, Forbidden, NotFound, ServiceError
from ..models import (
    Eligibility,
    Handle,
    Inquiry,
    InquiryItem,
    InquiryItemStatus,
    Listing,
    ListingKind,
    Order,
    OrderStatus,
    User,
)
from ..registry import parse_handle
from .notices import notify
from .organisations import require_good_standing
from .payments import PaymentRequired
from .purchases import close_sold
from .release import ReleasePolicy, is_protected_name, may_release, release_handle
from .listings import holding_lots
from .settlement import open_order

ANSWER_BUSINESS_DAYS = 3
MAX_HANDLES = 50
MAX_REASON = 2000
MAX_NOTE = 300
MAX_PASTED = 20_000  # characters of a pasted list; 50 handles of 16 with separators fit many times over
SEPARATORS = re.compile(r"[\s,;]+")


def holidays_of(config) -> frozenset[date]:
    """The HOLIDAYS setting as dates (ISO strings are accepted too, for tests and overrides)."""
    found = set()
    for value in config.get("HOLIDAYS") or ():
        found.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
    return frozenset(found)


def parse_handle_list(raw: object) -> list[tuple[str, str]]:
    """(key, display) for each handle of a pasted list, in order, without case-insensitive repeats.

    The list is split on whitespace, commas, semicolons and newlines (a JSON list of strings is
    fine too). Every invalid entry is refused at once, by name; 1 to 50 handles.
    """
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        raw = "\n".join(raw)
    if not isinstance(raw, str):
        raise BadRequest("invalid_handles", "Send the handles as text (one per line, or separated by commas) "
                                            "or as a list of strings.")
    if len(raw) > MAX_PASTED:
        raise BadRequest("too_many_handles", "Ask about at most %(max)s handles at once.", max=MAX_HANDLES)
    found: dict[str, str] = {}
    bad: list[str] = []
    for token in SEPARATORS.split(raw):
        if not token:
            continue
        try:
            key, display = parse_handle(token)
        except BadRequest:
            shown = token if len(token) <= 20 else token[:20] + "…"
            if shown not in bad:
                bad.append(shown)
            continue
        found.setdefault(key, display)
    if bad:
        listed = ", ".join(f"“{b}”" for b in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise BadRequest("invalid_handles", "These are not handles: %(listed)s. A handle is 1 to 15 characters: "
                                            "letters A–Z, digits 0–9 and underscores only.", listed=listed)
    if not found:
        raise BadRequest("handles_required", "Name at least one handle.")
    if len(found) > MAX_HANDLES:
        raise BadRequest("too_many_handles", "Ask about at most %(max)s handles at once (%(count)s were given).",
                                             max=MAX_HANDLES, count=len(found))
    return list(found.items())


def parse_reason(raw: object) -> str:
    """The inquiry's reason: required text of at most 2,000 characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("reason_required", "Say why your organisation wants these handles.")
    reason = raw.strip()
    if len(reason) > MAX_REASON:
        raise BadRequest("reason_too_long", "The reason is at most %(max)s characters (%(count)s given).",
                                            max=MAX_REASON, count=len(reason))
    return reason


def is_late(inquiry: Inquiry, now: datetime) -> bool:
    """Unanswered past its due time."""
    return inquiry.answered_at is None and inquiry.due_at < now


def quote_of(inquiry: Inquiry) -> dict | None:
    """The quote over the releasable handles (list prices, the discount, the total), or None."""
    lines = [i for i in inquiry.items if i.status == InquiryItemStatus.RELEASABLE and i.price_cents is not None]
    if inquiry.answered_at is None or not lines:
        return None
    subtotal = sum(i.list_cents for i in lines)
    total = sum(i.price_cents for i in lines)
    return {"count": len(lines), "rate_bps": inquiry.discount_bps, "subtotal_cents": subtotal,
            "discount_cents": subtotal - total, "total_cents": total}


def item_json(item: InquiryItem, orders: dict[int, Order] | None = None) -> dict:
    """The API's shape of one handle of an inquiry."""
    order = (orders or {}).get(item.order_id) if item.order_id else None
    return {"id": item.id, "handle": item.handle_display, "status": item.status, "note": item.note,
            "lot_id": item.listing_id, "list_cents": item.list_cents, "price_cents": item.price_cents,
            "answered_at": iso(item.answered_at), "answered_by": "assistant" if item.answered_by_id is None
            and item.answered_at is not None else ("admin" if item.answered_at is not None else None),
            "accepted_at": iso(item.accepted_at), "order_id": item.order_id,
            "order_status": order.status if order is not None else None,
            "transfer_due_at": iso(order.transfer_due_at) if order is not None else None}


def inquiry_json(session, inquiry: Inquiry, now: datetime) -> dict:
    """The API's shape of an inquiry, with its handles and its quote."""
    order_ids = [i.order_id for i in inquiry.items if i.order_id]
    orders = {o.id: o for o in session.execute(select(Order).where(Order.id.in_(order_ids))).scalars()} \
        if order_ids else {}
    return {"id": inquiry.id, "organisation_id": inquiry.organisation_id, "reason": inquiry.reason,
            "status": "answered" if inquiry.answered_at is not None else "pending",
            "created_at": iso(inquiry.created_at), "due_at": iso(inquiry.due_at),
            "answered_at": iso(inquiry.answered_at), "late": is_late(inquiry, now),
            "items": [item_json(i, orders) for i in inquiry.items], "quote": quote_of(inquiry)}


class InquiryService:
    """Asking, the assistant's answers, admins' answers, and accepting quotes.

    `publishers` makes a fresh live-event publisher per transaction (wiring.publisher);
    `settlement` builds the settlement service, which charges an accepted handle's order.
    """

    def __init__(self, session, clock, publishers: Callable, config, settlement: Callable | None = None):
        self.session = session
        self.clock = clock
        self.publishers = publishers
        self.holidays = holidays_of(config)
        self.policy = ReleasePolicy.from_config(config)
        self.commission_bps = config.get("COMMISSION_BPS", 1_000)
        self.settlement = settlement

    # ---- asking ---------------------------------------------------------------------------
    def submit(self, user: User, raw_handles: object, raw_reason: object) -> Inquiry:
        """An organisation in good standing asks about 1 to 50 handles; answered within 3 business days."""
        now = self.clock.now()
        org = require_good_standing(self.session, user, now)
        handles = parse_handle_list(raw_handles)
        reason = parse_reason(raw_reason)
        with transaction():
            inquiry = Inquiry(organisation_id=org.id, user_id=user.id, reason=reason, created_at=now,
                              due_at=add_business_days(now, ANSWER_BUSINESS_DAYS, self.holidays), discount_bps=0)
            self.session.add(inquiry)
            self.session.flush()
            for key, display in handles:
                self.session.add(InquiryItem(inquiry_id=inquiry.id, handle_name=key, handle_display=display,
                                             status=InquiryItemStatus.PENDING.value))
            self.session.flush()
        return inquiry

    def get_for(self, user: User, inquiry_id: object) -> Inquiry:
        """An inquiry its organisation's users and admins may see; 404 for anyone else."""
        if isinstance(inquiry_id, bool) or not isinstance(inquiry_id, int):
            raise NotFound("inquiry_not_found", "There is no such inquiry.")
        inquiry = self.session.get(Inquiry, inquiry_id)
        if inquiry is None or not (user.is_admin or (user.organisation_id is not None
                                                      and user.organisation_id == inquiry.organisation_id)):
            raise NotFound("inquiry_not_found", "There is no such inquiry.")
        return inquiry

    def mine(self, user: User, page: int = 1, per_page: int = 25) -> dict:
        """A page of the user's organisation's inquiries, newest first (403 without an organisation)."""
        if user.organisation_id is None:
            raise Forbidden("organisation_required", "Only verified organisations may send inquiries. "
                                                     "Create your organisation's account first.")
        query = select(Inquiry).where(Inquiry.organisation_id == user.organisation_id)
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.session.execute(query.order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)).scalars().all()
        now = self.clock.now()
        return {"items": [inquiry_json(self.session, r, now) for r in rows], "page": page, "per_page": per_page,
                "total": total}

    # ---- the assistant --------------------------------------------------------------------
    def assess(self, name: str, now: datetime) -> dict:
        """The assistant's answer for one (case-folded) handle now: status, note, lot, list price."""
        handle = self.session.execute(select(Handle).where(Handle.name == name)).scalar_one_or_none()
        if handle is None:
            return {"status": InquiryItemStatus.UNAVAILABLE,
                    "note": "Not registered on the platform: nobody holds it, so there is nothing to sell; "
                            "you can register it on the platform yourself."}
        lot = self.session.execute(select(Listing).where(
            Listing.handle_id == handle.id, Listing.closed_status.is_(None), Listing.private.is_(False),
            or_(Listing.ends_at.is_(None), Listing.ends_at > now)).order_by(Listing.id.desc()).limit(1)
        ).scalar_one_or_none()
        if lot is not None:
            note = "On sale now: buy or bid on its lot page."
            if lot.eligibility == Eligibility.BACKORDERERS:
                note = "On sale now, to those who backordered it only."
            return {"status": InquiryItemStatus.AVAILABLE, "note": note, "listing_id": lot.id}
        if self._held_by_a_lot(handle):
            return {"status": InquiryItemStatus.UNAVAILABLE, "note": "Sold, or being sold, to another buyer."}
        if handle.protected or handle.held_back_at is not None or is_protected_name(self.session, handle.name):
            return {"status": InquiryItemStatus.UNAVAILABLE,
                    "note": "A protected name: admins decide whether, and to whom, it is offered."}
        if handle.account_id is None:
            if handle.held_until is not None and handle.held_until > now:
                return {"status": InquiryItemStatus.UNAVAILABLE,
                        "note": f"Held for its previous owner until {handle.held_until:%Y-%m-%d}."}
        elif not may_release(self.session, handle.account_id, now, self.policy):
            return {"status": InquiryItemStatus.UNAVAILABLE, "note": "An active account holds it."}
        return {"status": InquiryItemStatus.RELEASABLE, "list_cents": auctions.suggest(handle.name).value_cents,
                "note": "Inactive or bot-held, or released and unlisted: it can be yours at the quoted price."}

    def _held_by_a_lot(self, handle: Handle) -> bool:
        """Whether a lot ties the handle up (listings' one rule: open, or sold and not yet settled)."""
        return self.session.execute(holding_lots().where(Listing.handle_id == handle.id).limit(1)).first() is not None

    def answer_due(self, limit: int = 100) -> int:
        """Answer up to `limit` pending handles, oldest inquiries first, then finish answered inquiries.

        Safe in several workers: rows another worker holds are skipped. Returns how many handles
        were answered.
        """
        with transaction():
            now = self.clock.now()
            items = self.session.execute(lock_for_update(
                select(InquiryItem).where(InquiryItem.status == InquiryItemStatus.PENDING)
                .order_by(InquiryItem.inquiry_id, InquiryItem.id).limit(limit), skip_locked=True)).scalars().all()
            for item in items:
                self._set_answer(item, self.assess(item.handle_name, now), now, None)
        self.finish_answered(limit)
        return len(items)

    def finish_answered(self, limit: int = 100) -> int:
        """Quote and tell the askers of inquiries whose every handle is answered; returns how many."""
        pending = select(InquiryItem.id).where(InquiryItem.inquiry_id == Inquiry.id,
                                               InquiryItem.status == InquiryItemStatus.PENDING)
        ids = self.session.execute(select(Inquiry.id).where(Inquiry.answered_at.is_(None), ~pending.exists())
                                   .order_by(Inquiry.id).limit(limit)).scalars().all()
        self.session.rollback()
        done = 0
        for inquiry_id in ids:
            publisher = self.publishers()
            with transaction(publisher):
                inquiry = self.session.execute(lock_for_update(select(Inquiry).where(Inquiry.id == inquiry_id),
                                                               skip_locked=True)).scalar_one_or_none()
                if inquiry is None or inquiry.answered_at is not None:
                    continue
                if any(i.status == InquiryItemStatus.PENDING for i in inquiry.items):
                    continue
                now = self.clock.now()
                self._requote(inquiry)
                inquiry.answered_at = now
                self._tell(inquiry, publisher, now)
                done += 1
        return done

    def _set_answer(self, item: InquiryItem, answer: dict, now: datetime, admin: User | None) -> None:
        """Write an answer onto a handle of an inquiry."""
        item.status = str(answer["status"])
        item.note = (answer.get("note") or "")[:MAX_NOTE] or None
        item.listing_id = answer.get("listing_id")
        item.list_cents = answer.get("list_cents")
        item.price_cents = answer.get("list_cents")  # the discount is shared out once all are answered
        item.answered_at = now
        item.answered_by_id = admin.id if admin is not None else None

    def _requote(self, inquiry: Inquiry) -> None:
        """Share the bulk discount over the releasable handles (cents exact); accepted prices stay."""
        lines = [i for i in inquiry.items if i.status == InquiryItemStatus.RELEASABLE and i.list_cents]
        if not lines:
            inquiry.discount_bps = 0
            return
        quote = auctions.discounts.quote([i.list_cents for i in lines])
        inquiry.discount_bps = quote.rate_bps
        for item, price in zip(lines, quote.line_totals_cents, strict=True):
            if item.accepted_at is None:
                item.price_cents = price

    def _tell(self, inquiry: Inquiry, publisher, now: datetime) -> None:
        """Tell the asker their inquiry is answered (in the app, live, and by email)."""
        quote = quote_of(inquiry)
        counts = {s.value: sum(1 for i in inquiry.items if i.status == s) for s in InquiryItemStatus}
        payload = {"inquiry_id": inquiry.id, "handles": len(inquiry.items), "available": counts["available"],
                   "releasable": counts["releasable"], "unavailable": counts["unavailable"]}
        if quote is not None:
            payload.update(amount_cents=quote["total_cents"], discount_bps=quote["rate_bps"],
                           discount_cents=quote["discount_cents"])
        if len(inquiry.items) == 1:
            payload["handle"] = inquiry.items[0].handle_display
        notify(self.session, publisher, inquiry.user_id, "inquiry_answered", now, **payload)

    # ---- admins ---------------------------------------------------------------------------
    def admin_answer(self, admin: User, inquiry_id: object, item_id: object, data: object) -> InquiryItem:
        """An admin answers a handle by hand, or overrides the assistant (e.g. quotes a protected
        name for this organisation); audited. `data`: {status, note, price_cents (releasable)}."""
        data = v.require_object(data)
        status = v.choice(data, "status", [InquiryItemStatus.RELEASABLE.value, InquiryItemStatus.UNAVAILABLE.value])
        note = data.get("note")
        if not isinstance(note, str) or not note.strip():
            raise BadRequest("note_required", "Give a note: the organisation reads it, and it is kept in the audit "
                                              "log.")
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise BadRequest("note_too_long", "The note is at most %(max)s characters.", max=MAX_NOTE)
        price = v.cents(data, "price_cents", required=status == InquiryItemStatus.RELEASABLE)
        publisher = self.publishers()
        with transaction(publisher):
            inquiry = self.session.execute(lock_for_update(
                select(Inquiry).where(Inquiry.id == self.get_for(admin, inquiry_id).id))).scalar_one()
            item = next((i for i in inquiry.items if i.id == item_id), None)
            if item is None:
                raise NotFound("item_not_found", "This inquiry has no such handle.")
            if item.accepted_at is not None:
                raise Conflict("already_accepted", "@%(handle)s was accepted; its answer can no longer change.",
                                                   handle=item.handle_display)
            now = self.clock.now()
            before = {"status": item.status, "list_cents": item.list_cents, "note": item.note}
            answer = {"status": status, "note": note}
            if status == InquiryItemStatus.RELEASABLE:
                answer["list_cents"] = price
            self._set_answer(item, answer, now, admin)
            audit(self.session, now, admin, "inquiry.answer", f"inquiry:{inquiry.id}",
                  {"item_id": item.id, "handle": item.handle_name, "before": before, "status": status,
                   "list_cents": answer.get("list_cents"), "note": note})
            if all(i.status != InquiryItemStatus.PENDING for i in inquiry.items):
                self._requote(inquiry)
                inquiry.answered_at = inquiry.answered_at or now
                self._tell(inquiry, publisher, now)
        return item

    def admin_page(self, page: int = 1, per_page: int = 50, late_only: bool = False) -> dict:
        """Every inquiry, unanswered first by due time (late ones flagged), then answered, newest first."""
        now = self.clock.now()
        query = select(Inquiry)
        if late_only:
            query = query.where(Inquiry.answered_at.is_(None), Inquiry.due_at < now)
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        late = self.session.execute(select(func.count()).select_from(Inquiry).where(
            Inquiry.answered_at.is_(None), Inquiry.due_at < now)).scalar_one()
        rows = self.session.execute(query.order_by(Inquiry.answered_at.is_not(None), Inquiry.due_at,
                                                   Inquiry.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)).scalars().all()
        return {"items": [inquiry_json(self.session, r, now) | {"organisation": r.organisation.name} for r in rows],
                "page": page, "per_page": per_page, "total": total, "late": late}

    def late_transfers(self, limit: int = 100) -> list[dict]:
        """Paid orders whose transfer window has passed without the handle moving, most overdue first."""
        now = self.clock.now()
        rows = self.session.execute(
            select(Order, Listing.handle_display).join(Listing, Listing.id == Order.listing_id)
            .where(Order.status == OrderStatus.PAID, Order.transferred_at.is_(None),
                   Order.transfer_due_at.is_not(None), Order.transfer_due_at < now)
            .order_by(Order.transfer_due_at, Order.id).limit(limit)).all()
        return [{"order": order, "handle": handle, "overdue_hours": int((now - order.transfer_due_at).total_seconds()
                                                                         // 3600)} for order, handle in rows]

    # ---- accepting a quote ------------------------------------------------------------------
    @staticmethod
    def _item_ids(raw: object) -> list[int]:
        """The accepted items' ids: a list of 1 to 50 whole numbers, without repeats."""
        if not isinstance(raw, list) or not raw:
            raise BadRequest("item_ids_required", "Pick at least one handle of the quote (item_ids: a list of ids).")
        if len(raw) > MAX_HANDLES or any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in raw):
            raise BadRequest("invalid_item_ids", "item_ids must be 1 to %(max)s whole-number ids.", max=MAX_HANDLES)
        return list(dict.fromkeys(raw))

    def accept(self, user: User, inquiry_id: object, raw_item_ids: object) -> dict:
        """Accept all or part of a quote: each releasable handle becomes a private lot sold to the user
        and an order charged to their saved card. Accepting again changes nothing; a stale answer
        (the handle sold or back in use meanwhile) is refused by name."""
        ids = self._item_ids(raw_item_ids)
        now = self.clock.now()
        inquiry = self.get_for(user, inquiry_id)
        require_good_standing(self.session, user, now)
        if inquiry.answered_at is None:
            raise Conflict("not_answered", "This inquiry is not answered yet; the quote comes with the answer.")
        items = {i.id: i for i in inquiry.items}
        unknown = [i for i in ids if i not in items]
        if unknown:
            raise NotFound("item_not_found", "This inquiry has no handle with id %(item_id)s.", item_id=unknown[0])
        wrong = [items[i] for i in ids if items[i].accepted_at is None and items[i].status != InquiryItemStatus.RELEASABLE]
        if wrong:
            names = ", ".join(f"@{i.handle_display} ({i.status})" for i in wrong)
            raise Conflict("not_releasable", "Only quoted (releasable) handles can be accepted: %(names)s. "
                                             "Available handles are bought on their lot page.", names=names)
        if any(items[i].accepted_at is None for i in ids) and not user.has_payment_method:
            raise PaymentRequired("payment_method_required", "Save a card before accepting a quote.", "/account/card")
        self.session.rollback()
        accepted, refused, fresh = [], [], []
        for item_id in ids:
            try:
                order_id, new = self._accept_item(user, item_id)
            except ServiceError as exc:
                refused.append({"item_id": item_id, "handle": items[item_id].handle_display,
                                "code": exc.code, "message": exc.message})
                continue
            accepted.append(item_id)
            if new:
                fresh.append(order_id)
        if not accepted:
            reasons = " ".join(r["message"] for r in refused)  # each already in the reader's language
            raise Conflict(refused[0]["code"], reasons)
        if fresh and self.settlement is not None:
            service = self.settlement()
            for order_id in fresh:
                service.step(order_id)  # charged at once, as a fixed-price checkout is
        self.session.expire_all()
        inquiry = self.session.get(Inquiry, inquiry.id)
        return {"inquiry": inquiry_json(self.session, inquiry, self.clock.now()), "accepted_item_ids": accepted,
                "refused": refused}

    def _stale(self, item: InquiryItem, handle: Handle | None, user: User, now: datetime) -> str | None:
        """Why the quoted handle can no longer be had at this answer, a message template with
        %(handle)s (None: it still can)."""
        if handle is None:
            return N_("@%(handle)s is no longer in the registry. Ask again for a fresh answer.")
        if self._held_by_a_lot(handle):
            return N_("@%(handle)s was sold, or put on sale, meanwhile. Ask again for a fresh answer.")
        protected = handle.protected or handle.held_back_at is not None or is_protected_name(self.session, handle.name)
        if protected and item.answered_by_id is None:
            return N_("@%(handle)s is now a protected name: admins decide. Ask again for a fresh answer.")
        if handle.account_id is None:
            if handle.held_until is not None and handle.held_until > now and handle.held_for_user_id != user.id:
                return N_("@%(handle)s is held for its previous owner. Ask again for a fresh answer.")
            return None
        if not may_release(self.session, handle.account_id, now, self.policy):
            return N_("@%(handle)s is in active use again. Ask again for a fresh answer.")
        return None

    def _accept_item(self, user: User, item_id: int) -> tuple[int, bool]:
        """One handle of the quote, in one transaction with its rows locked: (order id, new)."""
        publisher = self.publishers()
        with transaction(publisher):
            item = self.session.execute(lock_for_update(
                select(InquiryItem).where(InquiryItem.id == item_id))).scalar_one()
            if item.accepted_at is not None:
                return item.order_id, False
            if item.status != InquiryItemStatus.RELEASABLE or item.price_cents is None:
                raise Conflict("not_releasable", "@%(handle)s is not quoted.", handle=item.handle_display)
            now = self.clock.now()
            handle = self.session.execute(lock_for_update(
                select(Handle).where(Handle.name == item.handle_name))).scalar_one_or_none()
            why = self._stale(item, handle, user, now)
            if why is not None:
                raise Conflict("quote_stale", why, handle=item.handle_display)
            account_id = handle.account_id
            if account_id is not None:
                release_handle(self.session, handle, now)  # into the platform's custody
            price = item.price_cents
            # Sold at once; it has an end, so an order that lapses unpaid closes it unsold (never reopens it).
            listing = Listing(handle_id=handle.id, handle_name=handle.name, handle_display=handle.display,
                              kind=ListingKind.FIXED.value, seller_id=None, eligibility=Eligibility.ORGANISATIONS.value,
                              private=True, start_price_cents=price, current_price_cents=price, starts_at=now,
                              ends_at=now + timedelta(seconds=1), soft_close_seconds=0, bid_count=0, next_order=1, seq=0, created_at=now)
            self.session.add(listing)
            self.session.flush()
            close_sold(self.session, publisher, listing, user.id, price, now)
            order = open_order(self.session, listing, user.id, price, "inquiry", now, self.commission_bps)
            item.accepted_at, item.order_id, item.listing_id = now, order.id, listing.id
            audit(self.session, now, user, "inquiry.accept", f"inquiry:{item.inquiry_id}",
                  {"item_id": item.id, "handle": handle.name, "lot_id": listing.id, "order_id": order.id,
                   "price_cents": price, "from_account_id": account_id})
            return order.id, True
