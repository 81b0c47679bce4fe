"""Placing bids: one transaction per bid, one writer per lot, events after commit."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import aliased

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
# Engine refusals that stay true as the lot moves on (the price and every maximum only rise), so
# a read without the lock may give them.
RISING_REFUSALS = frozenset({"below_minimum", "not_above_own_max"})


def chain_hash(prev_hash: str, seq: int, alias: str, amount_cents: int, at: str) -> str:
    """The bid history's hash (API.md): sha256 of prev|seq|alias|amount|at."""
    return hashlib.sha256(f"{prev_hash}|{seq}|{alias}|{amount_cents}|{at}".encode()).hexdigest()


@functools.cache
def _lot_read():
    """The statement `BiddingService._read` runs: the lot joined with its proxies, their bidders'
    aliases and the seller's, and the lot this bidder's key was first used on (NULL when unused,
    or when the key is NULL). Built once: building an ORM select costs more than running it."""
    bidder, seller = aliased(User), aliased(User)
    earlier = select(Bid.listing_id).where(Bid.bidder_id == bindparam("user_id"),
                                           Bid.idempotency_key == bindparam("key")).scalar_subquery()
    return (select(Listing, ProxyBid.id, ProxyBid.bidder_id, ProxyBid.max_cents, ProxyBid.order,
                   bidder.alias, seller.alias, earlier)
            .outerjoin(ProxyBid, ProxyBid.listing_id == Listing.id)
            .outerjoin(bidder, bidder.id == ProxyBid.bidder_id)
            .outerjoin(seller, seller.id == Listing.seller_id)
            .where(Listing.id == bindparam("lot_id"))
            .execution_options(populate_existing=True))  # a lot read before the lock is refreshed


def _lot_lock():
    """The statement that takes the lot's row lock (FOR UPDATE on PostgreSQL)."""
    return lock_for_update(select(Listing.id).where(Listing.id == bindparam("lot_id")))


@functools.cache
def _proxy_update():
    """The statement that raises a bidder's stored maximum (built once, like `_lot_read`)."""
    return (update(ProxyBid).where(ProxyBid.id == bindparam("proxy_id"))
            .values(max_cents=bindparam("new_max"), order=bindparam("new_order"), updated_at=bindparam("now"))
            .execution_options(synchronize_session=False))


def _audience(listing: Listing) -> tuple:
    """What the eligibility check reads from the lot: its kind, seller and audience."""
    return listing.kind, listing.seller_id, listing.eligibility


@dataclass
class ProxyRow:
    """A proxy as read for bidding: its columns only, no ORM object (a hot lot has dozens)."""

    id: int | None
    bidder_id: int
    max_cents: int
    order: int


