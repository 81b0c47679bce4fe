"""Placing bids: one writer per lot, the bids that queue for it placed in one transaction
(group commit), events after commit."""
from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, func, or_, select, update
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
# How long a bid waits in its lot's line before giving up (it gives up only if no batch took it).
LINE_WAIT_SECONDS = 30.0


def chain_hash(prev_hash: str, seq: int, alias: str, amount_cents: int, at: str) -> str:
    """The bid history's hash (API.md): sha256 of prev|seq|alias|amount|at."""
    return hashlib.sha256(f"{prev_hash}|{seq}|{alias}|{amount_cents}|{at}".encode()).hexdigest()


@functools.cache
def _lot_read(whole: bool = False):
    """The statement `BiddingService._read` runs: the lot joined with its proxies, their bidders'
    aliases and the seller's, and the lot this bidder's key was first used on (NULL when unused,
    or when the key is NULL). Built once: building an ORM select costs more than running it.

    Unless `whole` (the read under the lock), only the proxies the early refusals depend on are
    joined: the two highest ranked (they set the price, so the minimum) and the bidder's own (its
    maximum). A hot lot has dozens of proxies and most of its bids are refused from this read.
    """
    bidder, seller = aliased(User), aliased(User)
    earlier = select(Bid.listing_id).where(Bid.bidder_id == bindparam("user_id"),
                                           Bid.idempotency_key == bindparam("key")).scalar_subquery()
    joined = ProxyBid.listing_id == Listing.id
    if not whole:
        # The engine's ranking (auctions._rank_key): highest maximum, then the earliest order.
        top_two = (select(ProxyBid.id).where(ProxyBid.listing_id == bindparam("lot_id"))
                   .order_by(ProxyBid.max_cents.desc(), ProxyBid.order).limit(2))
        joined = and_(joined, or_(ProxyBid.bidder_id == bindparam("user_id"), ProxyBid.id.in_(top_two)))
    return (select(Listing, ProxyBid.id, ProxyBid.bidder_id, ProxyBid.max_cents, ProxyBid.order,
                   bidder.alias, seller.alias, earlier)
            .outerjoin(ProxyBid, joined)
            .outerjoin(bidder, bidder.id == ProxyBid.bidder_id)
            .outerjoin(seller, seller.id == Listing.seller_id)
            .where(Listing.id == bindparam("lot_id"))
            .execution_options(populate_existing=True))  # a lot read before the lock is refreshed


def _lot_lock():
    """The statement that takes the lot's row lock (FOR UPDATE on PostgreSQL)."""
    return lock_for_update(select(Listing.id).where(Listing.id == bindparam("lot_id")))


@functools.cache
def _proxy_update():
    """The statement that raises bidders' stored maxima, one parameter set per proxy (built once,
    like `_lot_read`; on the table, not the ORM entity, so a list of parameter sets is one plain
    executemany)."""
    proxies = ProxyBid.__table__
    return (update(proxies).where(proxies.c.id == bindparam("proxy_id"))
            .values({proxies.c.max_cents: bindparam("new_max"), proxies.c.bid_order: bindparam("new_order"),
                     proxies.c.updated_at: bindparam("now")}))


def _audience(listing: Listing) -> tuple:
    """What the eligibility check reads from the lot: its kind, seller and audience."""
    return listing.kind, listing.seller_id, listing.eligibility


@dataclass
class ProxyRow:
    """A proxy as read for bidding: its columns only, no ORM object (a hot lot has dozens), except
    for one made in this transaction (`new`), which has no id until it is flushed."""

    id: int | None
    bidder_id: int
    max_cents: int
    order: int
    new: ProxyBid | None = None


@dataclass(frozen=True)
class Bidder:
    """Who bids, as the batch needs them: plain values, usable from any session."""

    id: int
    alias: str


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


@dataclass(eq=False)
class _Ask:
    """A bid that passed the early checks, waiting for its turn under the lot's lock."""

    bidder: Bidder
    amount: int
    key: str | None
    early: tuple | None  # the lot's kind, seller and audience as the early check saw them
    done: threading.Event = field(default_factory=lambda: threading.Event())
    lead: bool = False  # woken to lead the next batch rather than with an answer
    result: BidResult | None = None
    error: BaseException | None = None

    def answer(self) -> BidResult:
        """The bid's result, or its refusal raised."""
        if self.error is not None:
            raise self.error
        if self.result is None:  # never left so by a batch; refuse rather than answer nothing
            raise ServiceError("bid_not_placed", "Your bid was not placed; please try again.", 503)
        return self.result


