"""Outages: the database going away and coming back, and Stripe unreachable during settlement.

- PostgreSQL down, two ways: a TCP proxy in front of it is cut (the network goes), and a private
  PostgreSQL server of the test's own is really stopped and started again (`pg_ctl`): pages and
  the API answer 503 with a clear message, never a 500 and never a half-written bid; when it is
  back the same app recovers without a restart (pool pre-ping drops the dead connections).
- Stripe unreachable while the worker settles: orders wait, nothing is recorded, and they complete
  (charged once) when it answers again.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from marketplace.clock import SystemClock
from marketplace.extensions import db
from marketplace.models import Bid, Listing, Order, PaymentRecord
from marketplace.payments import StripeGateway
from marketplace.wiring import bidding, closing, settlement
from tests.factories import csrf_token, login, make_auction, make_user
from tests.procs import TcpProxy, free_port
from tests.support import (
    FAKE_STRIPE_SECRET_KEY,
    PG_URL,
    SCHEMA_READY,
    empty_tables,
    make_app,
    need,
    postgres_problem,
    reset_schema,
)


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb in a temporary folder, a free loopback port),
    so the test can really stop and restart it without touching the shared server."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        self.bin = os.path.dirname(bins[-1]) if bins else None
        self.port = free_port()
        self.dir: str | None = None

    def problem(self) -> str | None:
        """Why a private server cannot run here, or None."""
        if self.bin is None:
            return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl)"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser (PostgreSQL refuses to run as root)"
        return None

    def _run(self, *args: str) -> None:
        """Run a PostgreSQL tool as the postgres user (as ourselves when not root)."""
        command = [os.path.join(self.bin, args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> PrivatePostgres:
        """Create the cluster (trust authentication, no fsync: a test's scratch server)."""
        self.dir = tempfile.mkdtemp(prefix="hx-pg-", dir="/tmp")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", self.dir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.dir, "-o", options, "-l", os.path.join(self.dir, "server.log"), "-w", "start")

    def stop(self) -> None:
        """Stop the server at once (open connections are cut), as a crash-free restart does."""
        self._run("pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and remove its folder."""
        if self.dir is None:
            return
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its default database."""
        return PG_URL.split("@", 1)[0] + f"@127.0.0.1:{self.port}/postgres"


@pytest.fixture(params=["network_cut", "server_restart"])
def outage_app(request):
    """An app on PostgreSQL, and (down, up): the database going away and coming back, either as
    a cut network (a proxy) or as a real server stopped and started again."""
    if request.param == "network_cut":
        with _proxied_app() as (app, proxy):
            yield app, proxy.cut, proxy.start
        return
    need("PostgreSQL", postgres_problem())  # the binaries come with the server this test suite uses
    server = PrivatePostgres()
    need("a private PostgreSQL server", server.problem())
    try:
        server.init().start()
        app = make_app(server.url, CLOCK=SystemClock())
        reset_schema(app)
        yield app, server.stop, server.start
        with app.app_context():
            db.engine.dispose()
    finally:
        server.destroy()


@contextlib.contextmanager
def _proxied_app():
    """An app whose every database connection goes through a proxy the test can cut."""
    need("PostgreSQL", postgres_problem())
    direct = make_app(PG_URL)
    if PG_URL not in SCHEMA_READY:
        reset_schema(direct)
        SCHEMA_READY.add(PG_URL)
    empty_tables(direct)
    host_port = PG_URL.split("@", 1)[1].split("/", 1)[0]
    port = int(host_port.rsplit(":", 1)[1]) if ":" in host_port else 5432
    proxy = TcpProxy(port).start()
    app = make_app(PG_URL.replace(host_port, f"127.0.0.1:{proxy.port}"), CLOCK=SystemClock())
    try:
        yield app, proxy
    finally:
        proxy.cut()
        with app.app_context():
            db.engine.dispose()
        empty_tables(direct)
        with direct.app_context():
            db.engine.dispose()


def test_database_down_answers_503_and_the_app_recovers_by_itself(outage_app):
    app, down, up = outage_app
    with app.app_context():
        lot = make_auction(start_cents=100_000)
        lot_id = lot.id
        bidder = make_user()
        client = app.test_client()
        login(client, bidder)
        db.session.remove()
    token = csrf_token(client)
    assert client.get("/healthz").status_code == 200

    down()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"
    api = client.get(f"/api/v1/lots/{lot_id}")
    assert api.status_code == 503 and "briefly unavailable" in api.get_json()["error"]["message"]
    bid = client.post(f"/api/v1/lots/{lot_id}/bids", json={"max_amount_cents": 150_000},
                      headers={"X-CSRFToken": token, "Idempotency-Key": "during-outage"})
    assert bid.status_code == 503, bid.get_data(as_text=True)[:300]
    page = client.get(f"/lots/{lot_id}")
    assert page.status_code == 503 and "briefly unavailable" in page.get_data(as_text=True), page.get_data(as_text=True)[:3000]

    up()
    assert client.get("/healthz").status_code == 200
    retried = client.post(f"/api/v1/lots/{lot_id}/bids", json={"max_amount_cents": 150_000},
                          headers={"X-CSRFToken": token, "Idempotency-Key": "during-outage"})
    assert retried.status_code == 201, retried.get_json()
    with app.app_context():
        assert db.session.query(Bid).filter_by(listing_id=lot_id).count() == 1
        assert db.session.get(Listing, lot_id).bid_count == 1
        db.session.remove()


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def test_stripe_unreachable_during_settlement_orders_wait_then_complete(app, clock, gateway):
    lot = make_auction(start_cents=100_000, minutes=30)
    app.extensions["gateway"] = gateway
    buyer = make_user(card="pm_card_visa")
    bidding().place(buyer, lot.id, 300_000, "b")
    clock.set(db.session.get(Listing, lot.id).ends_at)
    closing().close_due()
    down = StripeGateway(FAKE_STRIPE_SECRET_KEY, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0)
    app.extensions["gateway"] = down
    try:
        for _ in range(3):
            settlement().run_once()
    finally:
        down.close()
    order = db.session.query(Order).filter_by(listing_id=lot.id).one()
    db.session.refresh(order)
    assert order.status == "awaiting_payment"
    assert db.session.query(PaymentRecord).filter_by(order_id=order.id).count() == 0
    app.extensions["gateway"] = gateway  # Stripe answers again
    settlement().run_once()
    db.session.refresh(order)
    assert order.status == "completed"
    assert [r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order.id)] == ["captured"]
