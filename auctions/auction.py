"""Timed auctions with proxy bidding, reserve, buy-now and soft close (DESIGN.md section 4).

The state is an immutable `Auction`; each command returns an `Outcome` with the new state and the
events that happened, or raises `RuleViolation` having changed nothing. The current price and the
leader are never stored: they are derived from the start price, the reserve and the proxies, so
replaying the same accepted bids always gives the same lot.

Decisions the design left open:
- Price: the start price with one bidder; with two or more, the runner-up's maximum plus the
  increment at that maximum, capped at the leader's maximum; never below the start price; at
  least the reserve once the leader's maximum reaches it.
- A bidder who raises their maximum gets a new `order`: the raise was made now, so an equal
  maximum set earlier by someone else keeps the lead.
- Raising one's own maximum as leader leaves the price alone, with two exceptions that follow from
  deriving it: crossing the reserve lifts it to the reserve, and a leader whose old maximum capped
  the price (a near tie with the runner-up) moves to the price a single bid of the new maximum
  would have given.
- `status(now)` reads ENDED once the end time has passed, even before `close` runs; `is_due(now)`
  says whether the lot still needs closing.
- A purchase by buy-now emits only `Purchased`; it means the lot is sold and closed.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .common import Outcome
from .errors import N_, RuleViolation
from .events import BidAccepted, Closed, Extended, Outbid, Purchased
from .money import check_amount, increment_for
from .status import LotStatus


@dataclass(frozen=True)
class Proxy:
    """One bidder's standing maximum; lower `order` was set earlier and wins ties on `max_cents`."""

    bidder_id: int
    max_cents: int
    order: int


def _rank_key(proxy: Proxy) -> tuple[int, int]:
    return (-proxy.max_cents, proxy.order)


@dataclass(frozen=True)
class Auction:
    """An auction's state; `closed_status` is None until it closes, sells or is cancelled."""

    start_price_cents: int
    starts_at: datetime
    ends_at: datetime
    reserve_cents: int | None = None
    buy_now_price_cents: int | None = None
    soft_close_seconds: int = 300
    seller_id: int | None = None  # None: the platform sells
    closed_status: LotStatus | None = None
    proxies: tuple[Proxy, ...] = ()  # one per bidder, in the order they were last set
    bid_count: int = 0  # accepted bids, including ones later voided: it matches the public history
    next_order: int = 1

    def __post_init__(self):
        check_amount(self.start_price_cents)
        if self.reserve_cents is not None:
            check_amount(self.reserve_cents)
        if self.buy_now_price_cents is not None:
            check_amount(self.buy_now_price_cents)
        if not self.ends_at > self.starts_at:
            raise RuleViolation("invalid_lot", N_("The end time must be after the start time."))
        if (
            isinstance(self.soft_close_seconds, bool)
            or not isinstance(self.soft_close_seconds, int)
            or self.soft_close_seconds < 0
        ):
            raise RuleViolation("invalid_lot", N_("The soft close must be zero or more whole seconds."))
        bidders = {p.bidder_id for p in self.proxies}
        if len(bidders) != len(self.proxies):
            raise RuleViolation("invalid_lot", N_("Each bidder may have only one maximum on a lot."))
        if any(p.order >= self.next_order for p in self.proxies):
            raise RuleViolation("invalid_lot", N_("next_order must be above every proxy's order."))

    def _ranked(self) -> list[Proxy]:
        return sorted(self.proxies, key=_rank_key)

    @property
    def leader(self) -> Proxy | None:
        """The leading proxy: highest maximum, earliest order on ties; None without bids."""
        return min(self.proxies, key=_rank_key, default=None)

    @property
    def runner_up(self) -> Proxy | None:
        """The second-ranked proxy, or None with fewer than two bidders."""
        ranked = self._ranked()
        return ranked[1] if len(ranked) > 1 else None

    @property
    def leader_id(self) -> int | None:
        """The leading bidder's id, or None without bids."""
        leader = self.leader
        return leader.bidder_id if leader else None

    @property
    def reserve_met(self) -> bool | None:
        """Whether the leader's maximum reaches the reserve; None when there is no reserve."""
        if self.reserve_cents is None:
            return None
        leader = self.leader
        return leader is not None and leader.max_cents >= self.reserve_cents

    @property
    def current_price_cents(self) -> int:
        """The price the leader would pay now; the start price without bids."""
        return _price(self.start_price_cents, self.reserve_cents, self._ranked())

    def status(self, now: datetime) -> LotStatus:
        """The status at `now`; past the end but not yet closed reads as ENDED (see is_due)."""
        if self.closed_status is not None:
            return self.closed_status
        if now < self.starts_at:
            return LotStatus.SCHEDULED
        if now < self.ends_at:
            return LotStatus.LIVE
        return LotStatus.ENDED

    def is_due(self, now: datetime) -> bool:
        """True when the end time has passed and the lot still waits for `close`."""
        return self.closed_status is None and now >= self.ends_at

    def max_for(self, bidder_id: int) -> int | None:
        """The bidder's current maximum on this lot, or None if they have none."""
        for proxy in self.proxies:
            if proxy.bidder_id == bidder_id:
                return proxy.max_cents
        return None