@dataclass
class LotSnapshot:
    """A lot as one statement read it: the row, its proxies, the aliases of its bidders and seller,
    and the lot the bidder's idempotency key was first used on (None if unused)."""

    listing: Listing
    proxies: list[ProxyRow]
    alias_of: dict[int, str]
    earlier_lot: int | None


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

    def _read(self, lot_id: int, user: User, key: str | None, lock: bool = False) -> LotSnapshot | None:
        """The lot, its proxies, its bidders' and seller's aliases and the lot this bidder's
        idempotency key was first used on, in one statement; `lock` first takes the lot's row lock.

        The lock is its own statement: a statement that waited for a row lock sees that row as
        committed by the transaction it waited for, but the rows it joins as they were when it
        started, so proxies written meanwhile would be missed. The read after it sees them all.
        """
        if lock and self.session.execute(_lot_lock(), {"lot_id": lot_id}).first() is None:
            return None
        rows = self.session.execute(_lot_read(), {"lot_id": lot_id, "user_id": user.id, "key": key}).all()
        if not rows:
            return None
        listing, seller_alias, earlier_lot = rows[0][0], rows[0][6], rows[0][7]
        alias_of = {user.id: user.alias}
        if listing.seller_id is not None and seller_alias is not None:
            alias_of[listing.seller_id] = seller_alias
        proxies = []
        for _, proxy_id, bidder_id, max_cents, order, alias, _, _ in rows:
            if proxy_id is not None:
                proxies.append(ProxyRow(proxy_id, bidder_id, max_cents, order))
                alias_of[bidder_id] = alias
        return LotSnapshot(listing, proxies, alias_of, earlier_lot)

    def _result(self, snap: LotSnapshot, user: User, now, replayed=False) -> BidResult:
        """Answer for the bidder from the lot's state (no query unless a name is missing)."""
        listing, proxies = snap.listing, snap.proxies
        lot = auction_of(listing, proxies)
        wanted = {p.bidder_id for p in proxies} | {listing.seller_id, listing.winner_id}
        missing = [i for i in wanted if i is not None and i not in snap.alias_of]
        if missing:
            snap.alias_of.update(aliases(self.session, missing))
        mine = next((p.max_cents for p in proxies if p.bidder_id == user.id), 0)
        leader = lot.leader
        return BidResult(lot_view(listing, lot, now, snap.alias_of), mine,
                         bool(leader and leader.bidder_id == user.id), replayed)

    def place(self, user: User, lot_id: object, max_amount_cents: object, key: object = None) -> BidResult:
        """Place (or raise) a proxy maximum on an auction.

        The lot is read once without a lock, and a bid that read already refuses is refused there
        (see `_check_early`): on a hot lot most bids name a stale minimum, and they never queue for
        the row. The rest lock the row, read the lot again (one statement: the row, proxies, aliases
        and the idempotency key), run the engine and write; no other statement runs under the lock
        and the answer is built from memory, so the lock is held for two reads, the writes (one
        statement per row) and the commit.
        """
        if isinstance(lot_id, bool) or not isinstance(lot_id, int):
            raise NotFound("lot_not_found", "There is no such lot.")
        try:
            amount = auctions.check_amount(max_amount_cents)
        except RuleViolation as exc:
            raise BadRequest("invalid_amount", exc.message) from None
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH):
            raise BadRequest("invalid_key", f"The idempotency key must be text of 1 to {MAX_KEY_LENGTH} characters.")

        # The card is authorised before the lock, so the hot path never waits on Stripe; a bid the
        # rules would refuse anyway is refused first, without touching the card.
        needs_hold = self.holds is not None and amount > self.holds.covered(user.id, lot_id)
        early = self._check_early(user, amount, self._read(lot_id, user, key), every_rule=needs_hold)
        if needs_hold:
            self.session.rollback()  # end the read; the real bid reads again under the lock
            self.holds.ensure(user, lot_id, amount, key)

        with transaction(self.publisher):
            snap = self._read(lot_id, user, key, lock=True)
            if snap is None:
                raise NotFound("lot_not_found", "There is no such lot.")
            listing, proxies = snap.listing, snap.proxies
            # Time is read under the lock: the order of bids is the order they hold it.
            now = self.clock.now()
            if snap.earlier_lot is not None:
                if snap.earlier_lot != listing.id:
                    raise Conflict("idempotency_key_reused", "This idempotency key was used for another lot.")
                return self._result(snap, user, now, replayed=True)
            if listing.kind != ListingKind.AUCTION:
                raise ServiceError("wrong_kind", "This lot is not an auction; buy it at its price instead.", 422)
            if early != _audience(listing):
                self._check_eligible(user, listing)  # the lot changed hands or audience since it was read
            before = auction_of(listing, proxies)
            try:
                outcome = auctions.place_bid(before, user.id, amount, now)
            except RuleViolation as exc:
                raise from_rule(exc) from None
            after = outcome.lot
            self._write(listing, proxies, after, user, now)
            self._record(listing, user, amount, key, after, outcome.events, now, snap.alias_of)
            # Built from memory before the commit, which expires the rows: this is the state the
            # bid left, whatever others bid after it.
            result = self._result(snap, user, now)
            crash_point("mid_bid")  # tests: rows written, not committed
        crash_point("after_bid_commit")  # tests: committed, the bidder never hears
        return result

    def _check_early(self, user: User, amount: int, snap: LotSnapshot | None, every_rule: bool) -> tuple | None:
        """Refuse, from a read without the lock, what the locked read would refuse too; return the
        lot's kind, seller and audience as checked (None when the checks were left to the lock).

        Refused here: no such lot, not an auction, a bidder who may not take part, and the engine's
        `below_minimum` and `not_above_own_max`. Those two hold under every later state: the price
        and each bidder's maximum only rise while a lot runs. Other engine refusals (not live yet,
        ended) wait for the lock unless `every_rule` (a card hold is about to be taken). A retry
        (its key already used) is left to the lock, which answers it as before.
        """
        if snap is None:
            raise NotFound("lot_not_found", "There is no such lot.")
        if snap.earlier_lot is not None:
            return None
        listing = snap.listing
        if listing.kind != ListingKind.AUCTION:
            raise ServiceError("wrong_kind", "This lot is not an auction; buy it at its price instead.", 422)
        self._check_eligible(user, listing)
        try:
            auctions.place_bid(auction_of(listing, snap.proxies), user.id, amount, self.clock.now())
        except RuleViolation as exc:
            if every_rule or exc.code in RISING_REFUSALS:
                raise from_rule(exc) from None
        return _audience(listing)

    def _write(self, listing: Listing, proxies: list[ProxyRow], after, user: User, now) -> None:
        """Store the bidder's new maximum and the lot's new state (`proxies` follows)."""
        new = next(p for p in after.proxies if p.bidder_id == user.id)
        row = next((p for p in proxies if p.bidder_id == user.id), None)
        if row is None:
            self.session.add(ProxyBid(listing_id=listing.id, bidder_id=user.id, max_cents=new.max_cents,
                                      order=new.order, updated_at=now))
            proxies.append(ProxyRow(None, user.id, new.max_cents, new.order))
        else:
            # Before the lot changes in the session, so the autoflush this statement runs has nothing to write.
            self.session.execute(_proxy_update(), {"proxy_id": row.id, "new_max": new.max_cents,
                                                   "new_order": new.order, "now": now})
            row.max_cents, row.order = new.max_cents, new.order
        store_auction(listing, after)

    def _record(self, listing: Listing, user: User, amount: int, key, after, events, now,
                alias_of: dict[int, str]) -> None:
        """Append to the hash-chained history, keep and queue the events, notify the outbid.

        The chain's head is the lot's `last_bid_hash`, read with the locked row, so no statement
        reads the last bid.
        """
        at = iso(now)
        leader_id = after.leader.bidder_id
        leader_alias = alias_of.get(leader_id) or aliases(self.session, [leader_id])[leader_id]
        for event in events:
            if isinstance(event, BidAccepted):
                body = record_event(self.session, self.publisher, listing, "bid_placed", {
                    "amount_cents": event.price_cents, "alias": user.alias, "bid_count": listing.bid_count,
                    "ends_at": iso(listing.ends_at), "reserve_met": event.reserve_met,
                    "leader_alias": leader_alias, "min_next_bid_cents": auctions.min_next_bid(after),
                    "current_price_cents": event.price_cents, "at": at}, now)
                prev = listing.last_bid_hash or GENESIS_HASH
                listing.last_bid_hash = chain_hash(prev, body["seq"], user.alias, event.price_cents, at)
                self.session.add(Bid(
                    listing_id=listing.id, seq=body["seq"], bidder_id=user.id, alias=user.alias,
                    max_cents=amount, amount_cents=event.price_cents, at=now, prev_hash=prev,
                    hash=listing.last_bid_hash, idempotency_key=key))
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

    def price_points(self, lot_id: int, limit: int = 500) -> list[dict]:
        """The lot's latest accepted bids, oldest first, as points for its price chart: when each
        bid came and the price it moved the lot to."""
        rows = self.session.execute(
            select(Bid.seq, Bid.at, Bid.amount_cents).where(Bid.listing_id == lot_id)
            .order_by(Bid.seq.desc()).limit(limit)).all()
        return [{"seq": seq, "at": iso(at), "amount_cents": amount} for seq, at, amount in reversed(rows)]

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
