"""The auction engine: pure rules for who wins a lot and at what price.

No Flask, database, payment or clock here: every command takes the lot's state and `now` and
returns an `Outcome` (new state plus events) or raises `RuleViolation` having changed nothing.
"""

from . import calendar, discounts
from .auction import (
    Auction,
    Proxy,
    buy_now,
    close,
    min_bid_for,
    min_next_bid,
    place_bid,
    replay,
    void_bidder,
)
from .common import Outcome, cancel
from .dutch import DutchLot, buy, next_drop_at, price_at
from .errors import RuleViolation
from .events import BidAccepted, Closed, Extended, HoldPlaced, Outbid, Purchased
from .fixed import HOLD_SECONDS, FixedPriceLot, complete_purchase, release_hold, start_checkout
from .money import MAX_BID_CENTS, check_amount, commission_for, format_usd, increment_for
from .status import LotStatus
from .valuation import FLOOR_CENTS, NameFeatures, Suggestion, suggest, suggest_for, value_cents

__all__ = [
    "calendar",
    "discounts",
    "FLOOR_CENTS",
    "HOLD_SECONDS",
    "MAX_BID_CENTS",
    "Auction",
    "BidAccepted",
    "Closed",
    "DutchLot",
    "Extended",
    "FixedPriceLot",
    "HoldPlaced",
    "LotStatus",
    "NameFeatures",
    "Outbid",
    "Outcome",
    "Proxy",
    "Purchased",
    "Suggestion",
    "RuleViolation",
    "buy",
    "buy_now",
    "cancel",
    "check_amount",
    "commission_for",
    "close",
    "complete_purchase",
    "format_usd",
    "increment_for",
    "min_bid_for",
    "min_next_bid",
    "next_drop_at",
    "place_bid",
    "price_at",
    "release_hold",
    "replay",
    "start_checkout",
    "suggest",
    "suggest_for",
    "value_cents",
    "void_bidder",
]
