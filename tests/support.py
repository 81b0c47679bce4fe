"""Test support: real-service checks, the per-run PostgreSQL database, apps and clients.

Integration tests take the `app` fixture, which runs each test twice: once on a SQLite file
and once on the PostgreSQL server at 127.0.0.1:5432 (database `test`). Without PostgreSQL the
second run skips with the reason, except under CI=true, where a missing service fails.
"""
from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest

from marketplace.clock import FrozenClock

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Each test run gets its own database on the server, so two runs (a developer's and CI's, or
# parallel sessions) never truncate each other's tables.
PG_DATABASE = f"hx_test_{os.getpid()}"
PG_URL = PG_SERVER_URL.rsplit("/", 1)[0] + "/" + PG_DATABASE
_pg_created = False
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def need(service: str, problem: str | None) -> None:
    """Skip (or, under CI, fail) when a real service the test needs is missing."""
    if problem is None:
        return
    message = f"{service} is not available: {problem}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


def pg_admin(sql: str) -> None:
    """Run one statement on the server's own database, outside a transaction."""
    import psycopg2

    conn = psycopg2.connect(PG_SERVER_URL, connect_timeout=3)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def pg_created() -> bool:
    """Whether this run made its PostgreSQL database (so it must drop it)."""
    return _pg_created


def postgres_problem() -> str | None:
    """None when PostgreSQL answers (creating this run's database), else why not."""
    global _pg_created
    if _pg_created:
        return None
    try:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        pg_admin(f"CREATE DATABASE {PG_DATABASE}")
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"{PG_SERVER_URL}: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
    _pg_created = True
    return None


def redis_problem() -> str | None:
    """None when Redis answers, else why not."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        return f"{REDIS_URL}: {exc.__class__.__name__}: {exc}"
    return None


def chromium_problem() -> str | None:
    """None when Debian's Chromium is installed, else why not."""
    if shutil.which("chromium") is None:
        return "no chromium on PATH (make test installs Debian's package: apt-get install -y chromium)"
    return None


SCHEMA_READY: set[str] = set()


def reset_schema(app) -> None:
    """Build the schema once per backend per run, through the migrations."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from marketplace.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()


def empty_tables(app) -> None:
    """Remove every row a test wrote (faster than rebuilding the schema)."""
    from sqlalchemy import text

    from marketplace.extensions import db

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                # Foreign keys that close a cycle (users.organisation_id) are cleared first, so
                # deleting in dependency order never trips over them.
                for table in db.metadata.sorted_tables:
                    for fk in table.foreign_key_constraints:
                        if fk.use_alter:
                            conn.execute(text(f"UPDATE {table.name} SET "
                                              + ", ".join(f"{c.name} = NULL" for c in fk.columns)))
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
                conn.execute(text("DELETE FROM sqlite_sequence")) if conn.execute(text(
                    "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None


def isolated_client_class():
    """A FlaskClient that pushes a fresh app context around each request.

    The test itself holds an app context (for factories); without this, requests would reuse
    it and share `g` (and so the signed-in user) and the database session with the test.
    """
    from flask.testing import FlaskClient

    class Client(FlaskClient):
        def open(self, *args, **kwargs):
            ctx = self.application.app_context()
            ctx.push()
            try:
                return super().open(*args, **kwargs)
            finally:
                ctx.pop()

    return Client


def make_app(database_url: str, **overrides):
    """An app for tests: frozen clock, threading Socket.IO, no in-process worker."""
    from marketplace import create_app

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 20, "max_overflow": 20},
        "CLOCK": FrozenClock(T0),
        "SOCKETIO_ASYNC_MODE": "threading",
        "REDIS_URL": None,
        "RUN_WORKER": False,
        "WTF_CSRF_ENABLED": False,
        "DEMO_DATA": False,
        # Rule tests bid without card holds; the settlement tests turn them on with a fake Stripe.
        "CARD_HOLDS": False,
        # Many tests sign in and bid far faster than a person; tests/integration/test_security.py
        # turns rate limits on.
        "RATELIMIT_ENABLED": False,
        # Cheap argon2 for the users tests make (argon2's defaults cost ~0.1 s a hash and a check).
        "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    }
    config.update(overrides)
    application = create_app(config)
    application.test_client_class = isolated_client_class()
    return application


def socket_client(app, flask_client=None, headers=None):
    """A Socket.IO test client whose every call runs in a fresh app context (like the HTTP one).

    With `flask_client` it shares that client's cookies, so it is signed in as the same user;
    `headers` go with its connection request (e.g. an Origin).
    """
    from flask_socketio.test_client import SocketIOTestClient

    from marketplace.extensions import socketio

    class Client(SocketIOTestClient):
        def connect(self, *args, **kwargs):
            with app.app_context():
                return super().connect(*args, **kwargs)

        def emit(self, *args, **kwargs):
            with app.app_context():
                return super().emit(*args, **kwargs)

        def disconnect(self, *args, **kwargs):
            with app.app_context():
                return super().disconnect(*args, **kwargs)

    return Client(app, socketio, flask_test_client=flask_client, headers=headers)


# The development Stripe server (localstripe with the Connect stand-in), for the payment gateway.
import json as _json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

from tests import procs as _procs  # noqa: E402

FAKE_STRIPE_SECRET_KEY = "sk_test_12345"
FAKE_STRIPE_PUBLISHABLE_KEY = "pk_test_12345"
FAKE_STRIPE_WEBHOOK_SECRET = "whsec_test"


def fake_stripe_call(base_url: str, method: str, path: str, form: dict | None = None,
                     key: str = FAKE_STRIPE_SECRET_KEY) -> tuple[int, dict]:
    """Plain HTTP to the fake Stripe server (form-encoded like Stripe.js); returns (status, JSON).

    For what the browser's Stripe.js does and for checking the server's records, so tests need
    not import `stripe`. A `pk_` key goes in the form, as Stripe.js sends it.
    """
    form = dict(form or {})
    headers = {}
    if key.startswith("pk_"):
        form["key"] = key
    else:
        headers["Authorization"] = f"Bearer {key}"
    data = urllib.parse.urlencode(form).encode() if method != "GET" else None
    url = base_url + path + (("?" + urllib.parse.urlencode(form)) if method == "GET" and form else "")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _json.loads(exc.read() or b"null")


def fake_stripe_card(base_url: str, number: str) -> str:
    """A card payment method made from a raw test number (e.g. 4000000000000341); its id."""
    status, body = fake_stripe_call(base_url, "POST", "/v1/payment_methods", {
        "type": "card", "card[number]": number, "card[exp_month]": "12",
        "card[exp_year]": "2034", "card[cvc]": "123"})
    assert status == 200, body
    return body["id"]


class FakeStripeServer(_procs.ServerProcess):
    """`python -m devsupport.fake_stripe` on a loopback port; logging and stopping as ServerProcess."""

    def __init__(self, log_dir: Path, port: int | None = None):
        from tests.procs import ROOT, free_port

        self.root = ROOT
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / "fake-stripe.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "FakeStripeServer":
        """Start the process (it serves once `wait_ready` says so)."""
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devsupport.fake_stripe", "--port", str(self.port)],
            cwd=self.root, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def wait_ready(self, seconds: float = 20) -> None:
        """Wait until an authenticated Connect call answers; fail at once if the process died."""
        deadline = time.monotonic() + seconds
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fake Stripe exited with {self.proc.returncode}:\n" + self.log_text())
            try:
                status, body = fake_stripe_call(self.url, "GET", "/v1/accounts")
                if status == 200:
                    return
                last = f"{status} {body}"
            except OSError as exc:
                last = f"{exc.__class__.__name__}: {exc}"
            time.sleep(0.1)
        raise RuntimeError(f"fake Stripe on {self.url} not ready after {seconds}s ({last}):\n"
                           + self.log_text())
