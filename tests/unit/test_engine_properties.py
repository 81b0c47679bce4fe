"""Properties of proxy bidding over random bid sequences (hypothesis)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from auctions import (
    Auction,
    BidAccepted,
    Closed,
    Extended,
    LotStatus,
    Outbid,
    RuleViolation,
    close,
    increment_for,
    min_next_bid,
    place_bid,
    replay,
    void_bidder,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# Each drawn bid names its amount in one of three ways, so that most bids are valid, some tie the
# leader exactly, and some are plain random numbers (mostly refused once the price has risen).
bid_steps = st.lists(
    st.tuples(
        st.integers(1, 5),  # bidder
        st.sampled_from(["above_minimum", "tie_leader", "absolute"]),
        st.integers(-2_00, 3_000_000_00),
        st.integers(0, 120) | st.integers(0, 1_500),  # seconds since the previous bid
    ),
    max_size=30,
)

lots = st.builds(
    Auction,
    start_price_cents=st.integers(1, 200_000_00),
    starts_at=st.just(T0),
    # Short lots too, so that random gaps often land in the soft-close window or past the end.
    ends_at=st.integers(60, 2 * 3600).map(lambda seconds: T0 + timedelta(seconds=seconds)),
    reserve_cents=st.none() | st.integers(1, 2_000_000_00),
    soft_close_seconds=st.sampled_from([0, 60, 300]),
    seller_id=st.none() | st.integers(1, 5),
)


def expected_price(a: Auction) -> int:
    """DESIGN.md section 4 written out independently of the engine."""
    ranked = sorted(a.proxies, key=lambda p: (-p.max_cents, p.order))
    if not ranked:
        return a.start_price_cents
    leader_max = ranked[0].max_cents
    price = a.start_price_cents
    if len(ranked) > 1:
        second = ranked[1].max_cents
        price = max(a.start_price_cents, min(leader_max, second + increment_for(second)))
    if a.reserve_cents is not None and leader_max >= a.reserve_cents:
        price = max(price, a.reserve_cents)
    return price


def amount_for(a: Auction, how: str, value: int) -> int:
    """Turn a drawn (how, value) into a bid amount against the current state."""
    if how == "above_minimum":
        return min_next_bid(a) + value // 1_000
    if how == "tie_leader" and a.proxies:
        return max(p.max_cents for p in a.proxies)
    return value


def should_accept(a: Auction, bidder: int, amount: int, now: datetime) -> bool:
    """The acceptance rule, stated from the outside."""
    own = a.max_for(bidder)
    return (
        amount > 0
        and a.starts_at <= now < a.ends_at
        and bidder != a.seller_id
        and amount >= min_next_bid(a)
        and (own is None or amount > own)
    )


def run(a: Auction, steps) -> tuple[Auction, list[tuple[int, int, datetime]]]:
    """Apply steps through place_bid, checking invariants; return the state and accepted bids."""
    accepted = []
    now = T0
    for bidder, how, value, gap in steps:
        now += timedelta(seconds=gap)
        amount = amount_for(a, how, value)
        before = a
        try:
            outcome = place_bid(a, bidder, amount, now)
        except RuleViolation as error:
            assert not should_accept(a, bidder, amount, now), error.code
            continue
        assert should_accept(before, bidder, amount, now)
        a = outcome.lot
        accepted.append((bidder, amount, now))
        check_step(before, a, outcome.events, bidder, amount, now)
    return a, accepted


def check_step(
    before: Auction, a: Auction, events, bidder: int, amount: int, now: datetime
) -> None:
    """Invariants of one accepted bid."""
    leader = a.leader
    top = max(p.max_cents for p in a.proxies)
    earliest_top = min(p.order for p in a.proxies if p.max_cents == top)
    assert (leader.max_cents, leader.order) == (top, earliest_top)
    assert a.current_price_cents <= leader.max_cents
    assert a.current_price_cents == expected_price(a)
    assert a.current_price_cents >= before.current_price_cents
    assert a.bid_count == before.bid_count + 1
    assert a.max_for(bidder) == amount
    assert len({p.bidder_id for p in a.proxies}) == len(a.proxies)
    assert events[0] == BidAccepted(
        bidder, amount, a.current_price_cents, a.leader_id, now, a.reserve_met
    )
    outbids = [e for e in events if isinstance(e, Outbid)]
    if before.leader_id is not None and before.leader_id != a.leader_id:
        assert outbids == [Outbid(before.leader_id, a.current_price_cents)]
    else:
        assert outbids == []
    extended = [e for e in events if isinstance(e, Extended)]
    assert a.ends_at >= before.ends_at
    assert extended == ([Extended(a.ends_at)] if a.ends_at != before.ends_at else [])


@settings(deadline=None, database=None, max_examples=500)
@given(lot=lots, steps=bid_steps)
def test_random_bid_sequences_keep_proxy_invariants_and_replay_equal(lot, steps):
    final, accepted = run(lot, steps)
    assert final.bid_count == len(accepted)
    assert replay(lot, accepted) == final


@settings(deadline=None, database=None)
@given(lot=lots, steps=bid_steps)
def test_close_after_random_bids_names_leader_exactly_when_reserve_is_met(lot, steps):
    final, _ = run(lot, steps)
    outcome = close(final, final.ends_at)
    wins = final.leader is not None and (
        final.reserve_cents is None or final.leader.max_cents >= final.reserve_cents
    )
    if wins:
        assert outcome.events == (
            Closed(LotStatus.ENDED, final.leader_id, final.current_price_cents),
        )
    else:
        assert outcome.events == (Closed(LotStatus.UNSOLD, None, None),)


@settings(deadline=None, database=None)
@given(lot=lots, steps=bid_steps, victim=st.integers(1, 5))
def test_voiding_a_bidder_prices_from_the_remaining_proxies(lot, steps, victim):
    final, _ = run(lot, steps)
    if final.max_for(victim) is None:
        return
    voided = void_bidder(final, victim)
    assert voided.max_for(victim) is None
    assert voided.current_price_cents == expected_price(voided)
    assert voided.current_price_cents <= final.current_price_cents
    assert voided.bid_count == final.bid_count
