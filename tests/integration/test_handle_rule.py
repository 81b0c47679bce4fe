"""The handle rule, as properties: only 1-15 ASCII letters, digits and underscores are accepted, and
names that differ only in case are one handle, so no two handles can look the same."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.errors import BadRequest
from marketplace.registry import parse_handle

ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@given(st.text(max_size=20))
def test_only_the_ascii_rule_is_accepted(raw):
    try:
        key, display = parse_handle(raw)
    except BadRequest as exc:
        assert exc.code == "invalid_handle"
        text = raw.strip().removeprefix("@")
        assert not (1 <= len(text) <= 15 and set(text) <= ALLOWED)
        return
    assert 1 <= len(display) <= 15 and set(display) <= ALLOWED and key == display.lower()


@given(st.text(alphabet=sorted(ALLOWED), min_size=1, max_size=15))
def test_case_variants_are_one_handle(name):
    assert parse_handle(name)[0] == parse_handle(name.swapcase())[0] == parse_handle("@" + name.upper())[0]


@pytest.mark.parametrize("lookalike", ["раypal", "ｐaypal", "pay\u200bpal", "pay\u00adpal", "paypa\u0301l", "pаypal"])
def test_lookalikes_and_invisible_characters_are_refused(lookalike):
    with pytest.raises(BadRequest):
        parse_handle(lookalike)
