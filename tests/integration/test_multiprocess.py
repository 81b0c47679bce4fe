"""Two real server processes sharing PostgreSQL and Redis: a bid on one reaches watchers on the other.

This is the production shape in small (DESIGN.md sections 7 and 8): several `python -m marketplace`
processes behind a proxy, one database, Redis as Socket.IO's message queue, the worker off. A
watcher connected to server B must see a bid placed over HTTP on server A, live, with the right
seq and amount; after a disconnect, `watch {lot_id, since_seq}` on B must replay the missed events
in seq order.
"""
from __future__ import annotations

import functools
import threading
import time
from contextlib import contextmanager

import pytest
import requests
import socketio

from tests.support import (
    PG_URL,
    REDIS_URL,
    empty_tables,
    reset_schema,
    SCHEMA_READY,
    make_app,
    need,
    postgres_problem,
    redis_problem,
)
from marketplace.clock import SystemClock
from tests.factories import PASSWORD, make_auction, make_user
from tests.procs import ServerProcess, http_json, stop_all

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ADMIN_EMAIL = "mp-admin@example.com"
ADMIN_PASSWORD = "mp-admin-password-123"
EVENT_WAIT_SECONDS = 5


@contextmanager
def running_world(log_dir, redis_url: str):
    """Users and a live auction in this run's PostgreSQL database, then servers A and B on it,
    sharing `redis_url` as their message queue.

    The rows are written (and committed) before the servers start, and removed only after both
    have stopped, so no table truncation runs under a live server.
    """
    # Real time: the servers run on the system clock, so the lot must be live by that clock.
    app = make_app(PG_URL, CLOCK=SystemClock())
    if PG_URL not in SCHEMA_READY:
        reset_schema(app)
        SCHEMA_READY.add(PG_URL)
    empty_tables(app)
    servers: list[ServerProcess] = []
    try:
        with app.app_context():
            from marketplace.extensions import db

            # The admin exists before the servers start, so their start-up `ensure_admin` only reads.
            admin = make_user(ADMIN_EMAIL, admin=True)
            bidders = {}
            for name in ("alice", "bob"):
                user = make_user(f"mp-{name}@example.com")
                bidders[name] = {"email": user.email, "alias": user.alias, "id": user.id}
            lot = make_auction(admin, minutes=60, start_cents=100_000)
            lot_id = lot.id
            db.session.remove()
            db.engine.dispose()

        env = {
            "DATABASE_URL": PG_URL,
            "REDIS_URL": redis_url,
            "MARKETPLACE_DEMO_DATA": "0",
            "MARKETPLACE_RUN_WORKER": "0",
            "STRIPE_API_BASE": "http://127.0.0.1:9",  # never used here; keeps the fake Stripe off
            "MARKETPLACE_CARD_HOLDS": "0",  # this test is about fan-out; card holds have their own tests
            "MARKETPLACE_ADMIN_EMAIL": ADMIN_EMAIL,
            "MARKETPLACE_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "SECRET_KEY": "multiprocess-test-secret",
        }
        servers = [ServerProcess(name, log_dir, env) for name in ("A", "B")]
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready(30)
        yield {"a": servers[0], "b": servers[1], "lot_id": lot_id, "bidders": bidders}
    finally:
        stop_all(servers)
        empty_tables(app)
        with app.app_context():
            from marketplace.extensions import db

            db.engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Servers A and B on this run's database and the machine's Redis."""
    need("PostgreSQL", postgres_problem())
    need("Redis", redis_problem())
    with running_world(tmp_path_factory.mktemp("servers"), REDIS_URL) as running:
        yield running


@contextmanager
def logs_on_failure(world):
    """Print both servers' output when the test body fails."""
    try:
        yield
    except BaseException:
        for server in (world["a"], world["b"]):
            print(f"\n----- server {server.name} ({server.url}) output -----\n{server.log_text()}")
        raise


