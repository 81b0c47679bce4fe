"""Increments, amount validation and dollar formatting."""

from decimal import Decimal

import pytest

from auctions import MAX_BID_CENTS, RuleViolation, check_amount, format_usd, increment_for


@pytest.mark.parametrize(
    ("price_cents", "increment"),
    [
        (0, 25_00),
        (1, 25_00),
        (999_99, 25_00),
        (1_000_00, 100_00),
        (4_999_99, 100_00),
        (5_000_00, 250_00),
        (9_999_99, 250_00),
        (10_000_00, 500_00),
        (24_999_99, 500_00),
        (25_000_00, 1_000_00),
        (49_999_99, 1_000_00),
        (50_000_00, 2_500_00),
        (99_999_99, 2_500_00),
        (100_000_00, 5_000_00),
        (249_999_99, 5_000_00),
        (250_000_00, 10_000_00),
        (MAX_BID_CENTS, 10_000_00),
    ],
)
def test_increment_at_tier_boundary_matches_design_table(price_cents, increment):
    assert increment_for(price_cents) == increment


def test_increment_never_decreases_as_price_rises():
    prices = range(0, 300_000_00, 1_000)
    increments = [increment_for(p) for p in prices]
    assert increments == sorted(increments)


@pytest.mark.parametrize("value", [1, 150_00, MAX_BID_CENTS])
def test_valid_amount_is_returned_unchanged(value):
    assert check_amount(value) == value
    assert type(check_amount(value)) is int


@pytest.mark.parametrize(
    "value",
    [150.0, 150.5, Decimal("150"), True, False, "15000", None, 0, -1, -150_00, MAX_BID_CENTS + 1],
)
def test_invalid_amount_is_rejected_with_invalid_amount(value):
    with pytest.raises(RuleViolation) as caught:
        check_amount(value)
    assert caught.value.code == "invalid_amount"
    assert str(caught.value) == caught.value.message


def test_amount_above_cap_message_names_the_cap_in_dollars():
    with pytest.raises(RuleViolation, match=r"\$100,000,000\.00"):
        check_amount(MAX_BID_CENTS + 1)


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "$0.00"),
        (5, "$0.05"),
        (1_025_00, "$1,025.00"),
        (1_234_567_89, "$1,234,567.89"),
        (MAX_BID_CENTS, "$100,000,000.00"),
        (-2_50, "-$2.50"),
    ],
)
def test_format_usd_gives_dollars_with_thousands_separators(cents, text):
    assert format_usd(cents) == text


def test_rule_violation_keeps_code_and_message():
    error = RuleViolation("ended", "This auction has ended.")
    assert (error.code, error.message, str(error)) == (
        "ended",
        "This auction has ended.",
        "This auction has ended.",
    )


from hypothesis import given, strategies as st  # noqa: E402

from auctions import commission_for  # noqa: E402


@given(st.integers(min_value=1, max_value=100_000_000_00), st.integers(min_value=0, max_value=10_000))
def test_commission_plus_seller_share_is_exactly_the_price(amount, bps):
    commission = commission_for(amount, bps)
    assert 0 <= commission <= amount
    assert (amount - commission) + commission == amount
    # Within half a cent of the exact share.
    assert abs(commission * 10_000 - amount * bps) <= 5_000


def test_commission_rounds_half_up_at_ten_percent():
    assert commission_for(5_000_000, 1_000) == 500_000
    assert commission_for(5, 1_000) == 1  # 0.5 cent rounds up
    assert commission_for(4, 1_000) == 0


def test_commission_rate_out_of_range_is_refused():
    import pytest
    with pytest.raises(ValueError):
        commission_for(100, 10_001)
