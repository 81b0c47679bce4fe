"""Valuation: a suggested kind, start price and reserve for a released handle, from its name.

Pure functions (no Flask, database or clock). The word lists ship as package data in
auctions/data/. Prices are integer cents.

The rule (a starting point for admins, who change what they want):
- A base value by length: 1 character $1,000,000 down to $10,000 for 7 characters and more.
- Multipliers: a premium word x4, a dictionary word x2, letters only x1; digits x0.5 and
  underscores x0.5 (a name with both takes both). Every price is rounded down to $100 and
  never below the $10,000 floor (FLOOR_CENTS): the platform does not auction a handle for less.
- Kind: premium words go Dutch (the price starts at 4x the value and halves down to the value,
  DESIGN.md section 3); names of 4 characters or fewer and dictionary words go to auction (start
  at half the value, reserve at the value); the rest are fixed-price lots at the value.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .money import MAX_BID_CENTS

FLOOR_CENTS = 10_000_00
ROUND_CENTS = 100_00
# Base values by length (index = length); 7 and longer share the floor.
BASE_BY_LENGTH_CENTS = (0, 1_000_000_00, 500_000_00, 250_000_00, 100_000_00, 50_000_00, 25_000_00)
PREMIUM_FACTOR = 4
WORD_FACTOR = 2
DUTCH_START_FACTOR = 4
SHORT_LENGTH = 4


@dataclass(frozen=True)
class NameFeatures:
    """What the valuation looks at in a name."""

    length: int
    letters_only: bool
    has_digits: bool
    has_underscore: bool
    is_word: bool
    is_premium: bool


@dataclass(frozen=True)
class Suggestion:
    """A suggested listing for a handle: kind plus prices in cents (None where the kind has none)."""

    name: str
    kind: str  # "auction", "fixed" or "dutch"
    value_cents: int
    start_price_cents: int
    reserve_cents: int | None
    floor_price_cents: int | None
    reasons: tuple[str, ...]


def _load(filename: str) -> frozenset[str]:
    """The words of a data file, lower case, without comments and blank lines."""
    text = resources.files("auctions").joinpath("data", filename).read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))


@lru_cache(maxsize=1)
def premium_words() -> frozenset[str]:
    """The shipped premium word list."""
    return _load("premium_words.txt")


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    """The shipped dictionary word list."""
    return _load("dictionary_words.txt")


def features(name: str, premium: frozenset[str] | None = None,
             dictionary: frozenset[str] | None = None) -> NameFeatures:
    """The features of a (case-folded) handle name."""
    key = name.lower()
    premium = premium_words() if premium is None else premium
    dictionary = dictionary_words() if dictionary is None else dictionary
    return NameFeatures(
        length=len(key),
        letters_only=key.isascii() and key.isalpha(),
        has_digits=any(c.isdigit() for c in key),
        has_underscore="_" in key,
        is_word=key in dictionary or key in premium,
        is_premium=key in premium,
    )


def _round(cents: int) -> int:
    """Round down to $100, within the floor and the largest amount the engine accepts."""
    return min(MAX_BID_CENTS, max(FLOOR_CENTS, cents // ROUND_CENTS * ROUND_CENTS))


def value_cents(f: NameFeatures) -> int:
    """What a name with these features is worth, in cents (at least the floor)."""
    if f.length < 1:
        raise ValueError("a handle has at least one character")
    cents = BASE_BY_LENGTH_CENTS[f.length] if f.length < len(BASE_BY_LENGTH_CENTS) else FLOOR_CENTS
    if f.is_premium:
        cents *= PREMIUM_FACTOR
    elif f.is_word:
        cents *= WORD_FACTOR
    if f.has_digits:
        cents //= 2
    if f.has_underscore:
        cents //= 2
    return _round(cents)


def suggest_for(name: str, f: NameFeatures) -> Suggestion:
    """The suggested listing for a name with known features."""
    value = value_cents(f)
    reasons = [f"{f.length} characters"]
    if f.is_premium:
        reasons.append("premium word")
    elif f.is_word:
        reasons.append("dictionary word")
    if f.letters_only:
        reasons.append("letters only")
    if f.has_digits:
        reasons.append("digits")
    if f.has_underscore:
        reasons.append("underscore")
    if f.is_premium:
        return Suggestion(name, "dutch", value, _round(value * DUTCH_START_FACTOR), None, value, tuple(reasons))
    if f.length <= SHORT_LENGTH or f.is_word:
        return Suggestion(name, "auction", value, _round(value // 2), value, None, tuple(reasons))
    return Suggestion(name, "fixed", value, value, None, None, tuple(reasons))


def suggest(name: str) -> Suggestion:
    """The suggested kind, start price and reserve for a handle name, from the shipped word lists."""
    key = name.lower()
    return suggest_for(key, features(key))
