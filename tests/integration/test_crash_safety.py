"""Crash safety of settlement: a real worker process killed with SIGKILL at each step, then a clean
worker started, ends with the buyer charged once, the handle moved once and the seller paid once.

The worker kills itself at a named point (MARKETPLACE_CRASH_AT, marketplace/faults.py): right
after Stripe captured or charged (money taken, not written down), in the middle of the registry
swap (written, not committed), right after the seller's transfer (paid, not written down).
PostgreSQL only: the worker is a separate process, as in production.
"""
from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

import pytest

from marketplace.clock import SystemClock
from marketplace.faults import POINTS
from tests.factories import into_sellers_account, make_user, released_handle
from tests.procs import ServerProcess
from tests.support import (
    FAKE_STRIPE_PUBLISHABLE_KEY,
    FAKE_STRIPE_SECRET_KEY,
    PG_URL,
    SCHEMA_READY,
    empty_tables,
    fake_stripe_call,
    make_app,
    need,
    postgres_problem,
    reset_schema,
)

PRICE = 1_000_000  # the start price: one bidder wins at it
COMMISSION = 100_000


@pytest.fixture
def world(fake_stripe, gateway):
    """An app on this run's PostgreSQL database with real time (the worker runs on the system clock)."""
    need("PostgreSQL", postgres_problem())
    app = make_app(PG_URL, CLOCK=SystemClock(), CARD_HOLDS=True, STRIPE_API_BASE=fake_stripe,
                   STRIPE_SECRET_KEY=FAKE_STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY=FAKE_STRIPE_PUBLISHABLE_KEY)
    if PG_URL not in SCHEMA_READY:
        reset_schema(app)
        SCHEMA_READY.add(PG_URL)
    empty_tables(app)
    app.extensions["gateway"] = gateway
    try:
        yield app
    finally:
        empty_tables(app)
        with app.app_context():
            from marketplace.extensions import db
            db.engine.dispose()


def sell_one_lot(app, gateway, lapsed_hold: bool) -> dict:
    """A seller's lot ending in two seconds, with one bidder whose card is authorised."""
    from marketplace.extensions import db
    from marketplace.models import CardHold, User
    from marketplace.wiring import bidding, listings

    with app.app_context():
        seller = make_user()
        account = gateway.create_connected_account(seller.email, f"acct:{seller.id}")
        db.session.get(User, seller.id).stripe_account_id = account
        buyer = make_user(card="pm_card_visa")
        admin = make_user(admin=True)
        now = listings().clock.now()
        lot = listings().create(admin, {"handle": released_handle().display, "kind": "auction",
                                        "start_price_cents": PRICE, "soft_close_seconds": 0,
                                        "ends_at": (now + timedelta(seconds=2)).isoformat()})
        into_sellers_account(lot, seller)
        bidding().place(buyer, lot.id, 2 * PRICE, "crash-test")
        if lapsed_hold:  # the hold is gone: settlement charges the saved card instead
            for hold in db.session.query(CardHold).filter_by(user_id=buyer.id):
                hold.expires_at = now
            db.session.commit()
        facts = {"lot_id": lot.id, "buyer_id": buyer.id, "seller_account": account}
        db.session.remove()
    return facts


def worker(name: str, log_dir, fake_stripe: str, crash_at: str | None = None) -> ServerProcess:
    env = {"DATABASE_URL": PG_URL, "STRIPE_API_BASE": fake_stripe, "STRIPE_SECRET_KEY": FAKE_STRIPE_SECRET_KEY,
           "STRIPE_PUBLISHABLE_KEY": FAKE_STRIPE_PUBLISHABLE_KEY, "MARKETPLACE_CARD_HOLDS": "1",
           "MARKETPLACE_WORKER_INTERVAL": "0.05", "MARKETPLACE_CRASH_AT": crash_at or "", "REDIS_URL": ""}
    return ServerProcess(name, log_dir, env, args=("-m", "flask", "--app", "wsgi", "worker")).start()


def order_status(app, lot_id: int) -> str | None:
    from marketplace.extensions import db
    from marketplace.models import Order

    with app.app_context():
        try:
            order = db.session.query(Order).filter_by(listing_id=lot_id).one_or_none()
            return order.status if order else None
        finally:
            db.session.remove()


@pytest.mark.parametrize("crash_at", POINTS)
def test_worker_killed_mid_settlement_finishes_exactly_once(world, gateway, fake_stripe, tmp_path, crash_at):
    from marketplace.extensions import db
    from marketplace.models import Handle, Listing, Order, PaymentRecord

    facts = sell_one_lot(world, gateway, lapsed_hold=crash_at == "after_charge")
    time.sleep(2.2)  # the lot's end passes; the worker closes it
    doomed = worker("crashing", tmp_path, fake_stripe, crash_at)
    try:
        assert doomed.proc.wait(60) == -9, doomed.log_text()  # killed by SIGKILL at the point
    finally:
        doomed.stop()
    assert order_status(world, facts["lot_id"]) not in (None, "completed")
    clean = worker("clean", tmp_path, fake_stripe)
    try:
        deadline = time.monotonic() + 60
        while order_status(world, facts["lot_id"]) != "completed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert order_status(world, facts["lot_id"]) == "completed", clean.log_text()
    finally:
        clean.stop()

    status, intents = fake_stripe_call(fake_stripe, "GET", "/v1/payment_intents", {"limit": 100})
    taken = [gateway.retrieve(i["id"]).amount_received_cents for i in intents["data"] if i["status"] == "succeeded"]
    assert taken == [PRICE], "the buyer must be charged exactly once"
    transfers = gateway.list_transfers(destination=facts["seller_account"])
    assert [t["amount_cents"] for t in transfers] == [PRICE - COMMISSION], "the seller must be paid exactly once"
    with world.app_context():
        listing = db.session.get(Listing, facts["lot_id"])
        handle = db.session.get(Handle, listing.handle_id)
        assert handle.account.user_id == facts["buyer_id"] and listing.closed_status == "sold"
        order = db.session.query(Order).filter_by(listing_id=facts["lot_id"]).one()
        kinds = sorted(r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order.id))
        assert kinds == sorted(["charged" if crash_at == "after_charge" else "captured", "payout"])
        db.session.remove()


