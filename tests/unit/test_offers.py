"""Offers on fixed-price lots: who may answer, counters, expiry, and properties over any sequence."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auctions import RuleViolation
from auctions.offers import (
    MESSAGE_MAX,
    OFFER_SECONDS,
    Negotiation,
    OfferAccepted,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    OfferState,
    OfferWithdrawn,
    Side,
    accept,
    check_message,
    counter,
    decline,
    end,
    expire,
    make_offer,
    withdraw,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PRICE = 50_000_00
TTL = timedelta(seconds=OFFER_SECONDS)


def opened(amount: int = 40_000_00, **fields) -> Negotiation:
    """A negotiation on a $50,000 lot with the buyer's offer made at T0."""
    return make_offer(Negotiation(price_cents=PRICE, **fields), amount, T0).negotiation


def test_buyer_offer_opens_for_48_hours():
    outcome = make_offer(Negotiation(price_cents=PRICE), 40_000_00, T0)
    offer = outcome.negotiation.latest
    assert offer.made_by == Side.BUYER and offer.status == OfferState.PENDING
    assert offer.expires_at == T0 + TTL
    assert outcome.events == (OfferMade(Side.BUYER, 40_000_00, T0 + TTL, False),)


def test_offer_never_outlives_the_lot():
    neg = opened(lot_ends_at=T0 + timedelta(hours=5))
    assert neg.latest.expires_at == T0 + timedelta(hours=5)


def test_offer_on_a_lot_past_its_end_is_refused():
    with pytest.raises(RuleViolation) as refused:
        make_offer(Negotiation(price_cents=PRICE, lot_ends_at=T0), 1_00, T0)
    assert refused.value.code == "ended"


@pytest.mark.parametrize("amount", [PRICE, PRICE + 1, 10**12])
def test_offer_at_or_above_the_price_says_buy_it_now(amount):
    with pytest.raises(RuleViolation) as refused:
        make_offer(Negotiation(price_cents=PRICE), amount, T0)
    assert refused.value.code in ("offer_not_below_price", "invalid_amount")
    if amount <= PRICE + 1:
        assert "buy it now" in refused.value.message


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", None, True])
def test_offer_amount_must_be_positive_whole_cents(amount):
    with pytest.raises(RuleViolation) as refused:
        make_offer(Negotiation(price_cents=PRICE), amount, T0)
    assert refused.value.code == "invalid_amount"


def test_second_open_offer_in_one_negotiation_is_refused():
    with pytest.raises(RuleViolation) as refused:
        make_offer(opened(), 41_000_00, T0 + timedelta(hours=1))
    assert refused.value.code == "offer_pending"


def test_new_offer_after_the_old_one_expired_marks_it_expired():
    outcome = make_offer(opened(), 41_000_00, T0 + TTL)
    old, new = outcome.negotiation.offers
    assert old.status == OfferState.EXPIRED and new.status == OfferState.PENDING
    assert isinstance(outcome.events[0], OfferExpired)


def test_seller_accepts_buyers_offer():
    outcome = accept(opened(), Side.SELLER, T0 + timedelta(hours=1))
    assert outcome.negotiation.latest.status == OfferState.ACCEPTED
    assert outcome.negotiation.latest.decided_at == T0 + timedelta(hours=1)
    assert outcome.events == (OfferAccepted(Side.SELLER, 40_000_00),)


def test_maker_cannot_accept_decline_or_counter_own_offer():
    neg = opened()
    for command in (lambda: accept(neg, Side.BUYER, T0), lambda: decline(neg, Side.BUYER, T0),
                    lambda: counter(neg, Side.BUYER, 45_000_00, T0)):
        with pytest.raises(RuleViolation) as refused:
            command()
        assert refused.value.code == "own_offer"


def test_only_the_maker_withdraws():
    neg = opened()
    with pytest.raises(RuleViolation) as refused:
        withdraw(neg, Side.SELLER, T0)
    assert refused.value.code == "not_your_offer"
    outcome = withdraw(neg, Side.BUYER, T0)
    assert outcome.negotiation.latest.status == OfferState.WITHDRAWN
    assert outcome.events == (OfferWithdrawn(Side.BUYER, 40_000_00),)


def test_decline_closes_the_offer():
    outcome = decline(opened(), Side.SELLER, T0)
    assert outcome.negotiation.latest.status == OfferState.DECLINED
    assert outcome.events == (OfferDeclined(Side.SELLER, 40_000_00),)
    with pytest.raises(RuleViolation) as refused:
        accept(outcome.negotiation, Side.SELLER, T0)
    assert refused.value.code == "offer_closed" and "declined" in refused.value.message


def test_counter_opens_a_new_offer_from_the_other_side_and_counter_back():
    later = T0 + timedelta(hours=2)
    neg = counter(opened(), Side.SELLER, 47_000_00, later).negotiation
    first, second = neg.offers
    assert first.status == OfferState.COUNTERED and second.made_by == Side.SELLER
    assert second.status == OfferState.PENDING and second.expires_at == later + TTL
    neg = counter(neg, Side.BUYER, 44_000_00, later).negotiation
    assert [o.status for o in neg.offers] == ["countered", "countered", "pending"]
    assert neg.latest.made_by == Side.BUYER
    neg = accept(neg, Side.SELLER, later).negotiation
    assert neg.latest.status == OfferState.ACCEPTED and neg.latest.amount_cents == 44_000_00


