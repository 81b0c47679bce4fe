"""Fixed-price lots: checkout holds, expiry, races and purchase."""

from datetime import UTC, datetime, timedelta

import pytest

from auctions import (
    HOLD_SECONDS,
    Closed,
    FixedPriceLot,
    HoldPlaced,
    LotStatus,
    Purchased,
    RuleViolation,
    cancel,
    complete_purchase,
    release_hold,
    start_checkout,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
HOLD = timedelta(seconds=HOLD_SECONDS)
A, B, SELLER = 1, 2, 9


def make(**fields) -> FixedPriceLot:
    """A $50,000 fixed-price lot on sale from T0 with no end, with overrides."""
    return FixedPriceLot(**(dict(price_cents=50_000_00, starts_at=T0) | fields))


def refusal(call, *args, **kwargs) -> RuleViolation:
    """Run a command expected to be refused and return the violation."""
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    return caught.value


def test_hold_lasts_fifteen_minutes_by_default():
    assert HOLD_SECONDS == 900


def test_start_checkout_holds_lot_for_buyer_for_fifteen_minutes():
    outcome = start_checkout(make(), A, NOW)
    assert (outcome.lot.hold_buyer_id, outcome.lot.hold_until) == (A, NOW + HOLD)
    assert outcome.lot.held_by(NOW) == A
    assert outcome.events == (HoldPlaced(A, NOW + HOLD),)


def test_start_checkout_with_custom_hold_uses_it():
    outcome = start_checkout(make(), A, NOW, hold_seconds=60)
    assert outcome.lot.hold_until == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("seconds", [0, -5, 1.5, True])
def test_start_checkout_with_nonsense_hold_seconds_raises_value_error(seconds):
    with pytest.raises(ValueError):
        start_checkout(make(), A, NOW, hold_seconds=seconds)


def test_other_buyer_during_live_hold_is_refused_held_by_other():
    held = start_checkout(make(), A, NOW).lot
    assert (
        refusal(start_checkout, held, B, NOW + HOLD - timedelta(seconds=1)).code == "held_by_other"
    )


def test_same_buyer_again_keeps_existing_hold_without_extending_it():
    held = start_checkout(make(), A, NOW).lot
    outcome = start_checkout(held, A, NOW + timedelta(minutes=10))
    assert outcome.lot == held
    assert outcome.events == ()


def test_expired_hold_is_free_for_another_buyer():
    held = start_checkout(make(), A, NOW).lot
    outcome = start_checkout(held, B, NOW + HOLD)
    assert outcome.lot.hold_buyer_id == B
    assert outcome.events == (HoldPlaced(B, NOW + 2 * HOLD),)


def test_expired_hold_can_be_renewed_by_same_buyer():
    held = start_checkout(make(), A, NOW).lot
    assert start_checkout(held, A, NOW + HOLD).lot.hold_until == NOW + 2 * HOLD


def test_complete_purchase_with_live_hold_sells_at_price():
    held = start_checkout(make(), A, NOW).lot
    at = NOW + timedelta(minutes=14)
    outcome = complete_purchase(held, A, at)
    assert outcome.lot.status(at) == LotStatus.SOLD
    assert (outcome.lot.hold_buyer_id, outcome.lot.hold_until) == (None, None)
    assert outcome.events == (Purchased(A, 50_000_00, at),)


def test_complete_purchase_without_hold_is_refused_no_hold():
    assert refusal(complete_purchase, make(), A, NOW).code == "no_hold"


def test_complete_purchase_after_hold_expired_is_refused_no_hold():
    held = start_checkout(make(), A, NOW).lot
    assert refusal(complete_purchase, held, A, NOW + HOLD).code == "no_hold"


def test_complete_purchase_by_buyer_without_the_hold_is_refused_no_hold():
    held = start_checkout(make(), A, NOW).lot
    assert refusal(complete_purchase, held, B, NOW).code == "no_hold"


def test_race_where_first_hold_lapses_lets_second_buyer_win():
    held_by_a = start_checkout(make(), A, NOW).lot
    assert refusal(start_checkout, held_by_a, B, NOW + timedelta(minutes=5)).code == "held_by_other"
    held_by_b = start_checkout(held_by_a, B, NOW + HOLD + timedelta(seconds=1)).lot
    late = NOW + HOLD + timedelta(seconds=2)
    assert refusal(complete_purchase, held_by_b, A, late).code == "no_hold"
    sold = complete_purchase(held_by_b, B, late).lot
    assert refusal(start_checkout, sold, A, late).code == "ended"
    assert refusal(complete_purchase, sold, B, late).code == "ended"


def test_checkout_before_start_is_refused_not_started():
    assert refusal(start_checkout, make(), A, T0 - timedelta(seconds=1)).code == "not_started"


def test_checkout_by_seller_is_refused():
    assert refusal(start_checkout, make(seller_id=SELLER), SELLER, NOW).code == "seller_cannot_bid"


def test_checkout_after_end_is_refused_ended():
    lot = make(ends_at=NOW)
    assert refusal(start_checkout, lot, A, NOW).code == "ended"


def test_hold_started_before_end_can_complete_after_end():
    end = NOW + timedelta(minutes=1)
    held = start_checkout(make(ends_at=end), A, NOW).lot
    after_end = end + timedelta(minutes=5)
    assert held.status(after_end) == LotStatus.LIVE
    assert refusal(start_checkout, held, B, after_end).code == "ended"
    assert complete_purchase(held, A, after_end).lot.closed_status == LotStatus.SOLD


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (T0 - timedelta(seconds=1), LotStatus.SCHEDULED),
        (T0, LotStatus.LIVE),
        (NOW - timedelta(microseconds=1), LotStatus.LIVE),
        (NOW, LotStatus.UNSOLD),
    ],
)
def test_status_follows_the_clock_until_sold(now, status):
    assert make(ends_at=NOW).status(now) == status


def test_lot_without_end_stays_live():
    assert make().status(T0 + timedelta(days=3650)) == LotStatus.LIVE


def test_release_hold_by_holder_frees_the_lot():
    held = start_checkout(make(), A, NOW).lot
    released = release_hold(held, A)
    assert released.held_by(NOW) is None
    assert start_checkout(released, B, NOW).lot.hold_buyer_id == B


def test_release_hold_by_someone_else_changes_nothing():
    held = start_checkout(make(), A, NOW).lot
    assert release_hold(held, B) == held
    assert release_hold(make(), A) == make()


def test_cancel_held_lot_ends_checkout():
    held = start_checkout(make(), A, NOW).lot
    outcome = cancel(held, NOW)
    assert outcome.events == (Closed(LotStatus.CANCELLED, None, None),)
    assert refusal(complete_purchase, outcome.lot, A, NOW).code == "ended"


def test_lot_with_half_a_hold_is_invalid():
    assert refusal(make, hold_buyer_id=A).code == "invalid_lot"


def test_lot_with_float_price_is_invalid_amount():
    assert refusal(make, price_cents=50_000.0).code == "invalid_amount"
