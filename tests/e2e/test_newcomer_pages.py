"""What a new user hit, checked in Chromium: times in the reader's zone, the phone header in two
rows, the inquiry quote, the card form's labels and the Dutch chart's marker following the live
price. Screenshots go to test-artifacts/screens/newcomer-*.png."""
from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.models import Listing
from marketplace.services.notices import notify
from marketplace.wiring import inquiries, listings, publisher
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import sign_in
from tests.factories import make_auction, make_user, released_handle
from tests.integration.test_inquiries import org_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = ARTIFACTS / "screens"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shot(page, name: str) -> None:
    """Save a full-page screenshot as a test artefact."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # a scrolled page would draw its sticky header mid-shot
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


NAV_STATE = """() => { const n = document.querySelector('.site-nav');
    return {over: n.scrollWidth - n.clientWidth, fade: n.hasAttribute('data-more-end')}; }"""


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
        nadia = make_user("nadia@example.com", name="Nadia")
        make_user("root@example.com", name="Administrator", admin=True)
        # Unread notices: the nav's count, whose screen-reader words once widened the page.
        notify(db.session, publisher(), nadia.id, "outbid", seed_app.extensions["clock"].now(),
               handle="someone", amount_cents=150_000)
        db.session.commit()
    for who in (None, "nadia@example.com", "root@example.com"):
        for lang in ("en", "fr", "ar"):
            context = browser.new_context(viewport=PHONE)
            page = context.new_page()
            if who:
                sign_in(page, server.url, who)
            set_language(page, server.url, lang)
            page.goto(server.url + "/market")
            if who == "nadia@example.com":
                assert page.locator("[data-testid=notice-count]").is_visible()
            rows = header_rows(page)
            name = f"header-{(who or 'visitor').split('@')[0]}-{lang}-phone"
            shot(page, name)
            assert rows <= 2, (name, rows)
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, name
            # The nav is one line; a fade marks links scrolled out of sight.
            nav = page.evaluate(NAV_STATE)
            assert nav["fade"] == (nav["over"] > 1), (name, nav)
            # Also after going from a desktop's width to a phone's, as a turned tablet does.
            page.set_viewport_size(DESKTOP)
            page.set_viewport_size(PHONE)
            page.wait_for_function(f"() => {{ const s = ({NAV_STATE})(); return s.fade === (s.over > 1); }}")
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, name
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


def test_the_development_card_form_labels_every_field_and_still_saves(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("cora@example.com", name="Cora")
    # French on a phone first (only looked at), then English on a desktop, saving the card.
    for lang, viewport, labels in (
            ("fr", PHONE, None),
            ("en", DESKTOP, ["Card number", "Expiry month (MM)", "Expiry year (YY)", "Security code (CVC)", "Postcode"])):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        sign_in(page, server.url, "cora@example.com")
        set_language(page, server.url, lang)
        page.goto(server.url + "/account/card")
        element = page.locator("[data-testid=card-element]")
        element.locator("input[data-field=postal_code]").wait_for()
        parts = element.locator("label.card-part")
        assert parts.count() == 5
        shown = [parts.nth(i).locator(".card-part-label").inner_text() for i in range(5)]
        assert all(shown) and all(parts.nth(i).locator(".card-part-label").is_visible() for i in range(5))
        if labels:
            assert shown == labels
        else:
            assert "Numéro de carte" in shown
        # No raw field names anywhere a person reads them, and each input is named by its label.
        placeholders = [element.locator("input").nth(i).get_attribute("placeholder") or "" for i in range(5)]
        assert not set(placeholders) & {"number", "exp_month", "exp_year", "cvc", "postal_code"}, placeholders
        visible = element.inner_text()
        for raw in ("exp_m", "exp_y", "postal_c", "localstripe"):
            assert raw not in visible, (lang, raw)
        names = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=card-element] input'))
            .map(i => i.labels.length ? i.labels[0].querySelector('.card-part-label').textContent : '')""")
        assert names == shown
        assert page.locator("[data-testid=card-dev-note]").is_visible()
        shot(page, f"card-{lang}")
        if lang == "en":
            for field, value in (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"),
                                 ("cvc", "123"), ("postal_code", "75001")):
                element.locator(f"input[data-field={field}]").fill(value)
            page.click("[data-testid=save-card]")
            page.locator("[data-testid=card-saved]:has-text('Visa ending 4242')").wait_for(timeout=15_000)
        context.close()


def test_the_dutch_chart_marker_follows_the_live_price(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        # $8,000 halving every 3 seconds down to $1,000: three drops within ten seconds.
        lot = listings().create(make_user(admin=True), {
            "handle": released_handle("quickdrop").display, "kind": "dutch", "start_price_cents": 800_000,
            "floor_price_cents": 100_000, "half_life_seconds": 3})
        lot_id = lot.id
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{server.url}/lots/{lot_id}")
    page.locator("[data-testid=price-chart][data-drawn=true]").wait_for()
    samples = []
    for _ in range(40):  # ten seconds, four looks a second
        samples.append(page.evaluate("""() => [
            window.HX.parseDollars(document.querySelector('[data-testid=price]').textContent),
            Number(document.querySelector('[data-testid=price-chart]').dataset.markerCents || 0)]"""))
        page.wait_for_timeout(250)
    shot(page, "dutch-chart")
    context.close()
    prices = [price for price, _ in samples]
    assert len(set(prices)) >= 3 and prices[-1] == 100_000, prices
    # The marker is on the price the page shows at every look, not on the price it was drawn at.
    assert [marker for _, marker in samples] == prices, samples


def test_the_inquiry_quote_keeps_amounts_by_their_labels_and_a_real_checkbox(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        buyer = org_user(card="pm_card_visa", name="Quote Co")
        for name in ("quoteone", "quotetwo", "quotethree"):
            released_handle(name)
        inquiry_id = inquiries().submit(buyer, "quoteone quotetwo quotethree", "A new brand.").id
        email = buyer.email
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        sign_in(page, server.url, email)
        for _ in range(40):  # the worker's assistant answers within a second or two
            page.goto(f"{server.url}/inquiries/{inquiry_id}")
            if page.locator("[data-testid=quote]").count():
                break
            page.wait_for_timeout(500)
        quote = page.locator("[data-testid=quote]")
        for key in ("subtotal", "discount", "total"):
            amount = quote.locator(f"[data-testid=quote-{key}]")
            label = amount.locator("xpath=preceding-sibling::dt[1]")
            a, b = amount.bounding_box(), label.bounding_box()
            # On the label's line, and near it (the list is at most 30rem wide), not across the page.
            assert abs((a["y"] + a["height"] / 2) - (b["y"] + b["height"] / 2)) < 6, (size, key)
            assert a["x"] + a["width"] - b["x"] <= 30 * 16 + 1, (size, key)
        box = page.locator("[data-testid=accept-confirm]")
        assert box.get_attribute("type") == "checkbox" and not box.is_checked()
        c, t = box.bounding_box(), page.locator("label[for=confirm]").bounding_box()
        assert c["width"] < 30 and c["x"] < t["x"] and abs(c["y"] - t["y"]) < 12, (size, c, t)
        page.click("label[for=confirm]")  # the words tick the box too
        assert box.is_checked()
        shot(page, f"inquiry-quote-{size}")
        if size == "phone":
            page.click("[data-testid=accept-submit]")
            page.locator("[data-testid=flash]").filter(has_text="Accepted").wait_for()
        context.close()
