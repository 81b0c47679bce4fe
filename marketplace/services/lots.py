"""Translation between listing rows and the engine's lot states, and the public lot shape."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

import auctions
from auctions import Auction, DutchLot, FixedPriceLot, LotStatus, Proxy

from ..clock import iso
from ..errors import N_, Forbidden
from ..models import Eligibility, Listing, ListingKind, LotEvent, ProxyBid, User
from .organisations import standing_problem

# A winner who does not pay gets a strike; at this many, they may no longer bid or buy.
MAX_STRIKES = 3
# The refusals of check_may_take_part, whole sentences per verb so each translates as one.
OWN_LOT = {"bid on": N_("You cannot bid on your own lot."), "buy": N_("You cannot buy your own lot."),
           "make an offer on": N_("You cannot make an offer on your own lot.")}
LINKED_TO_SELLER = {"bid on": N_("Accounts linked to the seller cannot bid on this lot."),
                    "buy": N_("Accounts linked to the seller cannot buy this lot."),
                    "make an offer on": N_("Accounts linked to the seller cannot make an offer on this lot.")}


def check_may_take_part(session, user: User, listing: Listing, now: datetime, verb: str = "bid on") -> None:
    """Refuse sellers (and accounts linked to them), buyers outside the lot's audience, and
    buyers suspended for unpaid wins: they may not bid on, or buy, this lot."""
    if user.strikes >= MAX_STRIKES:
        raise Forbidden("buyer_suspended", "Your account may no longer bid or buy: %(strikes)s won lots went "
                                           "unpaid. Contact support to appeal.", strikes=user.strikes)
    if listing.seller_id is not None:
        if user.id == listing.seller_id:
            raise Forbidden("seller_cannot_bid", OWN_LOT[verb])
        seller = session.get(User, listing.seller_id)
        if seller and seller.linked_group and seller.linked_group == user.linked_group:
            raise Forbidden("seller_cannot_bid", LINKED_TO_SELLER[verb])
    if listing.eligibility == Eligibility.VERIFIED and not user.verified:
        raise Forbidden("not_eligible", "This lot is open to verified buyers only.")
    if listing.eligibility == Eligibility.ORGANISATIONS:
        problem = standing_problem(session, user, now)
        if problem is not None:
            raise Forbidden("not_eligible", "This lot is open to verified organisations only. %(reason)s",
                                            reason=problem.message)
    if listing.eligibility == Eligibility.BACKORDERERS:
        from ..models import Backorder
        if session.execute(select(Backorder.id).where(Backorder.user_id == user.id,
                                                      Backorder.handle_name == listing.handle_name)).first() is None:
            raise Forbidden("not_eligible", "This lot is open only to those who backordered the handle.")


def auction_of(listing: Listing, proxies: Iterable[ProxyBid]) -> Auction:
    """The engine state of an auction listing."""
    return Auction(
        start_price_cents=listing.start_price_cents,
        starts_at=listing.starts_at,
        ends_at=listing.ends_at,
        reserve_cents=listing.reserve_cents,
        buy_now_price_cents=listing.buy_now_price_cents,
        soft_close_seconds=listing.soft_close_seconds,
        seller_id=listing.seller_id,
        closed_status=LotStatus(listing.closed_status) if listing.closed_status else None,
        proxies=tuple(Proxy(p.bidder_id, p.max_cents, p.order) for p in sorted(proxies, key=lambda p: p.order)),
        bid_count=listing.bid_count,
        next_order=listing.next_order,
    )


def fixed_of(listing: Listing) -> FixedPriceLot:
    """The engine state of a fixed-price listing."""
    return FixedPriceLot(
        price_cents=listing.start_price_cents,
        starts_at=listing.starts_at,
        ends_at=listing.ends_at,
        seller_id=listing.seller_id,
        closed_status=LotStatus(listing.closed_status) if listing.closed_status else None,
        hold_buyer_id=listing.hold_buyer_id,
        hold_until=listing.hold_until,
    )


def dutch_of(listing: Listing) -> DutchLot:
    """The engine state of a Dutch listing."""
    return DutchLot(
        start_price_cents=listing.start_price_cents,
        floor_price_cents=listing.floor_price_cents,
        half_life_seconds=listing.half_life_seconds,
        starts_at=listing.starts_at,
        ends_at=listing.ends_at,
        seller_id=listing.seller_id,
        closed_status=LotStatus(listing.closed_status) if listing.closed_status else None,
    )


def hold_for_checkout(session, publisher, listing: Listing, buyer_id: int, now: datetime,
                      hold_seconds: int = auctions.HOLD_SECONDS) -> None:
    """Hold a fixed-price lot for a buyer's checkout (the engine's rule; raises RuleViolation),
    and tell every watcher it is held and until when (`lot_held`)."""
    outcome = auctions.start_checkout(fixed_of(listing), buyer_id, now, hold_seconds)
    listing.hold_buyer_id, listing.hold_until = outcome.lot.hold_buyer_id, outcome.lot.hold_until
    if any(isinstance(event, auctions.HoldPlaced) for event in outcome.events):
        record_event(session, publisher, listing, "lot_held", {"held_until": iso(listing.hold_until)}, now)


def engine_lot(listing: Listing, proxies: Iterable[ProxyBid] = ()):
    """The engine state of any listing."""
    if listing.kind == ListingKind.AUCTION:
        return auction_of(listing, proxies)
    if listing.kind == ListingKind.FIXED:
        return fixed_of(listing)
    return dutch_of(listing)


def store_auction(listing: Listing, auction: Auction) -> None:
    """Write an auction's new engine state back onto its row (proxies are written separately)."""
    listing.ends_at = auction.ends_at
    listing.bid_count = auction.bid_count
    listing.next_order = auction.next_order
    listing.current_price_cents = auction.current_price_cents
    leader = auction.leader
    listing.leader_id = leader.bidder_id if leader else None
    listing.closed_status = auction.closed_status.value if auction.closed_status else None


