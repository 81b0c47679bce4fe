"""The market's pages in a real browser: the home page's sections, watching a lot from its page
(it then shows on /account/watchlist), and the lot's price chart gaining a point when a bid
arrives from elsewhere. Screenshots of each page at desktop and phone sizes go to
test-artifacts/screens/ (market-*.png)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from marketplace.extensions import db
from marketplace.models import Listing
from marketplace.wiring import bidding, listings
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import sign_in
from tests.factories import PASSWORD, make_auction, make_user, released_handle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = ARTIFACTS / "screens"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
SECTIONS = ["ending_soon", "newest", "dutch", "sold"]


def seed(seed_app) -> dict:
    """A market with something in every home page section; Wendy has a card, Zed bids by API."""
    with seed_app.app_context():
        clock = seed_app.extensions["clock"]
        admin = make_user(admin=True)
        make_user("wendy@example.com", name="Wendy", card="pm_card_visa")
        zed = make_user("zed@example.com", name="Zed", card="pm_card_visa")
        lot = make_auction(admin=admin, minutes=240, start_cents=1_000_000, handle=released_handle("chartlot").display)
        for n, amount in enumerate((1_200_000, 1_500_000)):
            bidding().place(make_user(card="pm_card_visa"), lot.id, amount, f"seed-{n}")
        make_auction(admin=admin, minutes=20, start_cents=250_000)
        falling = listings().create(admin, {"handle": released_handle("fallingstar").display, "kind": "dutch",
                                            "start_price_cents": 6_400_000, "floor_price_cents": 400_000,
                                            "half_life_seconds": 900})
        sold = make_auction(admin=admin, start_cents=900_000)
        row = db.session.get(Listing, sold.id)
        row.closed_status, row.final_price_cents, row.closed_at = "sold", 1_150_000, clock.now() - timedelta(minutes=5)
        row.winner_id = zed.id
        db.session.commit()
        return {"lot_id": lot.id, "handle": lot.handle_display, "dutch_id": falling.id}


def point_count(page) -> int:
    """How many points the lot's price chart draws (price_chart.js keeps the attribute)."""
    return int(page.get_attribute("[data-testid=price-chart]", "data-point-count"))


def test_home_watchlist_and_a_live_price_chart(browser, live_server):
    server, seed_app = live_server
    world = seed(seed_app)
    lot_url = f"{server.url}/lots/{world['lot_id']}"
    SCREENS.mkdir(parents=True, exist_ok=True)

    # The home page: four sections, each with cards and a "see all" link into the catalog.
    page = browser.new_context(viewport=SIZES["desktop"]).new_page()
    page.goto(server.url + "/")
    sections = page.locator("[data-testid=home-section]")
    assert [sections.nth(i).get_attribute("data-section") for i in range(sections.count())] == SECTIONS
    for key in SECTIONS:
        section = page.locator(f"[data-section={key}]")
        assert section.locator("[data-testid=lot-card]").count() >= 1, key
        assert section.locator("[data-testid=see-all]").get_attribute("href").startswith("/market")
    assert "$11,500" in page.locator("[data-section=sold]").inner_text()
    page.screenshot(path=str(SCREENS / "market-home-desktop.png"), full_page=True)

    # Watch the lot from its page: the button flips in place, and the lot is on the watchlist.
    sign_in(page, server.url, "wendy@example.com")
    page.goto(lot_url)
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    page.click("[data-testid=lot] [data-testid=watch-button]")
    page.locator("[data-testid=lot] [data-testid=watch-button][data-watching=true]").wait_for()
    assert "Unwatch" in page.locator("[data-testid=lot] [data-testid=watch-button]").inner_text()
    page.goto(f"{server.url}/account/watchlist")
    card = page.locator(f"[data-testid=watchlist] [data-testid=lot-card][data-lot-id='{world['lot_id']}']")
    assert "@" + world["handle"] in card.inner_text()
    page.screenshot(path=str(SCREENS / "market-watchlist-desktop.png"), full_page=True)

    # The chart draws the two bids so far, then gains one when Zed bids through the API.
    page.goto(lot_url)
    page.locator("[data-testid=price-chart][data-drawn=true]").wait_for()
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    assert point_count(page) == 2
    assert page.locator("[data-testid=price-chart] canvas").count() == 1
    token = requests.post(f"{server.url}/api/v1/tokens", json={"email": "zed@example.com", "password": PASSWORD},
                          timeout=10).json()["token"]
    placed = requests.post(f"{server.url}/api/v1/lots/{world['lot_id']}/bids", json={"max_amount_cents": 2_500_000},
                           headers={"Authorization": f"Bearer {token}"}, timeout=20)
    assert placed.status_code == 201, placed.text
    page.wait_for_function("() => document.querySelector('[data-testid=price-chart]').dataset.pointCount === '3'",
                           timeout=15_000)
    summary = page.locator("[data-testid=chart-summary]").inner_text()
    assert "$10,000" in summary and "3 bids" in summary
    page.screenshot(path=str(SCREENS / "market-lot-chart-desktop.png"), full_page=True)

    # A Dutch lot's chart is its price curve: the start, a step per half-life down to the floor.
    page.goto(f"{server.url}/lots/{world['dutch_id']}")
    page.locator("[data-testid=price-chart][data-drawn=true]").wait_for()
    assert point_count(page) >= 6  # $64,000 halves 4 times to $4,000, plus the end and now
    page.screenshot(path=str(SCREENS / "market-lot-dutch-desktop.png"), full_page=True)

    # The same pages on a phone: nothing scrolls sideways.
    phone = browser.new_context(viewport=SIZES["phone"]).new_page()
    sign_in(phone, server.url, "wendy@example.com")
    for name, url in (("home", server.url + "/"), ("lot-chart", lot_url), ("watchlist", f"{server.url}/account/watchlist")):
        phone.goto(url)
        phone.wait_for_load_state("networkidle")
        if name == "lot-chart":
            phone.locator("[data-testid=price-chart][data-drawn=true]").wait_for()
            assert point_count(phone) == 3
        phone.screenshot(path=str(SCREENS / f"market-{name}-phone.png"), full_page=True)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} scrolls sideways on a phone by {overflow}px"

    # Unwatch from the watchlist page: the lot leaves it.
    phone.goto(f"{server.url}/account/watchlist")
    button = phone.locator(f"[data-testid=lot-card][data-lot-id='{world['lot_id']}'] [data-testid=watch-button]")
    button.click()
    phone.locator(f"[data-testid=lot-card][data-lot-id='{world['lot_id']}'] "
                  "[data-testid=watch-button][data-watching=false]").wait_for()
    phone.reload()
    assert phone.locator(f"[data-testid=watchlist] [data-testid=lot-card][data-lot-id='{world['lot_id']}']").count() == 0
