"""Business-day deadlines and the bulk discount (issue 5's pure rules), with properties."""
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auctions import MAX_BID_CENTS
from auctions.calendar import add_business_days, business_days_between, is_business_day
from auctions.discounts import discount_rate_bps, quote

MON = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)  # a Monday
HOLIDAYS = {date(2026, 11, 26)}  # a Thursday


@pytest.mark.parametrize("start,days,expected", [
    (MON, 3, datetime(2026, 11, 26, 10, 30, tzinfo=UTC)),                    # Mon + 3 = Thu
    (MON + timedelta(days=3), 3, datetime(2026, 12, 1, 10, 30, tzinfo=UTC)),  # Thu + 3 = Tue (weekend skipped)
    (MON + timedelta(days=5), 3, datetime(2026, 12, 3, 0, 0, tzinfo=UTC)),    # asked Sat: from Mon 00:00
    (MON + timedelta(days=6, hours=5), 1, datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),  # asked Sun: Mon 00:00 + 1
    (MON, 0, MON),
])
def test_business_days_skip_weekends(start, days, expected):
    assert add_business_days(start, days) == expected


def test_holidays_are_skipped():
    assert add_business_days(MON, 3, HOLIDAYS) == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)  # Fri
    assert add_business_days(MON + timedelta(days=3), 1, HOLIDAYS) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # asked on the holiday: from Fri 00:00


def test_bad_day_counts_are_refused():
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError):
            add_business_days(MON, bad)


holidays = st.sets(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), max_size=30)
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC))


@given(moments, st.integers(min_value=0, max_value=40), holidays)
def test_deadline_properties(start, days, holiday_set):
    due = add_business_days(start, days, holiday_set)
    assert due >= start
    # Asked on a weekend or holiday, counting starts with the next business day itself.
    skipped = 0 if is_business_day(start.date(), holiday_set) else 1
    assert business_days_between(start, due, holiday_set) == days + skipped
    if days or skipped:
        assert is_business_day(due.date(), holiday_set)
    # Never more than the days asked plus the weekends and holidays in between (and a weekend start).
    assert due - start <= timedelta(days=days + 2 * (days // 5 + 2) + len(holiday_set) + 3)


@pytest.mark.parametrize("count,total,rate", [
    (1, 10_000_00, 0), (2, 20_000_00, 0), (3, 30_000_00, 500), (4, 100_000_00, 500),
    (5, 50_000_00, 1_000), (2, 250_000_00, 0), (2, 250_000_01, 1_000), (9, 100_000_00, 1_000),
    (10, 100_000_00, 1_500), (2, 1_000_000_00, 1_000), (2, 1_000_000_01, 1_500),
])
def test_discount_tiers_at_their_edges(count, total, rate):
    assert discount_rate_bps(count, total) == rate


prices = st.lists(st.integers(min_value=1, max_value=MAX_BID_CENTS // 20), min_size=1, max_size=15)


@given(prices)
def test_quote_adds_up_to_the_cent(lines):
    q = quote(lines)
    assert sum(q.line_totals_cents) == q.total_cents == q.subtotal_cents - q.discount_cents
    assert q.rate_bps == discount_rate_bps(len(lines), sum(lines))
    # The discount on the whole, rounded half up, shared with no line over a cent from its exact share.
    assert q.discount_cents == (sum(lines) * q.rate_bps + 5_000) // 10_000
    for price, share in zip(lines, q.discounts_cents, strict=True):
        assert abs(share * 10_000 - price * q.rate_bps) < 10_000
        assert 0 <= share <= price


@given(prices, st.integers(min_value=1, max_value=MAX_BID_CENTS // 20))
def test_adding_a_handle_never_lowers_the_rate(lines, extra):
    assert quote([*lines, extra]).rate_bps >= quote(lines).rate_bps
