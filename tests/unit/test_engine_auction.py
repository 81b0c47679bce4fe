"""Timed auctions: proxy bidding, reserve, soft close, buy-now, closing and voiding."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auctions import (
    MAX_BID_CENTS,
    Auction,
    BidAccepted,
    Closed,
    Extended,
    LotStatus,
    Outbid,
    Proxy,
    Purchased,
    RuleViolation,
    buy_now,
    cancel,
    close,
    min_bid_for,
    min_next_bid,
    place_bid,
    replay,
    void_bidder,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
END = T0 + timedelta(days=1)
NOW = T0 + timedelta(hours=1)
A, B, C, SELLER = 1, 2, 3, 9


def make(**fields) -> Auction:
    """An auction live from T0 to END opening at $100, with overrides."""
    defaults = dict(start_price_cents=100_00, starts_at=T0, ends_at=END)
    return Auction(**(defaults | fields))


def bids(auction: Auction, *pairs: tuple[int, int], at: datetime = NOW) -> Auction:
    """Apply (bidder, max) bids at `at` and return the final state."""
    for bidder, max_cents in pairs:
        auction = place_bid(auction, bidder, max_cents, at).lot
    return auction


def refusal(call, *args, **kwargs) -> RuleViolation:
    """Run a command expected to be refused and return the violation."""
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    return caught.value


# Proxy bidding


def test_first_bid_at_start_price_is_accepted_at_start_price():
    outcome = place_bid(make(), A, 100_00, NOW)
    assert outcome.lot.current_price_cents == 100_00
    assert outcome.lot.leader_id == A
    assert outcome.lot.bid_count == 1
    assert outcome.events == (BidAccepted(A, 100_00, 100_00, A, NOW, None),)


def test_single_bidder_pays_start_price_whatever_their_max():
    auction = bids(make(), (A, 50_000_00))
    assert auction.current_price_cents == 100_00
    assert min_next_bid(auction) == 125_00


def test_no_bids_means_start_price_and_no_leader():
    auction = make()
    assert (auction.current_price_cents, auction.leader_id, auction.runner_up) == (
        100_00,
        None,
        None,
    )
    assert min_next_bid(auction) == 100_00


def test_first_bid_below_start_price_is_rejected():
    error = refusal(place_bid, make(), A, 99_99, NOW)
    assert error.code == "below_minimum"
    assert error.message == "Your maximum must be at least $100.00."


def test_bid_below_increment_is_rejected():
    auction = bids(make(start_price_cents=1_000_00), (A, 1_000_00))
    error = refusal(place_bid, auction, B, 1_099_99, NOW)
    assert error.code == "below_minimum"
    assert error.message == "Your maximum must be at least $1,100.00."


def test_bid_of_exactly_one_increment_is_accepted():
    auction = bids(make(), (A, 100_00), (B, 125_00))
    assert auction.leader_id == B


def test_second_bidder_below_leader_max_raises_price_and_leader_keeps_lead():
    auction = bids(make(), (A, 500_00))
    outcome = place_bid(auction, B, 200_00, NOW)
    assert outcome.lot.leader_id == A
    assert outcome.lot.current_price_cents == 225_00
    assert outcome.events == (BidAccepted(B, 200_00, 225_00, A, NOW, None),)


def test_second_bidder_equal_to_leader_max_leaves_earlier_bidder_leading_at_that_max():
    auction = bids(make(), (A, 500_00), (B, 500_00))
    assert auction.leader_id == A
    assert auction.current_price_cents == 500_00
    assert auction.runner_up == Proxy(B, 500_00, 2)


def test_second_bidder_above_leader_max_takes_lead_and_outbids_previous_leader():
    auction = bids(make(), (A, 500_00))
    outcome = place_bid(auction, B, 800_00, NOW)
    assert outcome.lot.leader_id == B
    assert outcome.lot.current_price_cents == 525_00
    assert outcome.events == (BidAccepted(B, 800_00, 525_00, B, NOW, None), Outbid(A, 525_00))


def test_price_is_capped_at_leader_max_when_increment_would_pass_it():
    auction = bids(make(), (A, 500_00), (B, 510_00))
    assert auction.leader_id == B
    assert auction.current_price_cents == 510_00


def test_increment_follows_the_runner_up_tier():
    auction = bids(make(start_price_cents=900_00), (A, 5_000_00), (B, 1_000_00))
    assert auction.current_price_cents == 1_100_00


def test_leader_raising_own_max_keeps_price_and_emits_no_outbid():
    auction = bids(make(), (A, 500_00), (B, 200_00))
    outcome = place_bid(auction, A, 900_00, NOW)
    assert outcome.lot.current_price_cents == 225_00
    assert outcome.lot.max_for(A) == 900_00
    assert outcome.events == (BidAccepted(A, 900_00, 225_00, A, NOW, None),)


def test_lone_leader_raising_own_max_keeps_start_price():
    auction = bids(make(), (A, 500_00), (A, 5_000_00))
    assert auction.current_price_cents == 100_00
    assert auction.bid_count == 2
    assert len(auction.proxies) == 1


def test_leader_raise_after_near_tie_prices_as_if_the_higher_max_had_been_bid_at_once():
    # B leads at its own max (A's max plus an increment would pass it); raising B's max lets the
    # derived price become A's max plus one increment, the same as a single bid of the new max.
    auction = bids(make(), (A, 500_00), (B, 510_00))
    assert bids(auction, (B, 900_00)).current_price_cents == 525_00
    assert bids(make(), (A, 500_00), (B, 900_00)).current_price_cents == 525_00


@pytest.mark.parametrize("amount", [400_00, 500_00])
def test_rebid_not_above_own_max_is_rejected(amount):
    auction = bids(make(), (A, 500_00))
    error = refusal(place_bid, auction, A, amount, NOW)
    assert error.code == "not_above_own_max"
    assert "$500.00" in error.message


def test_runner_up_rebid_below_minimum_is_rejected_and_above_it_takes_lead():
    auction = bids(make(), (A, 1_000_00), (B, 800_00))
    assert min_next_bid(auction) == 850_00
    assert refusal(place_bid, auction, B, 800_00, NOW).code == "below_minimum"
    assert bids(auction, (B, 1_200_00)).leader_id == B


def test_min_bid_for_existing_bidder_is_one_cent_above_own_max():
    auction = bids(make(), (A, 500_00))
    assert min_bid_for(auction, A) == 500_01
    assert min_bid_for(auction, B) == 125_00


def test_raised_max_counts_as_later_so_equal_earlier_max_keeps_lead():
    auction = bids(make(), (A, 500_00), (B, 500_00), (A, 600_00), (B, 600_00))
    assert auction.leader_id == A
    auction = bids(make(), (A, 500_00), (B, 700_00), (A, 700_00))
    assert auction.leader_id == B
    assert auction.current_price_cents == 700_00


def test_raise_replaces_the_proxy_with_a_new_order():
    auction = bids(make(), (A, 500_00), (B, 300_00), (A, 900_00))
    assert set(auction.proxies) == {Proxy(B, 300_00, 2), Proxy(A, 900_00, 3)}
    assert auction.next_order == 4


def test_third_bidder_between_leader_and_runner_up_becomes_runner_up():
    auction = bids(make(), (A, 1_000_00), (B, 300_00), (C, 600_00))
    assert auction.leader_id == A
    assert auction.runner_up.bidder_id == C
    assert auction.current_price_cents == 625_00


# Reserve


def test_bid_below_reserve_reports_reserve_not_met():
    outcome = place_bid(make(reserve_cents=1_000_00), A, 500_00, NOW)
    assert outcome.lot.reserve_met is False
    assert outcome.events[0].reserve_met is False
    assert outcome.lot.current_price_cents == 100_00


def test_bid_crossing_reserve_raises_price_to_reserve():
    outcome = place_bid(make(reserve_cents=1_000_00), A, 2_000_00, NOW)
    assert outcome.lot.reserve_met is True
    assert outcome.lot.current_price_cents == 1_000_00
    assert outcome.events[0].reserve_met is True


def test_leader_raising_max_across_reserve_raises_price_to_reserve():
    auction = bids(make(reserve_cents=1_000_00), (A, 500_00), (B, 200_00))
    assert auction.current_price_cents == 225_00
    auction = bids(auction, (A, 1_000_00))
    assert auction.current_price_cents == 1_000_00
    assert auction.reserve_met is True


def test_price_above_reserve_follows_runner_up():
    auction = bids(make(reserve_cents=1_000_00), (A, 3_000_00), (B, 2_000_00))
    assert auction.current_price_cents == 2_100_00


def test_reserve_below_start_price_leaves_price_at_start():
    auction = bids(make(reserve_cents=50_00), (A, 400_00))
    assert (auction.current_price_cents, auction.reserve_met) == (100_00, True)


def test_close_with_reserve_not_met_is_unsold():
    auction = bids(make(reserve_cents=1_000_00), (A, 900_00), (B, 800_00))
    outcome = close(auction, END)
    assert outcome.lot.closed_status == LotStatus.UNSOLD
    assert outcome.events == (Closed(LotStatus.UNSOLD, None, None),)


def test_close_with_reserve_met_is_ended_at_price():
    auction = bids(make(reserve_cents=1_000_00), (B, 800_00), (A, 1_500_00))
    assert close(auction, END).events == (Closed(LotStatus.ENDED, A, 1_000_00),)


# Soft close and timing


def test_bid_inside_soft_close_window_extends_end_to_five_minutes_after_it():
    at = END - timedelta(seconds=60)
    outcome = place_bid(make(), A, 100_00, at)
    assert outcome.lot.ends_at == at + timedelta(minutes=5)
    assert outcome.events[-1] == Extended(at + timedelta(minutes=5))


def test_bid_exactly_soft_close_before_end_leaves_end_unchanged():
    outcome = place_bid(make(), A, 100_00, END - timedelta(minutes=5))
    assert outcome.lot.ends_at == END
    assert not any(isinstance(e, Extended) for e in outcome.events)


def test_bid_before_soft_close_window_does_not_extend():
    outcome = place_bid(make(), A, 100_00, END - timedelta(minutes=5, seconds=1))
    assert outcome.lot.ends_at == END
    assert len(outcome.events) == 1


def test_bid_in_last_second_with_zero_soft_close_does_not_extend():
    outcome = place_bid(make(soft_close_seconds=0), A, 100_00, END - timedelta(seconds=1))
    assert outcome.lot.ends_at == END


def test_extended_auction_accepts_bids_until_new_end_and_extends_again():
    first = END - timedelta(seconds=10)
    auction = place_bid(make(), A, 100_00, first).lot
    second = END + timedelta(minutes=4)
    outcome = place_bid(auction, B, 125_00, second)
    assert outcome.lot.ends_at == second + timedelta(minutes=5)
    assert outcome.events == (
        BidAccepted(B, 125_00, 125_00, B, second, None),
        Outbid(A, 125_00),
        Extended(second + timedelta(minutes=5)),
    )


def test_bid_before_start_is_rejected_not_started():
    assert refusal(place_bid, make(), A, 100_00, T0 - timedelta(seconds=1)).code == "not_started"


def test_bid_at_start_time_is_accepted():
    assert place_bid(make(), A, 100_00, T0).lot.bid_count == 1


def test_bid_at_end_time_is_rejected_ended():
    assert refusal(place_bid, make(), A, 100_00, END).code == "ended"


def test_bid_after_end_is_rejected_ended():
    assert refusal(place_bid, make(), A, 100_00, END + timedelta(days=3)).code == "ended"


def test_bid_on_closed_auction_is_rejected_ended():
    auction = make(closed_status=LotStatus.CANCELLED)
    assert refusal(place_bid, auction, A, 100_00, NOW).code == "ended"


# Who may bid and with what


def test_seller_bid_is_rejected():
    error = refusal(place_bid, make(seller_id=SELLER), SELLER, 100_00, NOW)
    assert error.code == "seller_cannot_bid"


def test_platform_lot_accepts_bids_from_anyone():
    assert place_bid(make(seller_id=None), SELLER, 100_00, NOW).lot.leader_id == SELLER


@pytest.mark.parametrize(
    "amount", [150.0, 150.5, True, "15000", None, 0, -100_00, MAX_BID_CENTS + 1]
)
def test_invalid_bid_amount_is_rejected_invalid_amount(amount):
    assert refusal(place_bid, make(), A, amount, NOW).code == "invalid_amount"


def test_invalid_amount_is_reported_before_timing():
    assert refusal(place_bid, make(), A, 1.5, END).code == "invalid_amount"


def test_bid_at_cap_is_accepted():
    assert place_bid(make(), A, MAX_BID_CENTS, NOW).lot.max_for(A) == MAX_BID_CENTS


# Buy now


def test_buy_now_before_any_bid_sells_at_buy_now_price():
    outcome = buy_now(make(buy_now_price_cents=5_000_00), A, NOW)
    assert outcome.lot.closed_status == LotStatus.SOLD
    assert outcome.lot.status(NOW) == LotStatus.SOLD
    assert outcome.events == (Purchased(A, 5_000_00, NOW),)


def test_buy_now_after_first_bid_is_unavailable():
    auction = bids(make(buy_now_price_cents=5_000_00), (B, 100_00))
    assert refusal(buy_now, auction, A, NOW).code == "buy_now_unavailable"


def test_buy_now_after_voided_bid_stays_unavailable():
    auction = void_bidder(bids(make(buy_now_price_cents=5_000_00), (B, 100_00)), B)
    assert refusal(buy_now, auction, A, NOW).code == "buy_now_unavailable"


def test_buy_now_without_buy_now_price_is_unavailable():
    assert refusal(buy_now, make(), A, NOW).code == "buy_now_unavailable"


def test_buy_now_before_start_is_rejected_not_started():
    auction = make(buy_now_price_cents=5_000_00)
    assert refusal(buy_now, auction, A, T0 - timedelta(seconds=1)).code == "not_started"


def test_buy_now_after_end_is_rejected_ended():
    assert refusal(buy_now, make(buy_now_price_cents=5_000_00), A, END).code == "ended"


def test_buy_now_by_seller_is_rejected():
    auction = make(buy_now_price_cents=5_000_00, seller_id=SELLER)
    assert refusal(buy_now, auction, SELLER, NOW).code == "seller_cannot_bid"


def test_bid_after_buy_now_is_rejected_ended():
    auction = buy_now(make(buy_now_price_cents=5_000_00), A, NOW).lot
    assert refusal(place_bid, auction, B, 200_00, NOW).code == "ended"


# Closing and status


def test_close_with_leader_and_no_reserve_is_ended_with_winner_at_price():
    auction = bids(make(), (A, 500_00), (B, 300_00))
    outcome = close(auction, END)
    assert outcome.lot.closed_status == LotStatus.ENDED
    assert outcome.events == (Closed(LotStatus.ENDED, A, 325_00),)


def test_close_without_bids_is_unsold():
    assert close(make(), END).events == (Closed(LotStatus.UNSOLD, None, None),)


def test_close_before_end_is_refused_not_due():
    assert refusal(close, make(), END - timedelta(microseconds=1)).code == "not_due"


def test_close_after_extension_waits_for_new_end():
    auction = place_bid(make(), A, 100_00, END - timedelta(seconds=1)).lot
    assert refusal(close, auction, END).code == "not_due"
    assert close(auction, auction.ends_at).lot.closed_status == LotStatus.ENDED


def test_close_twice_is_refused_ended_and_changes_nothing():
    closed = close(bids(make(), (A, 100_00)), END).lot
    assert refusal(close, closed, END + timedelta(hours=1)).code == "ended"
    assert closed.closed_status == LotStatus.ENDED


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (T0 - timedelta(seconds=1), LotStatus.SCHEDULED),
        (T0, LotStatus.LIVE),
        (END - timedelta(microseconds=1), LotStatus.LIVE),
        (END, LotStatus.ENDED),
    ],
)
def test_status_follows_the_clock_until_closed(now, status):
    assert make().status(now) == status


def test_past_end_without_close_is_due_and_closed_is_not():
    auction = make()
    assert not auction.is_due(END - timedelta(seconds=1))
    assert auction.is_due(END)
    closed = close(auction, END).lot
    assert not closed.is_due(END)
    assert closed.status(END) == LotStatus.UNSOLD


def test_cancel_live_auction_closes_it_cancelled():
    outcome = cancel(bids(make(), (A, 300_00)), NOW)
    assert outcome.lot.status(NOW) == LotStatus.CANCELLED
    assert outcome.events == (Closed(LotStatus.CANCELLED, None, None),)


def test_cancel_after_end_is_refused_ended():
    assert refusal(cancel, make(), END).code == "ended"


# Voiding


def test_void_leader_hands_lead_to_runner_up_and_recomputes_price():
    auction = bids(make(), (A, 500_00), (B, 300_00), (C, 350_00))
    assert auction.current_price_cents == 375_00
    voided = void_bidder(auction, A)
    assert voided.leader_id == C
    assert voided.current_price_cents == 325_00
    assert voided.bid_count == 3


def test_void_only_bidder_returns_price_and_minimum_to_start():
    voided = void_bidder(bids(make(), (A, 500_00)), A)
    assert (voided.current_price_cents, voided.leader_id, min_next_bid(voided)) == (
        100_00,
        None,
        100_00,
    )


def test_void_runner_up_drops_price_to_start():
    voided = void_bidder(bids(make(), (A, 500_00), (B, 300_00)), B)
    assert voided.current_price_cents == 100_00


def test_void_bidder_without_bid_is_refused():
    assert refusal(void_bidder, bids(make(), (A, 500_00)), B).code == "not_a_bidder"


def test_void_on_closed_auction_is_refused_ended():
    closed = close(bids(make(), (A, 500_00)), END).lot
    assert refusal(void_bidder, closed, A).code == "ended"


# Replay, events and construction


def test_replay_of_accepted_bids_rebuilds_an_equal_auction():
    history = [(A, 500_00, NOW), (B, 300_00, NOW), (A, 900_00, END - timedelta(seconds=30))]
    expected = bids(
        bids(make(), (A, 500_00), (B, 300_00)), (A, 900_00), at=END - timedelta(seconds=30)
    )
    assert replay(make(), history) == expected


def test_replay_of_a_refused_bid_raises():
    assert refusal(replay, make(), [(A, 100_00, NOW), (B, 100_00, NOW)]).code == "below_minimum"


def test_event_types_match_live_event_names():
    assert [e.type for e in (BidAccepted, Outbid, Extended, Closed, Purchased)] == [
        "bid_placed",
        "outbid",
        "lot_extended",
        "lot_closed",
        "purchased",
    ]


def test_rejected_bid_leaves_the_auction_unchanged():
    auction = bids(make(), (A, 500_00))
    before = replace(auction)
    refusal(place_bid, auction, B, 101_00, NOW)
    assert auction == before


def test_auction_ending_at_or_before_start_is_invalid():
    assert refusal(make, ends_at=T0).code == "invalid_lot"


def test_auction_with_negative_soft_close_is_invalid():
    assert refusal(make, soft_close_seconds=-1).code == "invalid_lot"


def test_auction_with_two_proxies_for_one_bidder_is_invalid():
    proxies = (Proxy(A, 200_00, 1), Proxy(A, 300_00, 2))
    assert refusal(make, proxies=proxies, next_order=3).code == "invalid_lot"


def test_auction_with_non_integer_start_price_is_invalid_amount():
    assert refusal(make, start_price_cents=100.0).code == "invalid_amount"