def proxies_by_listing(session, listing_ids: list[int]) -> dict[int, list[ProxyBid]]:
    """Load the proxies of several auctions in one query."""
    found: dict[int, list[ProxyBid]] = {i: [] for i in listing_ids}
    if listing_ids:
        rows = session.execute(select(ProxyBid).where(ProxyBid.listing_id.in_(listing_ids))).scalars()
        for row in rows:
            found[row.listing_id].append(row)
    return found


def aliases(session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Public aliases of several users in one query."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.alias).where(User.id.in_(ids))).all())


def lot_view(listing: Listing, lot, now: datetime, alias_of: dict[int, str], admin: bool = False) -> dict:
    """The public shape of a lot (API.md), computed from its engine state at `now`."""
    status = lot.status(now)
    view = {
        "id": listing.id,
        "handle": listing.handle_display,
        "kind": listing.kind,
        "status": status.value,
        "seller": "platform" if listing.seller_id is None else alias_of.get(listing.seller_id, "seller"),
        "eligibility": listing.eligibility,
        "bid_count": 0,
        "leader_alias": None,
        "min_next_bid_cents": None,
        "buy_now_price_cents": None,
        "starts_at": iso(listing.starts_at),
        "ends_at": iso(listing.ends_at),
        "soft_close_seconds": listing.soft_close_seconds if listing.kind == ListingKind.AUCTION else None,
        "seq": listing.seq,
        "server_time": iso(now),
    }
    if isinstance(lot, Auction):
        leader = lot.leader
        view.update(
            current_price_cents=lot.current_price_cents,
            min_next_bid_cents=auctions.min_next_bid(lot),
            bid_count=lot.bid_count,
            leader_alias=alias_of.get(leader.bidder_id) if leader else None,
            buy_now_price_cents=lot.buy_now_price_cents if lot.bid_count == 0 else None,
            start_price_cents=lot.start_price_cents,
        )
        if lot.reserve_cents is not None:
            view["reserve_met"] = bool(lot.reserve_met)
            if admin:
                view["reserve_cents"] = lot.reserve_cents
    elif isinstance(lot, FixedPriceLot):
        view["current_price_cents"] = lot.price_cents
        held = lot.hold_buyer_id is not None and lot.hold_until is not None and lot.hold_until > now
        view["held_until"] = iso(lot.hold_until) if held else None
    else:
        view.update(
            current_price_cents=auctions.price_at(lot, now),
            start_price_cents=lot.start_price_cents,
            floor_price_cents=lot.floor_price_cents,
            half_life_seconds=lot.half_life_seconds,
            next_drop_at=iso(auctions.next_drop_at(lot, now)),
        )
    if listing.closed_status:
        view["winner_alias"] = alias_of.get(listing.winner_id) if listing.winner_id else None
        view["final_price_cents"] = listing.final_price_cents
    return view


def record_event(session, publisher, listing: Listing, event_type: str, payload: dict, now: datetime) -> dict:
    """Give an event the lot's next seq, keep it for catch-up, and queue it for broadcast."""
    listing.seq += 1
    body = {"lot_id": listing.id, "seq": listing.seq, **payload}
    session.add(LotEvent(listing_id=listing.id, seq=listing.seq, type=event_type,
                         payload_json=json.dumps(body), created_at=now))
    publisher.to_lot(listing.id, event_type, body)
    return body
