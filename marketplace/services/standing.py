"""Where the signed-in viewer stands on a lot: what the lot page tells them on load, and the
socket's `lot_state` keeps current (the page also follows each event in between).

One rule for the page, the socket and the API: leading (and whether their maximum meets the
reserve), outbid (and the next bid), won or bought (with the order's receipt), a payment they
must make, their own lot, their checkout in progress, or nothing for a lot they have not touched.
"""
from __future__ import annotations

from sqlalchemy import select

from ..clock import iso
from ..models import Listing, ListingKind, Order, OrderStatus, ProxyBid

# Orders a buyer won in bidding (the others were bought at a price).
WON_SOURCES = ("auction", "second_chance")


def standing(session, user, listing: Listing, view: dict) -> dict | None:
    """The viewer's standing on the lot (`view` is its public shape now), or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if listing.seller_id is not None and listing.seller_id == user.id:
        return {"state": "seller"}
    order = session.execute(select(Order).where(Order.listing_id == listing.id, Order.buyer_id == user.id)
                            .order_by(Order.id.desc()).limit(1)).scalar_one_or_none()
    if order is not None and order.status == OrderStatus.OFFERED:
        return _with_order({"state": "second_chance", "amount_cents": order.amount_cents}, order)
    if order is not None and order.status == OrderStatus.ACTION_REQUIRED:
        # Won or bought, but the card could not be charged: the buyer pays in the browser.
        return _with_order({"state": "payment_needed", "amount_cents": order.amount_cents}, order)
    if listing.closed_status and listing.winner_id == user.id:
        won = order is None or order.source in WON_SOURCES
        return _with_order({"state": "won" if won else "bought", "amount_cents": listing.final_price_cents}, order)
    if listing.kind == ListingKind.FIXED:
        if view.get("held_until") and listing.hold_buyer_id == user.id:
            return _with_order({"state": "checking_out", "held_until": view["held_until"]}, order)
        return None
    if listing.kind != ListingKind.AUCTION:
        return None
    proxy = session.execute(select(ProxyBid.max_cents).where(
        ProxyBid.listing_id == listing.id, ProxyBid.bidder_id == user.id)).scalar_one_or_none()
    if proxy is None:
        return None
    if listing.closed_status:
        return {"state": "lost", "your_max_cents": proxy, "amount_cents": listing.final_price_cents}
    if listing.leader_id == user.id:
        state = "below_reserve" if view.get("reserve_met") is False else "leading"
        return {"state": state, "your_max_cents": proxy}
    return {"state": "outbid", "your_max_cents": proxy, "min_next_bid_cents": view.get("min_next_bid_cents")}


def _with_order(body: dict, order: Order | None) -> dict:
    """The standing with the order it leads to (to pay, or its receipt)."""
    if order is not None:
        body.update(order_id=order.id, order_status=order.status, pay_by=iso(order.pay_by))
    return body


def my_order_id(session, user, lot_id: int) -> int | None:
    """The user's latest order for a lot, as its buyer (None when they have none)."""
    return session.execute(select(Order.id).where(Order.listing_id == lot_id, Order.buyer_id == user.id)
                           .order_by(Order.id.desc()).limit(1)).scalar_one_or_none()
