"""Dutch lots: price halving steps, floor, next drop and buying."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auctions import (
    DutchLot,
    LotStatus,
    Purchased,
    RuleViolation,
    buy,
    cancel,
    next_drop_at,
    price_at,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
A, SELLER = 1, 9


def make(**fields) -> DutchLot:
    """A lot opening at $80,000 on T0, halving hourly to a $5,000 floor, with overrides."""
    defaults = dict(
        start_price_cents=80_000_00,
        floor_price_cents=5_000_00,
        half_life_seconds=3600,
        starts_at=T0,
    )
    return DutchLot(**(defaults | fields))


def refusal(call, *args, **kwargs) -> RuleViolation:
    """Run a command expected to be refused and return the violation."""
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("elapsed", "price"),
    [
        (timedelta(0), 80_000_00),
        (HOUR - timedelta(microseconds=1), 80_000_00),
        (HOUR, 40_000_00),
        (2 * HOUR, 20_000_00),
        (3 * HOUR + timedelta(minutes=59), 10_000_00),
        (4 * HOUR, 5_000_00),
        (5 * HOUR, 5_000_00),
    ],
)
def test_price_halves_once_per_half_life_down_to_floor(elapsed, price):
    assert price_at(make(), T0 + elapsed) == price


def test_price_before_start_is_start_price():
    assert price_at(make(), T0 - HOUR) == 80_000_00


def test_odd_price_halves_by_whole_cents_rounding_down():
    lot = make(start_price_cents=1_000_01, floor_price_cents=1)
    assert [price_at(lot, T0 + n * HOUR) for n in range(3)] == [1_000_01, 500_00, 250_00]


def test_price_stops_at_floor_when_halving_would_pass_it():
    lot = make(floor_price_cents=7_000_00)
    assert price_at(lot, T0 + 3 * HOUR) == 10_000_00
    assert price_at(lot, T0 + 4 * HOUR) == 7_000_00


def test_price_after_centuries_of_one_second_half_lives_is_floor():
    lot = make(half_life_seconds=1, floor_price_cents=1)
    assert price_at(lot, T0 + timedelta(days=365 * 300)) == 1


def test_next_drop_is_one_half_life_after_start_at_start():
    assert next_drop_at(make(), T0) == T0 + HOUR


def test_next_drop_mid_step_is_end_of_that_step():
    assert next_drop_at(make(), T0 + 2 * HOUR + timedelta(minutes=12)) == T0 + 3 * HOUR


def test_next_drop_at_step_boundary_is_the_following_step():
    assert next_drop_at(make(), T0 + HOUR) == T0 + 2 * HOUR


def test_next_drop_before_start_is_first_halving():
    assert next_drop_at(make(), T0 - HOUR) == T0 + HOUR


def test_next_drop_at_floor_is_none():
    assert next_drop_at(make(), T0 + 3 * HOUR) == T0 + 4 * HOUR
    assert next_drop_at(make(), T0 + 4 * HOUR) is None


def test_next_drop_when_start_equals_floor_is_none():
    assert next_drop_at(make(floor_price_cents=80_000_00), T0) is None


def test_next_drop_after_the_lot_ends_is_none():
    lot = make(ends_at=T0 + 2 * HOUR)
    assert next_drop_at(lot, T0 + HOUR) is None
    assert next_drop_at(lot, T0) == T0 + HOUR


def test_next_drop_on_sold_lot_is_none():
    assert next_drop_at(buy(make(), A, T0).lot, T0) is None


def test_buy_at_current_price_sells_the_lot():
    at = T0 + 2 * HOUR
    outcome = buy(make(), A, at)
    assert outcome.lot.status(at) == LotStatus.SOLD
    assert outcome.events == (Purchased(A, 20_000_00, at),)


def test_buy_with_max_price_at_current_price_is_accepted():
    assert buy(make(), A, T0 + HOUR, max_price_cents=40_000_00).events[0].price_cents == 40_000_00


def test_buy_with_max_price_below_current_price_is_refused_price_changed():
    error = refusal(buy, make(), A, T0, max_price_cents=40_000_00)
    assert error.code == "price_changed"
    assert "$80,000.00" in error.message


def test_buy_with_invalid_max_price_is_refused_invalid_amount():
    assert refusal(buy, make(), A, T0, max_price_cents=40_000.0).code == "invalid_amount"


def test_buy_before_start_is_refused_not_started():
    assert refusal(buy, make(), A, T0 - timedelta(seconds=1)).code == "not_started"


def test_buy_at_end_is_refused_ended():
    assert refusal(buy, make(ends_at=T0 + HOUR), A, T0 + HOUR).code == "ended"


def test_second_buy_is_refused_ended():
    sold = buy(make(), A, T0).lot
    assert refusal(buy, sold, 2, T0).code == "ended"


def test_buy_by_seller_is_refused():
    assert refusal(buy, make(seller_id=SELLER), SELLER, T0).code == "seller_cannot_bid"


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (T0 - timedelta(seconds=1), LotStatus.SCHEDULED),
        (T0, LotStatus.LIVE),
        (T0 + 5 * HOUR, LotStatus.UNSOLD),
    ],
)
def test_status_follows_the_clock(now, status):
    assert make(ends_at=T0 + 5 * HOUR).status(now) == status


def test_cancelled_lot_cannot_be_bought():
    cancelled = cancel(make(), T0).lot
    assert cancelled.status(T0) == LotStatus.CANCELLED
    assert refusal(buy, cancelled, A, T0).code == "ended"


def test_floor_above_start_is_invalid():
    assert refusal(make, floor_price_cents=90_000_00).code == "invalid_lot"


@pytest.mark.parametrize("seconds", [0, -1, 1.5])
def test_non_positive_or_fractional_half_life_is_invalid(seconds):
    assert refusal(make, half_life_seconds=seconds).code == "invalid_lot"


@settings(deadline=None, database=None)
@given(
    start=st.integers(1, 10**10),
    floor_fraction=st.floats(0, 1),
    half_life=st.integers(1, 10**6),
    offsets=st.lists(st.integers(-(10**6), 10**10), min_size=2, max_size=10),
)
def test_price_never_rises_never_passes_floor_and_matches_halving(
    start, floor_fraction, half_life, offsets
):
    floor = max(1, int(start * floor_fraction))
    lot = make(start_price_cents=start, floor_price_cents=floor, half_life_seconds=half_life)
    previous = None
    for offset in sorted(offsets):
        now = T0 + timedelta(seconds=offset)
        price = price_at(lot, now)
        halvings = max(0, offset // half_life)
        # start < 2**34 here, so from 64 halvings on the halved price is 0 and the floor holds.
        halved = start // 2**halvings if halvings < 64 else 0
        assert price == max(floor, halved)
        assert floor <= price <= start
        assert previous is None or price <= previous
        drop = next_drop_at(lot, now)
        if drop is None:
            assert price == floor
        else:
            assert drop > now
            assert price_at(lot, drop) < price
            assert price_at(lot, drop - timedelta(microseconds=1)) == price
        previous = price
