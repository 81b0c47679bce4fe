"""The states a lot can be in."""

from enum import StrEnum


class LotStatus(StrEnum):
    """Where a lot stands; stored by value.

    scheduled: not open yet (now is before starts_at).
    live: open for bids or purchase.
    ended: bidding is over. Either the auction closed with a winning bid at or above any reserve
        and awaits settlement, or (auctions only) its end time has passed and the worker has not
        closed it yet; `is_due(now)` tells the two apart.
    sold: a purchase (fixed price, Dutch, or buy-now) completed.
    unsold: closed without a winner: no bids, the reserve was not met, or a fixed-price or Dutch
        lot reached its end time unbought.
    cancelled: withdrawn by an admin; nobody wins.
    """

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    SOLD = "sold"
    UNSOLD = "unsold"
    CANCELLED = "cancelled"