def _price(start: int, reserve: int | None, ranked: list[Proxy]) -> int:
    if not ranked:
        return start
    leader = ranked[0]
    if len(ranked) == 1:
        # A lone bidder competes with nobody, so they pay the opening price.
        price = start
    else:
        second = ranked[1].max_cents
        price = min(leader.max_cents, second + increment_for(second))
    price = max(price, start)
    if reserve is not None and leader.max_cents >= reserve:
        # The seller only sells at the reserve or above, and the leader has agreed to pay it.
        price = max(price, reserve)
    return price


def min_next_bid(a: Auction) -> int:
    """The lowest maximum a new bid may name: start price, or current price plus one increment."""
    if not a.proxies:
        return a.start_price_cents
    price = a.current_price_cents
    return price + increment_for(price)


def min_bid_for(a: Auction, bidder_id: int) -> int:
    """The lowest maximum this bidder may name, counting the rule to exceed their own maximum."""
    own = a.max_for(bidder_id)
    floor = min_next_bid(a)
    return floor if own is None else max(floor, own + 1)


def _check_open(a: Auction, now: datetime) -> None:
    if a.closed_status is not None or now >= a.ends_at:
        raise RuleViolation("ended", N_("This auction has ended."))
    if now < a.starts_at:
        raise RuleViolation("not_started", N_("This auction has not started yet."))


def place_bid(a: Auction, bidder_id: int, max_cents: int, now: datetime) -> Outcome:
    """Accept `bidder_id`'s proxy bid of up to `max_cents` at `now`, or raise RuleViolation."""
    max_cents = check_amount(max_cents)
    _check_open(a, now)
    if a.seller_id is not None and bidder_id == a.seller_id:
        raise RuleViolation("seller_cannot_bid", N_("You cannot bid on your own lot."))
    minimum = min_next_bid(a)
    if max_cents < minimum:
        raise RuleViolation(
            "below_minimum", N_("Your maximum must be at least %(minimum)s."), minimum_cents=minimum
        )
    own = a.max_for(bidder_id)
    if own is not None and max_cents <= own:
        raise RuleViolation(
            "not_above_own_max",
            N_("Your new maximum must be more than your current maximum of %(own_max)s."),
            own_max_cents=own,
        )

    previous_leader = a.leader_id
    # A raised maximum takes a new order: it was set now, so an equal maximum set before it leads.
    others = tuple(p for p in a.proxies if p.bidder_id != bidder_id)
    proxies = others + (Proxy(bidder_id, max_cents, a.next_order),)
    ends_at = a.ends_at
    window = timedelta(seconds=a.soft_close_seconds)
    if window and a.ends_at - now <= window:
        # Rivals always get a full window to answer a late bid. At exactly one window before the
        # end this lands on the old end, and no Extended is emitted since nothing moved.
        ends_at = now + window
    new = replace(
        a,
        proxies=proxies,
        bid_count=a.bid_count + 1,
        next_order=a.next_order + 1,
        ends_at=ends_at,
    )

    price = new.current_price_cents
    leader_id = new.leader_id
    events: list[object] = [
        BidAccepted(bidder_id, max_cents, price, leader_id, now, new.reserve_met)
    ]
    if previous_leader is not None and previous_leader != leader_id:
        events.append(Outbid(previous_leader, price))
    if ends_at != a.ends_at:
        events.append(Extended(ends_at))
    return Outcome(new, tuple(events))


def close(a: Auction, now: datetime) -> Outcome:
    """Close an auction whose end has passed: ENDED with a winner, or UNSOLD; emits Closed."""
    if a.closed_status is not None:
        raise RuleViolation("ended", N_("This auction is already closed."))
    if now < a.ends_at:
        raise RuleViolation("not_due", N_("This auction has not reached its end time."))
    leader = a.leader
    if leader is not None and a.reserve_met is not False:
        price = a.current_price_cents
        return Outcome(
            replace(a, closed_status=LotStatus.ENDED),
            (Closed(LotStatus.ENDED, leader.bidder_id, price),),
        )
    return Outcome(
        replace(a, closed_status=LotStatus.UNSOLD), (Closed(LotStatus.UNSOLD, None, None),)
    )


def buy_now(a: Auction, buyer_id: int, now: datetime) -> Outcome:
    """Buy the lot at its buy-now price; offered only while live and before the first bid."""
    _check_open(a, now)
    if a.buy_now_price_cents is None or a.bid_count > 0:
        raise RuleViolation("buy_now_unavailable", N_("Buy now is not available on this lot."))
    if a.seller_id is not None and buyer_id == a.seller_id:
        raise RuleViolation("seller_cannot_bid", N_("You cannot buy your own lot."))
    return Outcome(
        replace(a, closed_status=LotStatus.SOLD),
        (Purchased(buyer_id, a.buy_now_price_cents, now),),
    )


def void_bidder(a: Auction, bidder_id: int) -> Auction:
    """Remove a bidder's maximum (an admin's decision); price and leader follow from the rest."""
    if a.closed_status is not None:
        raise RuleViolation("ended", N_("This auction is closed; its bids can no longer be voided."))
    if a.max_for(bidder_id) is None:
        raise RuleViolation("not_a_bidder", N_("That account has no bid on this lot."))
    # bid_count stays: the public history keeps its entries, so the count must match it.
    return replace(a, proxies=tuple(p for p in a.proxies if p.bidder_id != bidder_id))


def replay(a: Auction, bids: Iterable[tuple[int, int, datetime]]) -> Auction:
    """Apply (bidder_id, max_cents, at) bids in order through place_bid; return the final state."""
    for bidder_id, max_cents, at in bids:
        a = place_bid(a, bidder_id, max_cents, at).lot
    return a
