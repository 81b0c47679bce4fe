"""Hostile input, property-based: arbitrary JSON bodies, query strings and socket payloads never get
a 500, refusals carry a code and a message, and a refused request changes nothing.

Hypothesis generates the inputs; every endpoint that takes a body or parameters is covered, and
the Socket.IO events. State is compared before and after each refused request (row counts of
every table that a write could touch).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import Bid, Listing, Order, ProxyBid, User
from tests.factories import make_auction, make_user
from tests.integration.test_api import token_for
from tests.support import socket_client

# JSON-ish values, including the awkward ones: huge and negative numbers, floats, booleans,
# unicode look-alikes and zero-width characters, nesting.
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
           | st.sampled_from(["", "0", "-1", "1e9", "ｈandle", "h\u200bandle", "@@", "NaN", "null", "a" * 300]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=12), inner, max_size=4), max_leaves=8)
FIELDS = ["max_amount_cents", "max_price_cents", "key", "email", "password", "display_name", "handle", "kind",
          "start_price_cents", "reserve_cents", "price_cents", "ends_at", "starts_at", "payment_method",
          "floor_price_cents", "half_life_seconds", "soft_close_seconds", "eligibility", "buy_now_price_cents",
          "bidder_alias", "reason", "verified", "all"]
BODIES = JSON | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5)

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def counts() -> tuple[int, ...]:
    db.session.rollback()
    return tuple(db.session.query(model).count() for model in (User, Listing, Bid, ProxyBid, Order))


def check_answer(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400 and response.is_json:
        error = response.get_json()["error"]
        assert error["code"] and error["message"]


@pytest.fixture
def world(app, client):
    lot = make_auction(start_cents=100_000)
    buyer = make_user()
    admin = make_user(admin=True)
    return {"lot": lot.id, "buyer": token_for(client, buyer), "admin": token_for(client, admin)}


@pytest.mark.parametrize("path,who", [
    ("/api/v1/users", None), ("/api/v1/tokens", None), ("/api/v1/lots/{lot}/bids", "buyer"),
    ("/api/v1/lots/{lot}/buy", "buyer"), ("/api/v1/admin/lots", "admin"), ("/api/v1/orders/1/pay", "buyer"),
    ("/api/v1/orders/1/accept", "buyer"), ("/api/v1/orders/1/decline", "buyer"),
    ("/api/v1/admin/lots/{lot}/voids", "admin"), ("/api/v1/admin/users/1/verification", "admin"),
    ("/api/v1/admin/users/1/strikes/clear", "admin"),
])
def test_posted_bodies_never_break_the_api(app, client, world, path, who):
    url = path.format(lot=world["lot"])
    headers = world[who] if who else {}

    @FUZZ
    @given(body=BODIES)
    def post(body):
        before = counts()
        response = client.post(url, json=body, headers=headers)
        check_answer(response)
        if response.status_code >= 400:
            assert counts() == before, f"a refused request changed something: {body!r}"

    post()


def test_patched_lots_and_raw_bodies_never_break_the_api(app, client, world):
    @FUZZ
    @given(body=BODIES, raw=st.binary(max_size=60), key=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=120))
    def send(body, raw, key):
        before = counts()
        patched = client.patch(f"/api/v1/admin/lots/{world['lot']}", json=body, headers=world["admin"])
        check_answer(patched)
        garbage = client.post(f"/api/v1/lots/{world['lot']}/bids", data=raw, content_type="application/json",
                              headers={**world["buyer"], "Idempotency-Key": key})
        check_answer(garbage)
        if patched.status_code >= 400 and garbage.status_code >= 400:
            assert counts() == before

    send()


def test_query_strings_never_break_lists_and_pages(app, client, world):
    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(["page", "per_page", "status", "kind", "q", "sort"]),
                                  st.text(max_size=40), max_size=4))
    def get(params):
        for url in ("/api/v1/lots", f"/api/v1/lots/{world['lot']}/bids", "/"):
            check_answer(client.get(url, query_string=params))

    get()


def test_socket_payloads_never_break_the_server(app, client, world):
    from tests.factories import login

    signed_in = app.test_client()
    login(signed_in, make_user())
    sock = socket_client(app, signed_in)
    try:
        @FUZZ
        @given(event=st.sampled_from(["watch", "unwatch", "bid", "hello"]), payload=BODIES)
        def emit(event, payload):
            before = counts()
            ack = sock.emit(event, payload, callback=True)
            if isinstance(ack, dict) and "error" in ack:
                assert ack["error"]["code"] and ack["error"]["message"]
                assert counts() == before
            sock.get_received()

        emit()
        assert sock.is_connected()
    finally:
        sock.disconnect()


def test_huge_ids_and_nul_characters_are_refused_everywhere(app, client, world):
    from tests.factories import csrf_token, login

    huge = 2**40
    for url in (f"/lots/{huge}", f"/orders/{huge}", f"/api/v1/lots/{huge}", f"/api/v1/orders/{huge}"):
        assert client.get(url, headers=world["buyer"]).status_code == 404, url
    login(client, make_user())
    assert client.get("/", query_string={"q": "a\x00b"}).status_code == 400
    assert client.post("/login", data={"email": "x\x00@example.com", "password": "p",
                                       "csrf_token": csrf_token(client)}).status_code == 400
    api = client.post("/api/v1/tokens", json={"email": "x\x00@example.com", "password": "p"})
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "invalid_text"
