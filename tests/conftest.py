"""Fixtures: an app per test on SQLite and on PostgreSQL, and its clients.

Integration tests take the `app` fixture, which runs each test twice: once on a SQLite file
and once on this run's PostgreSQL database. Without PostgreSQL the second run skips with the
reason, except under CI=true, where a missing service fails. Helpers live in tests/support.py.
"""
from __future__ import annotations

import pytest

from tests import support
from marketplace.clock import FrozenClock
from tests.support import PG_URL, make_app, need, postgres_problem


def pytest_sessionfinish(session, exitstatus):
    """Drop this run's PostgreSQL database."""
    if support.pg_created():
        try:
            support.pg_admin(f"DROP DATABASE IF EXISTS {support.PG_DATABASE} WITH (FORCE)")
        except Exception:  # noqa: BLE001 - best effort; the next run of this pid drops it
            pass


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    """A SQLite file for this test run."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request) -> str:
    """Which database this test runs on."""
    if request.param == "postgresql":
        need("PostgreSQL", postgres_problem())
    return request.param


@pytest.fixture
def app_config() -> dict:
    """Per-test overrides of the app's settings (override this fixture to change them)."""
    return {}


@pytest.fixture
def app(backend, sqlite_url, app_config):
    """The app on this test's database, with empty tables."""
    url = PG_URL if backend == "postgresql" else sqlite_url
    application = make_app(url, **app_config)
    if url not in support.SCHEMA_READY:
        support.reset_schema(application)
        support.SCHEMA_READY.add(url)
    ctx = application.app_context()
    ctx.push()
    try:
        yield application
    finally:
        ctx.pop()
        support.empty_tables(application)
        with application.app_context():
            from marketplace.extensions import db
            db.engine.dispose()


@pytest.fixture
def clock(app) -> FrozenClock:
    """The app's frozen clock."""
    return app.extensions["clock"]


@pytest.fixture
def client(app):
    """A test client (cookie session)."""
    return app.test_client()



@pytest.fixture(scope="session")
def fake_stripe(tmp_path_factory):
    """The development Stripe server (localstripe with Connect) for this run; its base URL."""
    server = support.FakeStripeServer(tmp_path_factory.mktemp("fake_stripe")).start()
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def gateway(fake_stripe):
    """A StripeGateway on the fake Stripe server, emptied before the test."""
    from marketplace.payments import StripeGateway

    stripe_gateway = StripeGateway(support.FAKE_STRIPE_SECRET_KEY, api_base=fake_stripe,
                                   publishable_key=support.FAKE_STRIPE_PUBLISHABLE_KEY,
                                   webhook_secret=support.FAKE_STRIPE_WEBHOOK_SECRET)
    stripe_gateway.reset_dev_data()
    try:
        yield stripe_gateway
    finally:
        stripe_gateway.close()


@pytest.fixture
def stripe_config(fake_stripe) -> dict:
    """Settings for an app that takes payments through the fake Stripe server, with card holds."""
    return {"CARD_HOLDS": True, "STRIPE_API_BASE": fake_stripe, "STRIPE_SECRET_KEY": support.FAKE_STRIPE_SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": support.FAKE_STRIPE_PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": support.FAKE_STRIPE_WEBHOOK_SECRET}


@pytest.fixture
def shared_gateway(app, gateway):
    """The app uses the test's gateway (emptied before each test)."""
    app.extensions["gateway"] = gateway
    return gateway