# ---- a server killed in the middle of a bid --------------------------------------------------

@pytest.fixture
def bid_world(tmp_path):
    """A live auction with one committed bid, in this run's PostgreSQL database (card holds off)."""
    need("PostgreSQL", postgres_problem())
    app = make_app(PG_URL, CLOCK=SystemClock())
    if PG_URL not in SCHEMA_READY:
        reset_schema(app)
        SCHEMA_READY.add(PG_URL)
    empty_tables(app)
    from marketplace.extensions import db
    from marketplace.wiring import bidding
    from tests.factories import make_auction

    with app.app_context():
        bidder, rival = make_user(), make_user()
        lot = make_auction(minutes=60, start_cents=100_000)
        bidding().place(rival, lot.id, 150_000, "rival-1")
        facts = {"lot_id": lot.id, "email": bidder.email, "bidder_id": bidder.id}
        db.session.remove()
        db.engine.dispose()
    try:
        yield app, facts
    finally:
        empty_tables(app)
        with app.app_context():
            db.engine.dispose()


def bid_server(name: str, log_dir, crash_at: str | None = None) -> ServerProcess:
    env = {"DATABASE_URL": PG_URL, "MARKETPLACE_CARD_HOLDS": "0", "MARKETPLACE_RUN_WORKER": "0",
           "MARKETPLACE_DEMO_DATA": "0", "MARKETPLACE_RATELIMIT": "0", "STRIPE_API_BASE": "http://127.0.0.1:9",
           "SECRET_KEY": "crash-test-secret", "MARKETPLACE_CRASH_AT": crash_at or "", "REDIS_URL": ""}
    server = ServerProcess(name, log_dir, env).start()
    server.wait_ready(30)
    return server


def lot_rows(app, lot_id: int) -> dict:
    """What the database holds for the lot: its row, its history, its events."""
    from marketplace.extensions import db
    from marketplace.models import Bid, Listing, LotEvent, ProxyBid

    with app.app_context():
        try:
            listing = db.session.get(Listing, lot_id)
            return {"bid_count": listing.bid_count, "seq": listing.seq, "price": listing.current_price_cents,
                    "bids": db.session.query(Bid).filter_by(listing_id=lot_id).count(),
                    "events": db.session.query(LotEvent).filter_by(listing_id=lot_id).count(),
                    "proxies": sorted((p.bidder_id, p.max_cents) for p in
                                      db.session.query(ProxyBid).filter_by(listing_id=lot_id))}
        finally:
            db.session.remove()


@pytest.mark.parametrize("crash_at", ["mid_bid", "after_bid_commit"])
def test_server_killed_mid_bid_leaves_no_half_bid_and_the_retry_counts_once(bid_world, tmp_path, crash_at):
    from tests.procs import http_json

    app, facts = bid_world
    lot_id = facts["lot_id"]
    before = lot_rows(app, lot_id)
    doomed = bid_server("crashing", tmp_path, crash_at)
    try:
        status, body = http_json("POST", doomed.url + "/api/v1/tokens",
                                 {"email": facts["email"], "password": "correct-horse-battery"})
        assert status == 201, body
        bearer = body["token"]
        request = urllib.request.Request(f"{doomed.url}/api/v1/lots/{lot_id}/bids", method="POST",
                                         data=json.dumps({"max_amount_cents": 300_000}).encode(),
                                         headers={"Content-Type": "application/json", "Idempotency-Key": "k-crash",
                                                  "Authorization": f"Bearer {bearer}"})
        with pytest.raises(OSError):  # the server dies before it answers
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback test server
        assert doomed.proc.wait(20) == -9, doomed.log_text()
    finally:
        doomed.stop()
    after_crash = lot_rows(app, lot_id)
    if crash_at == "mid_bid":
        assert after_crash == before, "a killed bid transaction left rows behind"
    else:
        assert after_crash["bids"] == before["bids"] + 1 and after_crash["seq"] == before["seq"] + 1

    clean = bid_server("clean", tmp_path)
    try:
        retry = http_json("POST", f"{clean.url}/api/v1/lots/{lot_id}/bids", {"max_amount_cents": 300_000,
                          "key": "k-crash"}, token=bearer)
    finally:
        clean.stop()
    status, body = retry
    assert status == (201 if crash_at == "mid_bid" else 200), body  # 200: the committed bid, replayed
    final = lot_rows(app, lot_id)
    assert final["bids"] == before["bids"] + 1 and final["bid_count"] == before["bid_count"] + 1
    assert final["seq"] == final["events"] and (facts["bidder_id"], 300_000) in final["proxies"]
    assert final["price"] == 160_000  # one increment over the rival's $1,500
