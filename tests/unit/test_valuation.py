"""Valuation: suggested kind and prices from a handle's name."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from auctions import FLOOR_CENTS, MAX_BID_CENTS, NameFeatures, suggest, suggest_for, value_cents
from auctions.valuation import dictionary_words, premium_words

handles = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=15)
features = st.builds(NameFeatures, length=st.integers(1, 15), letters_only=st.booleans(), has_digits=st.booleans(),
                     has_underscore=st.booleans(), is_word=st.booleans(), is_premium=st.booleans())


@given(features, st.integers(1, 14))
def test_shorter_is_never_cheaper_all_else_equal(f, shorter):
    from dataclasses import replace
    shorter = min(shorter, f.length)
    assert value_cents(replace(f, length=shorter)) >= value_cents(f)


@given(features)
def test_premium_is_worth_at_least_plain(f):
    from dataclasses import replace
    assert value_cents(replace(f, is_premium=True)) >= value_cents(replace(f, is_premium=False))
    assert value_cents(replace(f, is_word=True)) >= value_cents(replace(f, is_word=False))


@given(handles)
def test_prices_are_int_cents_between_the_floor_and_the_maximum(name):
    s = suggest(name)
    for cents in (s.value_cents, s.start_price_cents, s.reserve_cents, s.floor_price_cents):
        if cents is not None:
            assert isinstance(cents, int) and FLOOR_CENTS <= cents <= MAX_BID_CENTS
            assert cents % 100_00 == 0
    assert s.kind in ("auction", "fixed", "dutch")


@given(handles)
def test_each_kind_carries_the_prices_it_needs(name):
    s = suggest(name)
    if s.kind == "auction":
        assert s.reserve_cents is not None and s.reserve_cents >= s.start_price_cents
    elif s.kind == "dutch":
        assert s.floor_price_cents is not None and s.floor_price_cents <= s.start_price_cents
    else:
        assert s.reserve_cents is None and s.floor_price_cents is None


def test_word_lists_ship_as_package_data():
    assert "crypto" in premium_words() and "ocean" in dictionary_words()
    assert all(w == w.lower() and not w.startswith("#") for w in premium_words() | dictionary_words())


def test_examples_follow_the_rule():
    assert suggest("Pizza").kind == "dutch"
    assert suggest("ocean").kind == "auction" and suggest("ocean").reserve_cents == 100_000_00
    assert suggest("abc").kind == "auction"
    assert suggest("longername_42").kind == "fixed" and suggest("longername_42").start_price_cents == FLOOR_CENTS


def test_suggest_for_uses_the_given_features():
    f = NameFeatures(length=3, letters_only=True, has_digits=False, has_underscore=False, is_word=False,
                     is_premium=False)
    assert suggest_for("xyz", f).value_cents == 250_000_00
