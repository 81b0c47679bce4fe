"""Browser tests: a real server process and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from marketplace.clock import SystemClock
from tests.support import (
    FAKE_STRIPE_PUBLISHABLE_KEY,
    FAKE_STRIPE_SECRET_KEY,
    chromium_problem,
    make_app,
    need,
)
from tests.procs import ServerProcess

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def _chromium():
    """Debian's Chromium under Playwright (never a downloaded browser build); on the way out,
    fails if any page broke the content security policy."""
    need("Chromium", chromium_problem())
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        # Every page must work under the content security policy: a refused script, connection,
        # frame or style shows up on the console, and fails the test.
        violations: list[str] = []
        new_context = chromium.new_context

        def watched_context(*args, **kwargs):
            context = new_context(*args, **kwargs)
            context.on("console", lambda msg: violations.append(msg.text)
                       if "Content Security Policy" in msg.text else None)
            return context

        chromium.new_context = watched_context
        try:
            yield chromium
        finally:
            chromium.close()
        assert not violations, "content security policy violations:\n" + "\n".join(violations)


@pytest.fixture
def browser():
    """Chromium for one test."""
    with _chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def module_browser():
    """One Chromium for a whole module (each test opens its own contexts): starting it is slow."""
    with _chromium() as chromium:
        yield chromium


@contextmanager
def _serving(folder: Path, fake_stripe: str):
    """The embedded app (SQLite, in-process worker) on a free port, and an app to seed it with.

    Yields (server, seed_app): seed_app shares the server's database and the real clock.
    """
    from flask_migrate import upgrade

    url = f"sqlite:///{folder / 'e2e.db'}"
    stripe = {"STRIPE_API_BASE": fake_stripe, "STRIPE_SECRET_KEY": FAKE_STRIPE_SECRET_KEY,
              "STRIPE_PUBLISHABLE_KEY": FAKE_STRIPE_PUBLISHABLE_KEY}
    seed_app = make_app(url, CLOCK=SystemClock(), CARD_HOLDS=True, **stripe)
    with seed_app.app_context():
        upgrade()
    server = ServerProcess("e2e", folder, {
        "DATABASE_URL": url, "MARKETPLACE_DEMO_DATA": "0", "MARKETPLACE_RUN_WORKER": "1",
        **stripe, "SECRET_KEY": "e2e-secret", "MARKETPLACE_WORKER_INTERVAL": "0.2",
        "MARKETPLACE_ADMIN_EMAIL": "admin@example.com", "MARKETPLACE_ADMIN_PASSWORD": "admin-password-1"})
    server.start()
    try:
        server.wait_ready()
        yield server, seed_app
    finally:
        code = server.stop()
        if os.environ.get("E2E_SHOW_SERVER_LOG"):
            print(server.log_text())
        assert code is not None


@pytest.fixture
def live_server(tmp_path, fake_stripe, gateway):
    """A server of the test's own, on an empty database and an emptied fake Stripe."""
    with _serving(tmp_path, fake_stripe) as served:
        yield served


@pytest.fixture(scope="module")
def module_server(tmp_path_factory, fake_stripe):
    """One server for a whole module: its tests make their own users and lots, so they share it."""
    with _serving(tmp_path_factory.mktemp("e2e"), fake_stripe) as served:
        yield served
