"""The engine's refusals carry a stable code, an English template and its data, so the web app can
say them in the reader's language while the engine stays free of any i18n machinery."""
from datetime import UTC, datetime, timedelta

import pytest

from auctions import Auction, RuleViolation, place_bid
from auctions.errors import N_, render

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_a_refusal_keeps_code_template_and_amounts_in_cents():
    lot = Auction(starts_at=T0, ends_at=T0 + timedelta(hours=1), start_price_cents=100_000)
    with pytest.raises(RuleViolation) as refused:
        place_bid(lot, bidder_id=1, max_cents=50_000, now=T0)
    error = refused.value
    assert error.code == "below_minimum"
    assert error.template == "Your maximum must be at least %(minimum)s."
    assert error.params == {"minimum_cents": 100_000}
    assert error.message == str(error) == "Your maximum must be at least $1,000.00."


def test_render_fills_amounts_with_the_given_money_formatter():
    template = N_("The price is %(price)s, above the %(accepted)s you accepted.")
    params = {"price_cents": 150_000, "accepted_cents": 120_000}
    assert render(template, params) == "The price is $1,500.00, above the $1,200.00 you accepted."
    assert render(template, params, money=lambda cents: f"<{cents}>") == (
        "The price is <150000>, above the <120000> you accepted.")


def test_a_template_without_parameters_is_left_as_is():
    assert render("This auction has ended.", {}) == "This auction has ended."
