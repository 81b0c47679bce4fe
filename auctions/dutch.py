"""Dutch lots: the price halves every half-life down to a floor (DESIGN.md section 3).

The price steps rather than decays smoothly, and uses integers only, so the browser's countdown
and the server agree to the cent: price = max(floor, start // 2**n), n = whole half-lives elapsed.
The first buyer at the current price wins.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .common import Outcome
from .errors import N_, RuleViolation
from .events import Purchased
from .money import check_amount
from .status import LotStatus


@dataclass(frozen=True)
class DutchLot:
    """A Dutch lot's engine state; `ends_at` None means it waits at its floor until bought."""

    start_price_cents: int
    floor_price_cents: int
    half_life_seconds: int
    starts_at: datetime
    ends_at: datetime | None = None
    seller_id: int | None = None  # None: the platform sells
    closed_status: LotStatus | None = None

    def __post_init__(self):
        check_amount(self.start_price_cents)
        check_amount(self.floor_price_cents)
        if self.floor_price_cents > self.start_price_cents:
            raise RuleViolation("invalid_lot", N_("The floor price must not exceed the start price."))
        if (
            isinstance(self.half_life_seconds, bool)
            or not isinstance(self.half_life_seconds, int)
            or self.half_life_seconds <= 0
        ):
            raise RuleViolation(
                "invalid_lot", N_("The half-life must be a positive number of seconds.")
            )
        if self.ends_at is not None and not self.ends_at > self.starts_at:
            raise RuleViolation("invalid_lot", N_("The end time must be after the start time."))

    def status(self, now: datetime) -> LotStatus:
        """The lot's status at `now`; past its end unbought it is UNSOLD."""
        if self.closed_status is not None:
            return self.closed_status
        if now < self.starts_at:
            return LotStatus.SCHEDULED
        if self.ends_at is not None and now >= self.ends_at:
            return LotStatus.UNSOLD
        return LotStatus.LIVE


def _halvings(lot: DutchLot, now: datetime) -> int:
    if now < lot.starts_at:
        return 0
    return (now - lot.starts_at) // timedelta(seconds=lot.half_life_seconds)


def price_at(lot: DutchLot, now: datetime) -> int:
    """The price at `now`: start // 2**halvings, never below the floor (no halving before start)."""
    # Past bit_length halvings the shift is 0 anyway; capping keeps the shift count small.
    n = min(_halvings(lot, now), lot.start_price_cents.bit_length())
    return max(lot.floor_price_cents, lot.start_price_cents >> n)


def next_drop_at(lot: DutchLot, now: datetime) -> datetime | None:
    """When the price next falls, or None if it never will (at the floor, closed, or ends first)."""
    if lot.closed_status is not None or price_at(lot, now) == lot.floor_price_cents:
        return None
    # Above the floor every halving lowers the price by at least a cent, so the next step is a drop.
    at = lot.starts_at + (_halvings(lot, now) + 1) * timedelta(seconds=lot.half_life_seconds)
    if lot.ends_at is not None and at >= lot.ends_at:
        return None
    return at


def buy(lot: DutchLot, buyer_id: int, now: datetime, max_price_cents: int | None = None) -> Outcome:
    """Buy the lot at price_at(now); `max_price_cents` refuses a price above what the buyer saw."""
    if max_price_cents is not None:
        max_price_cents = check_amount(max_price_cents)
    if lot.closed_status is not None:
        raise RuleViolation("ended", N_("This lot is no longer for sale."))
    if now < lot.starts_at:
        raise RuleViolation("not_started", N_("This lot is not on sale yet."))
    if lot.ends_at is not None and now >= lot.ends_at:
        raise RuleViolation("ended", N_("This lot is no longer for sale."))
    if lot.seller_id is not None and buyer_id == lot.seller_id:
        raise RuleViolation("seller_cannot_bid", N_("You cannot buy your own lot."))
    price = price_at(lot, now)
    # The price only falls, so this trips only when the buyer's clock ran ahead of ours.
    if max_price_cents is not None and price > max_price_cents:
        raise RuleViolation(
            "price_changed",
            N_("The price is %(price)s, above the %(accepted)s you accepted."),
            price_cents=price,
            accepted_cents=max_price_cents,
        )
    return Outcome(replace(lot, closed_status=LotStatus.SOLD), (Purchased(buyer_id, price, now),))