class _Lines:
    """The bids of this process waiting for a lot's row lock, so that one transaction places many.

    A lot has a line while one of its bids (the leader) holds or waits for the lot's row lock. A
    bid that finds no line leads; bids arriving meanwhile wait in the line, holding no database
    connection. The leader, once it has the lock, takes everyone waiting into its batch; when its
    transaction ends it wakes the first bid that arrived since, which leads the next batch. So a
    hot lot's bids share the lock, the round trips and the commit instead of queueing on the row
    one transaction at a time, while a quiet lot's bid is a batch of one.
    """

    def __init__(self):
        self._guard = threading.Lock()  # held only for list operations, never across a switch
        self._waiting: dict[tuple, list[_Ask]] = {}

    def join(self, line: tuple, ask: _Ask) -> bool:
        """Queue `ask`; True if the line was idle, so `ask` leads at once."""
        with self._guard:
            waiting = self._waiting.get(line)
            if waiting is None:
                self._waiting[line] = []
                return True
            waiting.append(ask)
            return False

    def take(self, line: tuple) -> list[_Ask]:
        """Everyone waiting, into the leader's batch."""
        with self._guard:
            waiting, self._waiting[line] = self._waiting[line], []
            return waiting

    def leave(self, line: tuple, ask: _Ask) -> bool:
        """Take `ask` out of the line, unless a batch already took it (then it must wait)."""
        with self._guard:
            waiting = self._waiting.get(line)
            if waiting is not None and ask in waiting:
                waiting.remove(ask)
                return True
            return False

    def hand_over(self, line: tuple) -> None:
        """The leader is done: wake the first waiting bid to lead the next batch, or end the line."""
        with self._guard:
            waiting = self._waiting[line]
            if not waiting:
                del self._waiting[line]
                return
            leader = waiting.pop(0)
            leader.lead = True
        leader.done.set()


