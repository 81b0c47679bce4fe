"""The commission split a seller sees before listing: nothing is lost to rounding, for any amount and rate."""
from hypothesis import given
from hypothesis import strategies as st

from auctions import MAX_BID_CENTS, commission_for
from marketplace.services.sellers import fees

amounts = st.integers(min_value=1, max_value=MAX_BID_CENTS)
rates = st.integers(min_value=0, max_value=10_000)


@given(amounts, rates)
def test_buyer_pays_exactly_what_the_seller_receives_plus_the_commission(amount, bps):
    split = fees(amount, bps)
    assert split["buyer_pays_cents"] == amount
    assert split["buyer_pays_cents"] == split["seller_receives_cents"] + split["commission_cents"]
    assert all(isinstance(split[k], int) and not isinstance(split[k], bool)
               for k in ("buyer_pays_cents", "commission_cents", "seller_receives_cents"))


@given(amounts, rates)
def test_commission_is_the_rate_in_whole_cents_rounded_half_up(amount, bps):
    commission = commission_for(amount, bps)
    exact_ten_thousandths = amount * bps  # the commission in 1/10,000 of a cent: exact, no floats
    # Within half a cent of the exact amount, and a half cent rounds up.
    assert abs(commission * 10_000 - exact_ten_thousandths) <= 5_000
    assert commission * 10_000 - exact_ten_thousandths != -5_000
    assert 0 <= commission <= amount


@given(amounts)
def test_no_commission_at_zero_and_everything_at_ten_thousand_basis_points(amount):
    assert fees(amount, 0)["seller_receives_cents"] == amount
    assert fees(amount, 10_000)["seller_receives_cents"] == 0


def test_the_default_rate_takes_ten_percent():
    assert fees(1_234_567, 1_000) == {"buyer_pays_cents": 1_234_567, "commission_bps": 1_000,
                                      "commission_cents": 123_457, "seller_receives_cents": 1_111_110}
    assert fees(5, 1_000)["commission_cents"] == 1  # half a cent rounds up
    assert fees(4, 1_000)["commission_cents"] == 0
