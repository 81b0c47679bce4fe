"""The bulk discount on a quote for several handles (DESIGN.md section 6), in integer cents.

5% for 3 or more handles; 10% for 5 or more, or a total over $250,000; 15% for 10 or more, or a
total over $1,000,000. One discount, the best that applies. Pure: no settings, no database.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .money import check_amount

# (minimum handles, total strictly over this many cents, rate in basis points), best first.
TIERS: tuple[tuple[int, int, int], ...] = (
    (10, 1_000_000_00, 1_500),
    (5, 250_000_00, 1_000),
    (3, 0, 500),
)
NO_TOTAL_RULE = 0  # the 3+ tier has no amount rule


@dataclass(frozen=True)
class Quote:
    """Prices for a set of handles with the discount shared out: each line's discount is its own."""

    prices_cents: tuple[int, ...]
    rate_bps: int
    discounts_cents: tuple[int, ...]

    @property
    def subtotal_cents(self) -> int:
        return sum(self.prices_cents)

    @property
    def discount_cents(self) -> int:
        return sum(self.discounts_cents)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents

    @property
    def line_totals_cents(self) -> tuple[int, ...]:
        return tuple(p - d for p, d in zip(self.prices_cents, self.discounts_cents, strict=True))


def discount_rate_bps(count: int, total_cents: int) -> int:
    """The best discount rate for `count` handles costing `total_cents` together (basis points)."""
    for minimum, over_cents, rate in TIERS:
        if count >= minimum or (over_cents != NO_TOTAL_RULE and total_cents > over_cents):
            return rate
    return 0


def quote(prices_cents: Sequence[int]) -> Quote:
    """A quote for several handles: the discount on the whole, shared across the lines in whole
    cents so that the lines add up to the total exactly (largest remainders get the odd cents)."""
    prices = tuple(check_amount(p) for p in prices_cents)
    subtotal = sum(prices)
    rate = discount_rate_bps(len(prices), subtotal)
    whole = (subtotal * rate + 5_000) // 10_000  # the discount on the whole, rounded half up
    exact = [p * rate for p in prices]  # each line's share, in 1/10,000 cents
    shares = [e // 10_000 for e in exact]
    spare = whole - sum(shares)
    order = sorted(range(len(prices)), key=lambda i: (-(exact[i] % 10_000), i))
    for i in order[:spare]:
        shares[i] += 1
    return Quote(prices, rate, tuple(shares))