_LINES = _Lines()


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
        Without the lock only the proxies the early refusals need are read (see `_lot_read`).

        The lock is its own statement: a statement that waited for a row lock sees that row as
        committed by the transaction it waited for, but the rows it joins as they were when it
        started, so proxies written meanwhile would be missed. The read after it sees them all.
        """
        if lock and self.session.execute(_lot_lock(), {"lot_id": lot_id}).first() is None:
            return None
        rows = self.session.execute(_lot_read(whole=lock), {"lot_id": lot_id, "user_id": user.id, "key": key}).all()
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

    def _result(self, snap: LotSnapshot, user: Bidder, now, replayed=False) -> BidResult:
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
        the row. The rest join the lot's line (`_Lines`): the bids waiting for the lot's row lock
        in this process are placed together, in their order of arrival, in one transaction (see
        `_run`), each accepted or refused by the engine as if alone.
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

        result = self._queue(lot_id, _Ask(Bidder(user.id, user.alias), amount, key, early))
        crash_point("after_bid_commit")  # tests: committed, the bidder never hears
        return result

    def _queue(self, lot_id: int, ask: _Ask) -> BidResult:
        """Wait in the lot's line; lead a batch when it is this bid's turn; return its answer."""
        line = (id(self.session.get_bind()), lot_id)  # one line per lot and database
        if not _LINES.join(line, ask):
            self.session.rollback()  # wait holding no connection (the leader uses its own)
            if not ask.done.wait(LINE_WAIT_SECONDS) and _LINES.leave(line, ask):
                raise ServiceError("bid_busy", "The lot is too busy to take your bid just now; nothing was "
                                               "placed. Please try again.", 503)
            ask.done.wait()  # taken into a batch: its answer is coming
            if not ask.lead:
                return ask.answer()
        batch = [ask]
        try:
            self._run(lot_id, batch, line)
        finally:
            for other in batch[1:]:
                if other.result is None and other.error is None:  # the leader died mid-batch
                    other.error = ServiceError("bid_not_placed", "Your bid was not placed; please try again.", 503)
                other.done.set()
            _LINES.hand_over(line)
        return ask.answer()

    def _run(self, lot_id: int, batch: list[_Ask], line: tuple | None = None) -> None:
        """Place `batch` (and, given its `line`, every bid that waited while the lock was taken) in
        one transaction under the lot's row lock; set each bid's result or refusal after commit.

        A failure that is not a bid's own refusal (the database, a fault) rolls the batch back and
        each bid is tried again alone, so one bid never fails another.
        """
        try:
            with transaction(self.publisher):
                snap = self._read(lot_id, batch[0].bidder, batch[0].key, lock=True)
                if line is not None:
                    batch.extend(_LINES.take(line))
                if snap is None:
                    raise NotFound("lot_not_found", "There is no such lot.")
                answers = self._apply(snap, batch)
                crash_point("mid_bid")  # tests: rows written, not committed
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            for ask in batch:
                self._run(lot_id, [ask])
            return
        for ask, answer in answers:
            if isinstance(answer, BidResult):
                ask.result = answer
            else:
                ask.error = answer

    def _apply(self, snap: LotSnapshot, batch: list[_Ask]) -> list[tuple[_Ask, BidResult | ServiceError]]:
        """Run each bid of the batch through the engine in turn, write the accepted ones, tell the
        bidders left outbid at the end; the answers, each built from the state its bid left."""
        listing, proxies = snap.listing, snap.proxies
        for ask in batch:
            snap.alias_of.setdefault(ask.bidder.id, ask.bidder.alias)
        used = self._keys_used(snap, batch)
        state = auction_of(listing, proxies)
        raised: dict[int, tuple[int, int]] = {}  # proxy id -> its new maximum and order
        outbid: dict[int, int] = {}  # bidder -> the price that outbid them
        answers: list[tuple[_Ask, BidResult | ServiceError]] = []
        for ask in batch:
            # Time is read under the lock: the order of bids is the order they hold it.
            now = self.clock.now()
            try:
                state, answer = self._apply_one(snap, state, ask, used, raised, outbid, now)
            except ServiceError as exc:
                answer = exc
            answers.append((ask, answer))
        if raised:
            self.session.execute(_proxy_update(), [
                {"proxy_id": proxy_id, "new_max": new_max, "new_order": order, "now": now}
                for proxy_id, (new_max, order) in raised.items()])
        leader = state.leader
        for bidder_id, price in outbid.items():
            if leader is None or leader.bidder_id != bidder_id:  # outbid, then back in front: no notice
                notify(self.session, self.publisher, bidder_id, "outbid", now, lot_id=listing.id,
                       handle=listing.handle_display, amount_cents=price)
        return answers

    def _keys_used(self, snap: LotSnapshot, batch: list[_Ask]) -> dict[tuple[int, str], int]:
        """The lot each batched bid's idempotency key was first used on, where it was used before
        (the locked read answered for the first bid; one more statement asks for the others)."""
        first = batch[0]
        used = {}
        if first.key is not None and snap.earlier_lot is not None:
            used[(first.bidder.id, first.key)] = snap.earlier_lot
        pairs = {(ask.bidder.id, ask.key) for ask in batch[1:] if ask.key is not None}
        if pairs:
            rows = self.session.execute(select(Bid.bidder_id, Bid.idempotency_key, Bid.listing_id).where(
                or_(*(and_(Bid.bidder_id == bidder_id, Bid.idempotency_key == key) for bidder_id, key in pairs))))
            used.update({(bidder_id, key): lot for bidder_id, key, lot in rows})
        return used

    def _apply_one(self, snap: LotSnapshot, state, ask: _Ask, used: dict, raised: dict, outbid: dict, now):
        """One bid of a batch against the lot's state so far: the new state and the bid's answer."""
        listing, bidder = snap.listing, ask.bidder
        earlier = used.get((bidder.id, ask.key)) if ask.key is not None else None
        if earlier is not None:
            if earlier != listing.id:
                raise Conflict("idempotency_key_reused", "This idempotency key was used for another lot.")
            return state, self._result(snap, bidder, now, replayed=True)
        if listing.kind != ListingKind.AUCTION:
            raise ServiceError("wrong_kind", "This lot is not an auction; buy it at its price instead.", 422)
        if ask.early != _audience(listing):
            # The lot changed hands or audience since it was read (or was not checked then).
            self._check_eligible(self.session.get(User, bidder.id), listing)
        try:
            outcome = auctions.place_bid(state, bidder.id, ask.amount, now)
        except RuleViolation as exc:
            raise from_rule(exc) from None
        self._write(listing, snap.proxies, outcome.lot, bidder, now, raised)
        self._record(listing, bidder, ask.amount, ask.key, outcome.lot, outcome.events, now, snap.alias_of, outbid)
        if ask.key is not None:
            used[(bidder.id, ask.key)] = listing.id
        return outcome.lot, self._result(snap, bidder, now)

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

    def _write(self, listing: Listing, proxies: list[ProxyRow], after, bidder: Bidder, now, raised: dict) -> None:
        """Keep the bidder's new maximum (a new proxy is added to the session; a raised one is
        noted in `raised`, written in one statement for the batch) and the lot's new state."""
        new = next(p for p in after.proxies if p.bidder_id == bidder.id)
        row = next((p for p in proxies if p.bidder_id == bidder.id), None)
        if row is None:
            made = ProxyBid(listing_id=listing.id, bidder_id=bidder.id, max_cents=new.max_cents,
                            order=new.order, updated_at=now)
            self.session.add(made)
            proxies.append(ProxyRow(None, bidder.id, new.max_cents, new.order, made))
        else:
            if row.new is not None:  # made earlier in this batch
                row.new.max_cents, row.new.order, row.new.updated_at = new.max_cents, new.order, now
            else:
                raised[row.id] = (new.max_cents, new.order)
            row.max_cents, row.order = new.max_cents, new.order
        store_auction(listing, after)

    def _record(self, listing: Listing, user: Bidder, amount: int, key, after, events, now,
                alias_of: dict[int, str], outbid: dict[int, int]) -> None:
        """Append to the hash-chained history, keep and queue the events, note who was outbid
        (`outbid`: told once the batch is placed).

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
                outbid[event.bidder_id] = event.price_cents

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
