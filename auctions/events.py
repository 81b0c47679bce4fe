"""What happened during an engine step; services turn these into live events and emails."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from .status import LotStatus


@dataclass(frozen=True)
class BidAccepted:
    """A bid was accepted; `price_cents` and `leader_id` are the lot's state right after it."""

    type: ClassVar[str] = "bid_placed"
    bidder_id: int
    max_cents: int
    price_cents: int
    leader_id: int
    at: datetime
    reserve_met: bool | None


@dataclass(frozen=True)
class Outbid:
    """`bidder_id` led before this bid and no longer does; `price_cents` is the new price."""

    type: ClassVar[str] = "outbid"
    bidder_id: int
    price_cents: int


@dataclass(frozen=True)
class Extended:
    """A late bid moved the auction's end (soft close)."""

    type: ClassVar[str] = "lot_extended"
    ends_at: datetime


@dataclass(frozen=True)
class Closed:
    """The lot closed (or was cancelled); winner and price are None when nobody won."""

    type: ClassVar[str] = "lot_closed"
    status: LotStatus
    winner_id: int | None
    price_cents: int | None


@dataclass(frozen=True)
class Purchased:
    """A buyer bought the lot outright (fixed price, Dutch, or buy-now); the lot is sold."""

    type: ClassVar[str] = "purchased"
    buyer_id: int
    price_cents: int
    at: datetime


@dataclass(frozen=True)
class HoldPlaced:
    """A fixed-price lot is held for one buyer's checkout until `until`."""

    type: ClassVar[str] = "hold_placed"
    buyer_id: int
    until: datetime
