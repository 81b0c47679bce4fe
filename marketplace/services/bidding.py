"""Placing bids: one transaction per bid, one writer per lot, events after commit."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

import auctions
from auctions import BidAccepted, Extended, Outbid, RuleViolation

from ..clock import iso
from ..db import lock_for_update, transaction
from ..faults import crash_point
from ..errors import BadRequest, Conflict, NotFound, ServiceError, from_rule
from ..models import Bid, CardHold, Listing, ListingKind, ProxyBid, User
from .lots import aliases, auction_of, check_may_take_part, lot_view, record_event, store_auction
from .notices import notify

GENESIS_HASH = "0" * 64
MAX_KEY_LENGTH = 100


def chain_hash(prev_hash: str, seq: int, alias: str, amount_cents: int, at: str) -> str:
    """The bid history's hash (API.md): sha256 of prev|seq|alias|amount|at."""
    return hashlib.sha256(f"{prev_hash}|{seq}|{alias}|{amount_cents}|{at}".encode()).hexdigest()


@dataclass
class BidResult:
    """What a bidder learns after bidding: the lot, their maximum, and whether they lead."""

    lot: dict
    your_max_cents: int
    leading: bool
    replayed: bool = False

    def to_dict(self) -> dict:
        """The API's answer."""
        return {"lot": self.lot, "your_max_cents": self.your_max_cents, "leading": self.leading}


