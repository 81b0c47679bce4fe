"""Money rules: amounts are int cents; increments follow DESIGN.md section 4."""

from bisect import bisect_right

from .errors import N_, RuleViolation

# $100M: far above any real handle sale, low enough that a typo of extra zeros is refused.
MAX_BID_CENTS = 100_000_000_00

# Lower bounds of each price tier (cents) and the increment that applies from that bound up.
_TIER_FLOORS = (0, 1_000_00, 5_000_00, 10_000_00, 25_000_00, 50_000_00, 100_000_00, 250_000_00)
_TIER_INCREMENTS = (25_00, 100_00, 250_00, 500_00, 1_000_00, 2_500_00, 5_000_00, 10_000_00)


def increment_for(price_cents: int) -> int:
    """Return the bid increment, in cents, that applies at this price."""
    # Prices below zero never occur; they fall into the first tier rather than raising.
    tier = max(bisect_right(_TIER_FLOORS, price_cents) - 1, 0)
    return _TIER_INCREMENTS[tier]


def check_amount(value) -> int:
    """Return value if it is a valid amount in cents, else raise RuleViolation("invalid_amount")."""
    # bool is an int subclass, and True would otherwise be read as one cent.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation("invalid_amount", N_("The amount must be a whole number of cents."))
    if value <= 0:
        raise RuleViolation("invalid_amount", N_("The amount must be more than zero."))
    if value > MAX_BID_CENTS:
        raise RuleViolation(
            "invalid_amount", N_("The amount must be at most %(max)s."), max_cents=MAX_BID_CENTS
        )
    return int(value)


def format_usd(cents: int) -> str:
    """Format cents as US dollars for messages, e.g. 102500 -> "$1,025.00"."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def commission_for(amount_cents: int, rate_bps: int) -> int:
    """The platform's commission on a sale, in whole cents, rounded half up.

    The seller receives amount - commission, so buyer paid == seller received + commission holds
    exactly for every amount: nothing is lost to rounding.
    """
    if isinstance(rate_bps, bool) or not isinstance(rate_bps, int) or not 0 <= rate_bps <= 10_000:
        raise ValueError("the commission rate is 0 to 10,000 basis points")
    return (check_amount(amount_cents) * rate_bps + 5_000) // 10_000
