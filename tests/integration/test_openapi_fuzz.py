"""Schemathesis against the app in-process (WSGI), driven by docs/openapi.yaml.

Every operation the description lists is called with generated requests, valid and invalid
(schemathesis's positive and negative modes), as a signed-in buyer with a saved card, or as an
admin for the admin operations. Each answer must not be a server error, must use a status code
the description lists for that operation, and must match that status's body schema; a refused
request (4xx) must change no rows. Path ids are sometimes the ids of real lots and orders, so
the happy paths run too, not only 404s.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.extensions import db
from marketplace.models import ApiToken, Backorder, Bid, Listing, Offer, Order, ProxyBid, User
from marketplace.wiring import listings, offers, purchases
from tests import support
from tests.factories import make_auction, make_user, released_handle
from tests.integration.test_api import token_for

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
schema = schemathesis.openapi.from_dict(yaml.safe_load(OPENAPI.read_text(encoding="utf-8")))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# About 20 operations × 2 databases: a few dozen examples each keeps the file near 30 s per database.
FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def app_config(fake_stripe) -> dict:
    """Cards are saved and charged through the fake Stripe server; bids are not card-backed."""
    return {"STRIPE_API_BASE": fake_stripe, "STRIPE_SECRET_KEY": support.FAKE_STRIPE_SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": support.FAKE_STRIPE_PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": support.FAKE_STRIPE_WEBHOOK_SECRET}


@pytest.fixture
def world(app, client) -> dict:
    """Real things for the generated requests to find: lots of each kind, an order, a backorderer."""
    admin = make_user(admin=True)
    buyer = make_user(card="pm_card_visa")
    auction = make_auction(admin=admin, start_cents=100_000, reserve_cents=150_000)
    fixed = listings().create(admin, {"handle": released_handle().display, "kind": "fixed",
                                      "price_cents": 500_000})
    dutch = listings().create(admin, {"handle": released_handle().display, "kind": "dutch",
                                      "start_price_cents": 900_000, "floor_price_cents": 100_000})
    order = purchases().buy(buyer, fixed.id)
    # A lot the buyer sells, taking offers, with another buyer's open offer for the buyer to answer.
    offered = listings().create(admin, {"handle": released_handle().display, "kind": "fixed",
                                        "price_cents": 800_000})
    offered.seller_id, offered.accepts_offers = buyer.id, True
    db.session.commit()
    offer, _ = offers().make(make_user(card="pm_card_visa"), offered.id, 600_000)
    released_handle()  # one more handle in the pool, for admins to list
    return {"lot_id": [auction.id, fixed.id, dutch.id], "order_id": [order.id], "offer_id": [offer.id],
            "user_id": [buyer.id],
            "buyer": token_for(client, buyer), "admin": token_for(client, admin)}


def snapshot() -> tuple:
    """Row counts that a write could change, and the state of every lot and order."""
    db.session.rollback()
    counts = tuple(db.session.query(model).count()
                   for model in (User, ApiToken, Listing, Bid, ProxyBid, Order, Backorder, Offer))
    lots = db.session.query(Listing.id, Listing.current_price_cents, Listing.bid_count, Listing.seq,
                            Listing.reserve_cents, Listing.buy_now_price_cents, Listing.ends_at,
                            Listing.closed_status, Listing.hold_buyer_id).order_by(Listing.id).all()
    orders = db.session.query(Order.id, Order.status, Order.amount_cents).order_by(Order.id).all()
    orders += db.session.query(Offer.id, Offer.status, Offer.amount_cents).order_by(Offer.id).all()
    db.session.rollback()
    return counts, lots, orders


def who(case) -> str | None:
    """Whose token the operation is called with: none where the description says no one is needed."""
    operation = case.operation.definition.raw
    if "admin" in operation.get("tags", []):
        return "admin"
    if operation.get("security") == []:
        return None
    return "buyer"


@schema.parametrize()
@schema.given(pick=st.integers(min_value=0, max_value=5))
@FUZZ
def test_api_answers_as_described_and_refusals_change_nothing(app, client, world, case, pick):
    for name in ("lot_id", "order_id", "offer_id", "user_id"):
        if case.path_parameters and name in case.path_parameters and pick < 3:
            ids = world[name]
            case.path_parameters[name] = ids[pick % len(ids)]
    token = who(case)
    before = snapshot()
    response = case.call_and_validate(app=app, session=client, headers=world[token] if token else None, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert snapshot() == before, f"a refused request changed something: {case.method} {case.formatted_path}"
