"""What every lot kind shares: the command result and cancellation."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar, Union

from .errors import N_, RuleViolation
from .events import Closed
from .status import LotStatus

if TYPE_CHECKING:
    from .auction import Auction
    from .dutch import DutchLot
    from .fixed import FixedPriceLot

L = TypeVar("L", "Auction", "FixedPriceLot", "DutchLot")


@dataclass(frozen=True)
class Outcome:
    """A command's new lot state and the events it caused, in the order they happened."""

    lot: Union["Auction", "FixedPriceLot", "DutchLot"]
    events: tuple[object, ...] = ()


def cancel(lot: L, now: datetime) -> Outcome:
    """Withdraw a scheduled or live lot of any kind (admins only); emits Closed(CANCELLED)."""
    # Once bidding is over a winner may be owed the lot, so cancelling is settlement's business.
    if lot.status(now) not in (LotStatus.SCHEDULED, LotStatus.LIVE):
        raise RuleViolation("ended", N_("This lot is no longer open, so it cannot be cancelled."))
    return Outcome(
        replace(lot, closed_status=LotStatus.CANCELLED),
        (Closed(LotStatus.CANCELLED, None, None),),
    )
