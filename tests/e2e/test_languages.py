"""French and Arabic in Chromium: the footer switcher, a mirrored right-to-left layout, prices in
the reader's format, and screenshots of the main pages in each language at desktop and phone
sizes (test-artifacts/screens/{page}-{lang}-{size}.png). The browser fixture fails any test that
breaks the content security policy.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from marketplace.extensions import db
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import sign_in
from tests.factories import PASSWORD, make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
SCREENS = ARTIFACTS / "screens"
# Where the first line of an element's text starts and ends, and the box it sits in.
TEXT_BOX = """el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const text = range.getClientRects()[0];
  const box = el.getBoundingClientRect();
  return {textLeft: text.left, textRight: text.right, boxLeft: box.left, boxRight: box.right};
}"""


def _seed(seed_app) -> dict:
    """A live auction, a fixed-price lot and a bidder; their ids."""
    with seed_app.app_context():
        make_user("lina@example.com", name="Lina")
        auction = make_auction(minutes=90, start_cents=1_250_000)
        fixed = make_auction(kind="fixed", price_cents=5_000_000, ends_at=None, start_cents=5_000_000)
        db.session.commit()
        return {"auction": auction.id, "fixed": fixed.id}


def _switch(page, code: str) -> None:
    """Press the footer's language button and wait for the page to come back in that language."""
    path = urlsplit(page.url).path
    with page.expect_navigation():
        page.click(f"[data-testid=language-{code}]")
    page.wait_for_load_state("domcontentloaded")
    assert page.evaluate("document.documentElement.lang") == code
    assert urlsplit(page.url).path == path


def test_switching_to_french_then_arabic_mirrors_the_layout(browser, live_server):
    """French then Arabic from the footer: translated text, mirrored header and column, prices per locale."""
    server, seed_app = live_server
    ids = _seed(seed_app)
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()

    page.goto(server.url + "/market")
    _switch(page, "fr")
    assert page.locator(".site-nav").inner_text().find("Marché") >= 0
    page.goto(f"{server.url}/lots/{ids['auction']}")
    price = page.locator("[data-testid=price]").inner_text()
    assert re.sub(r"\s", " ", price) == "12 500 $US"
    assert page.evaluate("document.dir") in ("", "ltr")

    _switch(page, "ar")
    assert page.evaluate("document.dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert "السوق" in page.locator(".site-nav").inner_text()
    # The brand sits on the right of the header, the navigation to its left.
    brand = page.locator(".site-header .brand").bounding_box()
    nav = page.locator(".site-nav").bounding_box()
    assert brand["x"] > nav["x"]
    # The main column's text starts at the right, under the brand (as it starts under it on the left in English).
    heading = page.locator("main h1").first.evaluate(TEXT_BOX)
    brand_box = page.locator(".site-header .brand").evaluate("el => el.getBoundingClientRect().toJSON()")
    assert heading["textRight"] > SIZES["desktop"]["width"] / 2
    assert abs(heading["textRight"] - brand_box["right"]) < 4
    # The live price keeps the server's format (Latin digits, as Babel writes them) after the script runs.
    price = page.locator("[data-testid=price]").inner_text()
    assert "12,500" in price and "US$" in price

    page.goto(server.url + "/market")
    assert page.evaluate("document.dir") == "rtl"
    # The choice survives into other pages; English is one press away.
    _switch(page, "en")
    assert page.evaluate("document.dir") == "ltr"
    context.close()


def test_unknown_language_is_refused_in_the_browser(browser, live_server):
    """An unknown language code is refused with 400."""
    server, _seed_app = live_server
    context = browser.new_context()
    page = context.new_page()
    response = page.request.post(server.url + "/language/xx")
    assert response.status == 400
    context.close()


def test_screens_in_french_and_arabic(browser, live_server):
    """Every main page in French and Arabic, desktop and phone: screenshots, right direction, no sideways scroll."""
    server, seed_app = live_server
    ids = _seed(seed_app)
    public = {"home": "/", "market": "/market", "auction": f"/lots/{ids['auction']}", "fixed": f"/lots/{ids['fixed']}",
              "login": "/login", "register": "/register"}
    signed_in = {"my-bids": "/me/bids", "orders": "/account/orders", "notifications": "/account/notifications",
                 "card": "/account/card"}
    SCREENS.mkdir(parents=True, exist_ok=True)
    host = urlsplit(server.url).hostname
    for lang in ("fr", "ar"):
        for size, viewport in SIZES.items():
            context = browser.new_context(viewport=viewport)
            context.add_cookies([{"name": "lang", "value": lang, "domain": host, "path": "/"}])
            page = context.new_page()
            for paths in (public, signed_in):
                if paths is signed_in:
                    sign_in(page, server.url, "lina@example.com", PASSWORD)
                for name, path in paths.items():
                    response = page.goto(server.url + path)
                    assert response is not None and response.status == 200, (name, lang, response and response.status)
                    page.wait_for_load_state("networkidle")
                    assert page.evaluate("document.documentElement.lang") == lang
                    assert page.evaluate("document.dir") == ("rtl" if lang == "ar" else "ltr")
                    page.screenshot(path=str(SCREENS / f"{name}-{lang}-{size}.png"), full_page=True)
                    # Longer French and Arabic labels must not push the page wider than a phone.
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 1, f"{name} in {lang} scrolls sideways at {size} size by {overflow}px"
            context.close()
