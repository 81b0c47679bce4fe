"""Fixed-price lots: the first buyer to complete checkout wins (DESIGN.md section 3).

Starting checkout holds the lot for that buyer for `HOLD_SECONDS`, so two buyers are never both
charged for one handle. A hold counts while `now < hold_until`; after that anyone may take it.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .common import Outcome
from .errors import N_, RuleViolation
from .events import HoldPlaced, Purchased
from .money import check_amount
from .status import LotStatus

HOLD_SECONDS = 15 * 60


@dataclass(frozen=True)
class FixedPriceLot:
    """A fixed-price lot's engine state; `ends_at` None means it stays on sale until bought."""

    price_cents: int
    starts_at: datetime
    ends_at: datetime | None = None
    seller_id: int | None = None  # None: the platform sells
    closed_status: LotStatus | None = None
    hold_buyer_id: int | None = None
    hold_until: datetime | None = None

    def __post_init__(self):
        check_amount(self.price_cents)
        if self.ends_at is not None and not self.ends_at > self.starts_at:
            raise RuleViolation("invalid_lot", N_("The end time must be after the start time."))
        if (self.hold_buyer_id is None) != (self.hold_until is None):
            raise RuleViolation("invalid_lot", N_("A hold needs both a buyer and an expiry time."))

    def held_by(self, now: datetime) -> int | None:
        """The buyer whose checkout hold is live at `now`, or None."""
        if self.hold_until is not None and now < self.hold_until:
            return self.hold_buyer_id
        return None

    def status(self, now: datetime) -> LotStatus:
        """The status at `now`; past its end unbought it is UNSOLD, unless a hold still runs."""
        if self.closed_status is not None:
            return self.closed_status
        if now < self.starts_at:
            return LotStatus.SCHEDULED
        # A buyer who began checkout before the end keeps their full hold, so the lot stays live.
        if self.ends_at is not None and now >= self.ends_at and self.held_by(now) is None:
            return LotStatus.UNSOLD
        return LotStatus.LIVE


def start_checkout(
    lot: FixedPriceLot, buyer_id: int, now: datetime, hold_seconds: int = HOLD_SECONDS
) -> Outcome:
    """Hold the lot for `buyer_id`'s checkout; the same buyer again keeps their existing hold."""
    if isinstance(hold_seconds, bool) or not isinstance(hold_seconds, int) or hold_seconds <= 0:
        raise ValueError("hold_seconds must be a positive whole number of seconds")
    if lot.closed_status is not None:
        raise RuleViolation("ended", N_("This lot is no longer for sale."))
    if now < lot.starts_at:
        raise RuleViolation("not_started", N_("This lot is not on sale yet."))
    if lot.seller_id is not None and buyer_id == lot.seller_id:
        raise RuleViolation("seller_cannot_bid", N_("You cannot buy your own lot."))
    holder = lot.held_by(now)
    if holder == buyer_id:
        # Not extended: re-opening checkout must not let one buyer keep the lot indefinitely.
        return Outcome(lot, ())
    if lot.ends_at is not None and now >= lot.ends_at:
        raise RuleViolation("ended", N_("This lot is no longer for sale."))
    if holder is not None:
        raise RuleViolation(
            "held_by_other",
            N_("Another buyer is checking out this lot; it is held for them until %(held_until)s."),
            held_until=lot.hold_until,
        )
    until = now + timedelta(seconds=hold_seconds)
    return Outcome(
        replace(lot, hold_buyer_id=buyer_id, hold_until=until), (HoldPlaced(buyer_id, until),)
    )


def complete_purchase(lot: FixedPriceLot, buyer_id: int, now: datetime) -> Outcome:
    """Sell the lot to `buyer_id`, who must hold a live checkout hold; emits Purchased."""
    if lot.closed_status is not None:
        raise RuleViolation("ended", N_("This lot is no longer for sale."))
    if lot.held_by(now) != buyer_id:
        raise RuleViolation(
            "no_hold", N_("Your checkout hold has expired or was never placed. Please start again.")
        )
    return Outcome(
        replace(lot, closed_status=LotStatus.SOLD, hold_buyer_id=None, hold_until=None),
        (Purchased(buyer_id, lot.price_cents, now),),
    )


def release_hold(lot: FixedPriceLot, buyer_id: int) -> FixedPriceLot:
    """Drop `buyer_id`'s hold (checkout abandoned); a no-op if they hold none, so retry freely."""
    if lot.closed_status is not None or lot.hold_buyer_id != buyer_id:
        return lot
    return replace(lot, hold_buyer_id=None, hold_until=None)