class BiddingService:
    """Accepts or refuses bids on auctions."""

    def __init__(self, session, clock, publisher, holds=None):
        self.session = session
        self.clock = clock
        self.publisher = publisher
        self.holds = holds  # HoldService; None where bids are not card-backed (rule tests)

    def _check_eligible(self, user: User, listing: Listing) -> None:
        """Sellers, accounts linked to them, users outside the lot's audience and suspended
        buyers may not bid."""
        check_may_take_part(self.session, user, listing, self.clock.now())

    def _result(self, listing: Listing, proxies: list[ProxyBid], user: User, replayed=False) -> BidResult:
        """Answer for the bidder from the lot's state."""
        lot = auction_of(listing, proxies)
        users = aliases(self.session, [p.bidder_id for p in proxies] + [listing.seller_id])
        mine = next((p.max_cents for p in proxies if p.bidder_id == user.id), 0)
        leader = lot.leader
        return BidResult(lot_view(listing, lot, self.clock.now(), users), mine,
                         bool(leader and leader.bidder_id == user.id), replayed)

    def place(self, user: User, lot_id: object, max_amount_cents: object, key: object = None) -> BidResult:
        """Place (or raise) a proxy maximum on an auction."""
        if isinstance(lot_id, bool) or not isinstance(lot_id, int):
            raise NotFound("lot_not_found", "There is no such lot.")
        try:
            amount = auctions.check_amount(max_amount_cents)
        except RuleViolation as exc:
            raise BadRequest("invalid_amount", exc.message) from None
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH):
            raise BadRequest("invalid_key", f"The idempotency key must be text of 1 to {MAX_KEY_LENGTH} characters.")

        if self.holds is not None and amount > self.holds.covered(user.id, lot_id):
            # The card is authorised before the lock, so the hot path never waits on Stripe; a bid
            # the rules would refuse anyway is refused first, without touching the card.
            self._precheck(user, lot_id, amount, key)
            self.holds.ensure(user, lot_id, amount, key)

        with transaction(self.publisher):
            listing = self.session.execute(
                lock_for_update(select(Listing).where(Listing.id == lot_id))).scalar_one_or_none()
            if listing is None:
                raise NotFound("lot_not_found", "There is no such lot.")
            # Time is read under the lock: the order of bids is the order they hold it.
            now = self.clock.now()
            proxies = list(self.session.execute(
                select(ProxyBid).where(ProxyBid.listing_id == listing.id)).scalars())
            if key is not None:
                earlier = self.session.execute(
                    select(Bid).where(Bid.bidder_id == user.id, Bid.idempotency_key == key)).scalar_one_or_none()
                if earlier is not None:
                    if earlier.listing_id != listing.id:
                        raise Conflict("idempotency_key_reused", "This idempotency key was used for another lot.")
                    return self._result(listing, proxies, user, replayed=True)
            if listing.kind != ListingKind.AUCTION:
                raise ServiceError("wrong_kind", "This lot is not an auction; buy it at its price instead.", 422)
            self._check_eligible(user, listing)
            before = auction_of(listing, proxies)
            try:
                outcome = auctions.place_bid(before, user.id, amount, now)
            except RuleViolation as exc:
                raise from_rule(exc) from None
            after = outcome.lot
            self._write(listing, proxies, after, user, now)
            self._record(listing, user, amount, key, after, outcome.events, now)
            result = self._result(listing, proxies, user)  # under the lock: after commit, others' bids interleave
            crash_point("mid_bid")  # tests: rows written, not committed
        crash_point("after_bid_commit")  # tests: committed, the bidder never hears
        return result

    def _precheck(self, user: User, lot_id: int, amount: int, key) -> None:
        """Refuse, without a lock, a bid the rules would refuse (a retry with a used key passes)."""
        listing = self.session.get(Listing, lot_id)
        if listing is None:
            raise NotFound("lot_not_found", "There is no such lot.")
        if key is not None and self.session.execute(select(Bid.id).where(
                Bid.bidder_id == user.id, Bid.idempotency_key == key)).first():
            return
        if listing.kind != ListingKind.AUCTION:
            raise ServiceError("wrong_kind", "This lot is not an auction; buy it at its price instead.", 422)
        self._check_eligible(user, listing)
        proxies = self.session.execute(select(ProxyBid).where(ProxyBid.listing_id == lot_id)).scalars().all()
        try:
            auctions.place_bid(auction_of(listing, proxies), user.id, amount, self.clock.now())
        except RuleViolation as exc:
            raise from_rule(exc) from None
        finally:
            self.session.rollback()  # end the read; the real bid reads again under the lock

    def _write(self, listing: Listing, proxies: list[ProxyBid], after, user: User, now) -> None:
        """Store the bidder's new maximum and the lot's new state."""
        new = next(p for p in after.proxies if p.bidder_id == user.id)
        row = next((p for p in proxies if p.bidder_id == user.id), None)
        if row is None:
            row = ProxyBid(listing_id=listing.id, bidder_id=user.id)
            self.session.add(row)
            proxies.append(row)
        row.max_cents, row.order, row.updated_at = new.max_cents, new.order, now
        store_auction(listing, after)

    def _record(self, listing: Listing, user: User, amount: int, key, after, events, now) -> None:
        """Append to the hash-chained history, keep and queue the events, notify the outbid."""
        at = iso(now)
        leader_id = after.leader.bidder_id
        leader_alias = user.alias if leader_id == user.id else aliases(self.session, [leader_id])[leader_id]
        for event in events:
            if isinstance(event, BidAccepted):
                body = record_event(self.session, self.publisher, listing, "bid_placed", {
                    "amount_cents": event.price_cents, "alias": user.alias, "bid_count": listing.bid_count,
                    "ends_at": iso(listing.ends_at), "reserve_met": event.reserve_met,
                    "leader_alias": leader_alias, "min_next_bid_cents": auctions.min_next_bid(after),
                    "current_price_cents": event.price_cents, "at": at}, now)
                prev = self.session.execute(
                    select(Bid.hash).where(Bid.listing_id == listing.id).order_by(Bid.seq.desc()).limit(1)
                ).scalar_one_or_none() or GENESIS_HASH
                self.session.add(Bid(
                    listing_id=listing.id, seq=body["seq"], bidder_id=user.id, alias=user.alias,
                    max_cents=amount, amount_cents=event.price_cents, at=now, prev_hash=prev,
                    hash=chain_hash(prev, body["seq"], user.alias, event.price_cents, at),
                    idempotency_key=key))
            elif isinstance(event, Extended):
                record_event(self.session, self.publisher, listing, "lot_extended",
                             {"ends_at": iso(event.ends_at)}, now)
            elif isinstance(event, Outbid):
                notify(self.session, self.publisher, event.bidder_id, "outbid", now, lot_id=listing.id,
                       handle=listing.handle_display, amount_cents=event.price_cents)

    # ---- reading -------------------------------------------------------------------------
    def history(self, lot_id: int, page: int = 1, per_page: int = 50) -> dict:
        """A page of the lot's public bid history, newest first, with its hash chain."""
        total = self.session.execute(
            select(func.count()).select_from(Bid).where(Bid.listing_id == lot_id)).scalar_one()
        rows = self.session.execute(
            select(Bid).where(Bid.listing_id == lot_id).order_by(Bid.seq.desc())
            .offset((page - 1) * per_page).limit(per_page)).scalars()
        items = [{"seq": b.seq, "alias": b.alias, "amount_cents": b.amount_cents, "at": iso(b.at),
                  "hash": b.hash, "prev_hash": b.prev_hash} for b in rows]
        return {"items": items, "page": page, "per_page": per_page, "total": total}

    def _latest_holds(self, user_id: int, listing_ids: list[int]) -> dict[int, dict]:
        """Per lot, the user's newest card authorisation: held, released, captured or failed."""
        if not listing_ids:
            return {}
        latest = {}
        for hold in self.session.execute(select(CardHold).where(
                CardHold.user_id == user_id, CardHold.listing_id.in_(listing_ids)).order_by(CardHold.id)).scalars():
            latest[hold.listing_id] = {"id": hold.id, "status": hold.status, "amount_cents": hold.amount_cents}
        return latest

    def my_bids(self, user: User, page: int = 1, per_page: int = 50) -> dict:
        """The lots a user bid on, with their maximum and whether they lead."""
        from .listings import ListingService

        base = select(ProxyBid).where(ProxyBid.bidder_id == user.id)
        total = self.session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        mine = list(self.session.execute(
            base.order_by(ProxyBid.updated_at.desc()).offset((page - 1) * per_page).limit(per_page)).scalars())
        listings = {lst.id: lst for lst in self.session.execute(
            select(Listing).where(Listing.id.in_([p.listing_id for p in mine]))).scalars()}
        views = {view["id"]: view for view in ListingService(self.session, self.clock, self.publisher).views(
            list(listings.values()))}
        holds = self._latest_holds(user.id, list(listings))
        items = [{"lot": views[p.listing_id], "your_max_cents": p.max_cents,
                  "leading": listings[p.listing_id].leader_id == user.id,
                  "card_hold": holds.get(p.listing_id)} for p in mine]
        return {"items": items, "page": page, "per_page": per_page, "total": total}