class Watcher:
    """A Socket.IO client (long-polling transport) that records every event it receives."""

    NAMES = ("hello", "lot_state", "bid_placed", "lot_extended", "lot_closed", "error")

    def __init__(self, url: str):
        self.url = url
        self.events: list[tuple[str, dict]] = []
        self._cond = threading.Condition()
        # Our own HTTP session, so it is closed (the client would only drop its own).
        self.http = requests.Session()
        self.sio = socketio.Client(reconnection=False, handle_sigint=False, http_session=self.http)
        for name in self.NAMES:
            self.sio.on(name, functools.partial(self._record, name))

    def _record(self, name: str, data=None) -> None:
        with self._cond:
            self.events.append((name, data))
            self._cond.notify_all()

    def __enter__(self) -> Watcher:
        self.sio.connect(self.url, transports=["polling"], wait_timeout=10)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self.sio.connected:
                self.sio.disconnect()  # waits for the client's read loop to end
        finally:
            self.http.close()

    def watch(self, lot_id: int, since_seq: int | None = None) -> dict:
        payload = {"lot_id": lot_id} if since_seq is None else {"lot_id": lot_id, "since_seq": since_seq}
        ack = self.sio.call("watch", payload, timeout=10)
        assert isinstance(ack, dict) and ack.get("ok") is True, ack
        return ack

    def bids(self, lot_id: int) -> list[dict]:
        with self._cond:
            return [data for name, data in self.events if name == "bid_placed" and data["lot_id"] == lot_id]

    def wait_for_bids(self, lot_id: int, count: int, seconds: float = EVENT_WAIT_SECONDS) -> list[dict]:
        """Wait until `count` bid_placed events for the lot have arrived; return them all."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while True:
                found = [d for n, d in self.events if n == "bid_placed" and d["lot_id"] == lot_id]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._cond.wait(remaining)


def token(server: ServerProcess, email: str, password: str = PASSWORD) -> str:
    status, body = http_json("POST", server.url + "/api/v1/tokens", {"email": email, "password": password})
    assert status == 201, (status, body)
    return body["token"]


def bid_on(server: ServerProcess, world, lot_id: int, tokens: dict[str, str]) -> dict:
    """Outbid the current leader on `server`: the bidder who does not lead names min + $500."""
    status, lot = http_json("GET", f"{server.url}/api/v1/lots/{lot_id}")
    assert status == 200, lot
    name = "bob" if lot["leader_alias"] == world["bidders"]["alice"]["alias"] else "alice"
    amount = lot["min_next_bid_cents"] + 50_000
    status, body = http_json("POST", f"{server.url}/api/v1/lots/{lot_id}/bids",
                             {"max_amount_cents": amount}, token=tokens[name])
    assert status == 201, (status, body)
    assert body["leading"] is True and body["your_max_cents"] == amount
    assert body["lot"]["seq"] == lot["seq"] + 1  # one event (bid_placed): no soft close an hour out
    return body["lot"]


def test_bid_on_server_a_reaches_a_watcher_on_server_b(world):
    a, b, lot_id = world["a"], world["b"], world["lot_id"]
    with logs_on_failure(world):
        tokens = {name: token(a, info["email"]) for name, info in world["bidders"].items()}
        with Watcher(b.url) as watcher:
            ack = watcher.watch(lot_id)
            state = [d for n, d in watcher.events if n == "lot_state"]
            assert state and state[-1]["id"] == lot_id and state[-1]["seq"] == ack["seq"]

            started = time.monotonic()
            lot = bid_on(a, world, lot_id, tokens)
            got = watcher.wait_for_bids(lot_id, 1)
            latency = time.monotonic() - started
            assert got, f"no bid_placed reached server B's watcher within {EVENT_WAIT_SECONDS}s"
            assert len(got) == 1, got
            event = got[0]
            assert event["seq"] == lot["seq"] == ack["seq"] + 1
            assert event["amount_cents"] == lot["current_price_cents"]
            assert event["bid_count"] == lot["bid_count"]
            assert event["alias"] == lot["leader_alias"]
            print(f"\n[multiprocess] bid over HTTP on A -> bid_placed on B's watcher in {latency * 1000:.0f} ms")

        # B serves the same lot from the same database.
        status, on_b = http_json("GET", f"{b.url}/api/v1/lots/{lot_id}")
        assert status == 200 and on_b["seq"] == lot["seq"] and on_b["current_price_cents"] == lot["current_price_cents"]


def test_reconnecting_watcher_on_b_catches_up_on_bids_placed_on_a(world):
    a, b, lot_id = world["a"], world["b"], world["lot_id"]
    with logs_on_failure(world):
        tokens = {name: token(a, info["email"]) for name, info in world["bidders"].items()}
        with Watcher(b.url) as watcher:
            watcher.watch(lot_id)
            seen = bid_on(a, world, lot_id, tokens)
            live = watcher.wait_for_bids(lot_id, 1)
            assert [e["seq"] for e in live] == [seen["seq"]]
            last = live[-1]["seq"]

        # Disconnected: two more bids on A.
        missed = [bid_on(a, world, lot_id, tokens), bid_on(a, world, lot_id, tokens)]
        assert [m["seq"] for m in missed] == [last + 1, last + 2]

        with Watcher(b.url) as again:
            ack = again.watch(lot_id, since_seq=last)
            assert ack["replayed"] == 2 and ack["seq"] == last + 2
            caught = again.wait_for_bids(lot_id, 2)
            assert [e["seq"] for e in caught] == [last + 1, last + 2]
            assert [e["amount_cents"] for e in caught] == [m["current_price_cents"] for m in missed]
            # The replayed events come before the lot's state, which already shows the last one.
            names = [n for n, _ in again.events if n in ("bid_placed", "lot_state")]
            assert names == ["bid_placed", "bid_placed", "lot_state"]
            state = next(d for n, d in again.events if n == "lot_state")
            assert state["seq"] == last + 2 and state["current_price_cents"] == missed[-1]["current_price_cents"]
            time.sleep(0.3)  # nothing else (no duplicate broadcast) follows
            assert len(again.bids(lot_id)) == 2
