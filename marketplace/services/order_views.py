"""What the order pages show: a buyer's receipt, a seller's sale, the lists, the admin console.

Read-only queries; the order machine lives in settlement.py and refunds in refunds.py.
"""
from __future__ import annotations

import json

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import aliased

from ..errors import NotFound
from ..models import CardHold, Listing, LotEvent, Order, OrderStatus, PaymentRecord, User
from .handles import kept_for
from .purchases import order_for
from .refunds import REFUNDABLE, HANDLE_NOTE

STEPS = (OrderStatus.PAID, OrderStatus.TRANSFERRED, OrderStatus.COMPLETED)
STOPPED = (OrderStatus.LAPSED, OrderStatus.REFUNDED, OrderStatus.DECLINED)


def steps_of(order: Order) -> list[dict]:
    """The progress stepper paid → transferred → completed: each step done, current or to come."""
    stamps = {OrderStatus.PAID: order.paid_at, OrderStatus.TRANSFERRED: order.transferred_at,
              OrderStatus.COMPLETED: order.completed_at}
    reached = [s for s in STEPS if stamps[s] is not None]
    steps = []
    for step in STEPS:
        if stamps[step] is not None:
            state = "done"
        elif order.status not in STOPPED and order.status != OrderStatus.OFFERED \
                and len(reached) == STEPS.index(step):  # an offer not yet taken is no payment under way
            state = "current"
        else:
            state = "todo"
        steps.append({"name": str(step), "state": state, "at": stamps[step]})
    return steps


def card_used(session, order: Order) -> dict | None:
    """The card the buyer had saved when they paid (from the payment log), as brand and last four."""
    if order.paid_at is None:
        return None
    saved = session.execute(select(PaymentRecord).where(
        PaymentRecord.user_id == order.buyer_id, PaymentRecord.kind == "card_saved",
        PaymentRecord.at <= order.paid_at).order_by(PaymentRecord.at.desc(), PaymentRecord.id.desc()).limit(1)
    ).scalar_one_or_none()
    if saved is not None:
        details = _details(saved)
        return {"brand": details.get("brand") or "card", "last4": details.get("last4") or "····"}
    buyer = session.get(User, order.buyer_id)
    if buyer.card_last4:
        return {"brand": buyer.card_brand or "card", "last4": buyer.card_last4}
    return None


def payout_state(session, order: Order) -> str:
    """Where the seller's money stands: paid_out, reversed, pending, needs_account, none."""
    if order.payout_id:
        return "reversed" if order.status == OrderStatus.REFUNDED else "paid_out"
    if order.status in (OrderStatus.PAID, OrderStatus.TRANSFERRED):
        seller = session.get(User, order.seller_id) if order.seller_id else None
        if order.status == OrderStatus.TRANSFERRED and seller is not None and not seller.stripe_account_id:
            return "needs_account"
        return "pending"
    if order.status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.ACTION_REQUIRED, OrderStatus.OFFERED):
        return "awaiting_payment"
    return "none"


def order_page(session, user: User, order_id: int, now=None) -> dict:
    """Everything the order page needs; 404 unless the user is its buyer, its seller or an admin."""
    order = order_for(session, user, order_id)
    listing = session.get(Listing, order.listing_id)
    role = "buyer" if user.id == order.buyer_id else "seller" if user.id == order.seller_id else "admin"
    refund = None
    if order.status == OrderStatus.REFUNDED:
        refund = session.execute(select(PaymentRecord).where(
            PaymentRecord.order_id == order.id, PaymentRecord.kind == "refunded").order_by(PaymentRecord.id.desc())
            .limit(1)).scalar_one_or_none()
    # Once the handle has moved, the buyer's previous one is kept for them: say so, and where.
    kept = kept_for(session, user.id, now) if now is not None and role == "buyer" and order.transferred_at else []
    return {"order": order, "listing": listing, "role": role, "steps": steps_of(order), "kept": kept,
            "card": card_used(session, order), "payout": payout_state(session, order),
            "refunded_at": refund.at if refund else (order.updated_at if order.status == OrderStatus.REFUNDED else None),
            "reason": order.failure if order.status == OrderStatus.REFUNDED else None}


def orders_of(session, user: User, page: int, per_page: int) -> dict:
    """The user's orders as buyer and as seller, newest first."""
    mine = (select(Order, Listing).join(Listing, Listing.id == Order.listing_id)
            .where(or_(Order.buyer_id == user.id, Order.seller_id == user.id)))
    total = session.execute(select(func.count()).select_from(mine.subquery())).scalar_one()
    rows = session.execute(mine.order_by(Order.created_at.desc(), Order.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    items = [{"order": order, "listing": listing, "role": "buyer" if order.buyer_id == user.id else "seller"}
             for order, listing in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def admin_search(session, status: str | None, q: str | None, page: int, per_page: int) -> dict:
    """Orders for the console: by status, by handle or buyer email, newest first; counts per status."""
    buyer = aliased(User)
    base = select(Order, Listing, buyer).join(Listing, Listing.id == Order.listing_id).join(
        buyer, buyer.id == Order.buyer_id)
    text = (q or "").strip().lstrip("@").lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        base = base.where(or_(Listing.handle_name.like(pattern, escape="\\"),
                              func.lower(buyer.email).like(pattern, escape="\\")))
    counted = dict(session.execute(select(Order.status, func.count()).where(
        Order.id.in_(base.with_only_columns(Order.id))).group_by(Order.status)).all())
    counts = [(str(s), counted.get(str(s), 0)) for s in OrderStatus]
    if status:
        base = base.where(Order.status == status)
    total = session.execute(select(func.count()).select_from(base.with_only_columns(Order.id).subquery())).scalar_one()
    rows = session.execute(base.order_by(Order.created_at.desc(), Order.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [{"order": o, "listing": lst, "buyer": b} for o, lst, b in rows], "total": total,
            "page": page, "per_page": per_page, "counts": counts, "all": sum(counted.values())}


def admin_detail(session, order_id: int) -> dict:
    """An order with its people, its full payment log in time order, the buyer's holds and the lot's close."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("order_not_found", "There is no such order.")
    listing = session.get(Listing, order.listing_id)
    holds = session.execute(select(CardHold).where(CardHold.user_id == order.buyer_id,
                                                   CardHold.listing_id == order.listing_id)
                            .order_by(CardHold.created_at, CardHold.id)).scalars().all()
    hold_ids = [h.id for h in holds]
    log = session.execute(select(PaymentRecord).where(or_(
        PaymentRecord.order_id == order.id,
        PaymentRecord.hold_id.in_(hold_ids) if hold_ids else false())).order_by(PaymentRecord.at, PaymentRecord.id)
    ).scalars().all()
    closed = session.execute(select(LotEvent).where(LotEvent.listing_id == listing.id, LotEvent.type == "lot_closed")
                             .order_by(LotEvent.seq.desc()).limit(1)).scalar_one_or_none()
    return {"order": order, "listing": listing, "buyer": session.get(User, order.buyer_id),
            "seller": session.get(User, order.seller_id) if order.seller_id else None,
            "winner": session.get(User, listing.winner_id) if listing.winner_id else None,
            "log": [{"record": r, "details": _details(r)} for r in log], "holds": holds,
            "closed_event": closed.payload if closed else None, "steps": steps_of(order),
            "refundable": order.status in REFUNDABLE, "transferred": order.transferred_at is not None,
            "handle_note": HANDLE_NOTE, "payout": payout_state(session, order)}


def _details(record: PaymentRecord) -> dict:
    """A payment record's details."""
    try:
        return json.loads(record.details_json or "{}")
    except ValueError:
        return {}