def test_counter_must_differ_and_stay_below_the_price():
    with pytest.raises(RuleViolation) as same:
        counter(opened(), Side.SELLER, 40_000_00, T0)
    assert same.value.code == "same_amount"
    with pytest.raises(RuleViolation) as above:
        counter(opened(), Side.SELLER, PRICE, T0)
    assert above.value.code == "offer_not_below_price"


def test_nothing_is_accepted_at_or_after_expiry():
    neg = opened()
    with pytest.raises(RuleViolation) as refused:
        accept(neg, Side.SELLER, T0 + TTL)
    assert refused.value.code == "offer_closed" and "expired" in refused.value.message
    assert accept(neg, Side.SELLER, T0 + TTL - timedelta(microseconds=1)).events


def test_expire_marks_only_due_offers_and_is_repeatable():
    neg = opened()
    assert expire(neg, T0 + TTL - timedelta(seconds=1)).events == ()
    outcome = expire(neg, T0 + TTL)
    assert outcome.negotiation.latest.status == OfferState.EXPIRED
    assert outcome.events == (OfferExpired(Side.BUYER, 40_000_00),)
    assert expire(outcome.negotiation, T0 + TTL * 2).events == ()


def test_lot_sold_ends_the_open_offer_declined_with_a_reason():
    outcome = end(opened(), T0, "sold")
    assert outcome.negotiation.latest.status == OfferState.DECLINED
    assert outcome.events == (OfferDeclined(None, 40_000_00, "sold"),)
    assert end(outcome.negotiation, T0, "sold").events == ()


def test_message_is_optional_and_limited():
    assert check_message(None) is None and check_message("   ") is None
    assert check_message(" hi ") == "hi"
    assert len(check_message("x" * MESSAGE_MAX)) == MESSAGE_MAX
    for bad in ("x" * (MESSAGE_MAX + 1), 5, ["a"]):
        with pytest.raises(RuleViolation):
            check_message(bad)


# ---- properties over any sequence of commands ------------------------------------------------
ACTIONS = st.lists(st.tuples(
    st.sampled_from(["make", "accept", "decline", "counter", "withdraw", "expire", "end"]),
    st.sampled_from(list(Side)),
    st.integers(min_value=-10, max_value=PRICE + 10) | st.integers(min_value=1, max_value=PRICE - 1),
    st.integers(min_value=0, max_value=3 * OFFER_SECONDS),
), max_size=25)


def run(neg: Negotiation, action: str, side: Side, amount: int, now: datetime):
    """Apply one command; a refused one returns None (and must change nothing)."""
    commands = {"make": lambda: make_offer(neg, amount, now), "accept": lambda: accept(neg, side, now),
                "decline": lambda: decline(neg, side, now), "counter": lambda: counter(neg, side, amount, now),
                "withdraw": lambda: withdraw(neg, side, now), "expire": lambda: expire(neg, now),
                "end": lambda: end(neg, now, "sold")}
    try:
        return commands[action]()
    except RuleViolation:
        return None


@settings(max_examples=300, deadline=None)
@given(ACTIONS)
def test_any_sequence_keeps_at_most_one_pending_offer_and_accepts_nothing_expired(steps):
    neg = Negotiation(price_cents=PRICE)
    now = T0
    for action, side, amount, gap in steps:
        now = now + timedelta(seconds=gap)
        before = neg
        outcome = run(neg, action, side, amount, now)
        if outcome is None:
            assert neg == before  # a refusal changes nothing
            continue
        neg = outcome.negotiation
        pending = [o for o in neg.offers if o.status == OfferState.PENDING]
        assert len(pending) <= 1
        assert all(o.status != OfferState.PENDING for o in neg.offers[:-1])  # only the newest can be open
        for event in outcome.events:
            if isinstance(event, OfferAccepted):
                accepted = neg.latest
                assert accepted.status == OfferState.ACCEPTED and now < accepted.expires_at
                assert accepted.made_by != event.by  # the side that did not make it accepted it
        assert all(0 < o.amount_cents < PRICE for o in neg.offers)
        # Each counter is made by the other side from the offer it answers, and differs from it.
        for previous, current in zip(neg.offers, neg.offers[1:]):
            if previous.status == OfferState.COUNTERED:
                assert current.made_by == previous.made_by.other
                assert current.amount_cents != previous.amount_cents


@settings(max_examples=200, deadline=None)
@given(ACTIONS, st.integers(min_value=0, max_value=OFFER_SECONDS))
def test_after_an_offer_expires_no_command_accepts_it(steps, extra):
    neg = opened()
    due = neg.latest.expires_at + timedelta(seconds=extra)
    for side in Side:
        with pytest.raises(RuleViolation):
            accept(neg, side, due)
    # Whatever else happens after expiry, the first offer is never accepted.
    for action, side, amount, gap in steps:
        due = due + timedelta(seconds=gap)
        outcome = run(neg, action, side, amount, due)
        if outcome is not None:
            neg = outcome.negotiation
        assert neg.offers[0].status != OfferState.ACCEPTED
