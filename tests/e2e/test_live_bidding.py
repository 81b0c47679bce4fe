"""Two buyers in two browser windows: bids, outbid alerts and the close appear live for both."""
import re
import time
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import Listing, Order
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sign_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-form] [type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def end_lot_soon(seed_app, lot_id: int, seconds: float = 1.5) -> None:
    """Bring the lot's end forward: the server's worker closes it moments later (tests never
    wait out a real countdown)."""
    with seed_app.app_context():
        db.session.rollback()
        lot = db.session.get(Listing, lot_id)
        lot.ends_at = seed_app.extensions["clock"].now() + timedelta(seconds=seconds)
        db.session.commit()


def bid(page, dollars: str) -> None:
    page.fill("[data-testid=bid-input]", dollars)
    page.click("[data-testid=bid-submit]")
    dialog = page.locator("[data-testid=confirm-dialog]")
    dialog.wait_for(state="visible")
    assert dollars.replace(",", "") in dialog.inner_text().replace(",", "")
    page.click("[data-testid=confirm-bid]")
    page.locator("[data-testid=bid-result]").wait_for(state="visible")


def test_two_buyers_see_each_others_bids_and_the_close_live(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        alice = make_user("alice@example.com", name="Alice", card="pm_card_visa")
        bob = make_user("bob@example.com", name="Bob", card="pm_card_visa")
        lot = make_auction(minutes=1, start_cents=100_000, soft_close_seconds=0)
        # Tests control time elsewhere; here the real server's clock decides, so the lot ends soon.
        lot.ends_at = seed_app.extensions["clock"].now() + timedelta(minutes=5)
        db.session.commit()
        lot_id, alice_alias, bob_alias, bob_id = lot.id, alice.alias, bob.alias, bob.id

    alice_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    bob_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    for page, email in ((alice_page, "alice@example.com"), (bob_page, "bob@example.com")):
        sign_in(page, server.url, email)
        page.goto(f"{server.url}/lots/{lot_id}")
        page.locator("[data-testid=live-badge][data-state=live]").wait_for()

    bid(alice_page, "1,500")
    # Bob's page changes without a reload: price, bid count and leader.
    bob_page.wait_for_function(
        "() => document.querySelector('[data-testid=bid-count]').textContent.trim().startsWith('1')")
    assert "$1,000" in bob_page.locator("[data-testid=price]").inner_text()
    assert alice_alias in bob_page.locator("[data-testid=leader]").inner_text()

    bid(bob_page, "3,000")
    alice_page.locator("[data-testid=outbid-alert]").wait_for(timeout=10_000)
    alice_page.wait_for_function(
        "() => document.querySelector('[data-testid=price]').textContent.includes('1,600')")
    assert bob_alias in alice_page.locator("[data-testid=leader]").inner_text()
    alice_page.screenshot(path=str(ARTIFACTS / "e2e-lot-outbid-desktop.png"))

    # The end comes (brought forward); the worker closes the lot and both windows show the winner.
    end_lot_soon(seed_app, lot_id)
    for page in (alice_page, bob_page):
        page.locator("[data-testid=winner]").wait_for(state="visible", timeout=45_000)
        assert page.locator("[data-testid=winner]").inner_text() == "Ended — sold at $1,600"
        assert bob_alias in page.locator("[data-testid=leader]").inner_text()
    bob_page.screenshot(path=str(ARTIFACTS / "e2e-lot-closed-phone.png"))
    assert alice_page.locator("[data-testid=bid-form]").is_hidden()

    # The server's worker settles: Bob's card hold is captured for $1,600 and the handle is his.
    with seed_app.app_context():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            db.session.rollback()  # a fresh snapshot: the server writes from another process
            order = db.session.query(Order).filter_by(listing_id=lot_id).one_or_none()
            if order is not None and order.status == "completed":
                break
            time.sleep(0.3)
        assert order is not None and order.status == "completed", order and order.status
        assert order.buyer_id == bob_id and order.amount_cents == 160_000
        handle = db.session.get(Listing, lot_id).handle
        assert handle.account is not None and handle.account.user_id == bob_id


def test_a_watcher_is_alerted_live_when_a_watched_lot_is_about_to_end(browser, live_server):
    """Watch a lot, then browse elsewhere: when the lot enters its last quarter hour, the worker's
    `lot_ending` notice arrives as an alert on whatever page is open, says the price and the end
    time, links to the lot, and counts in the notices badge; it comes once per watch."""
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("carol@example.com", name="Carol", card="pm_card_visa")
        bidder = make_user(card="pm_card_visa")
        lot = make_auction(minutes=60, start_cents=100_000)
        from marketplace.wiring import bidding as bidding_service
        bidding_service().place(bidder, lot.id, 150_000)
        lot_id, handle = lot.id, lot.handle_display

    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, server.url, "carol@example.com")
    page.goto(f"{server.url}/lots/{lot_id}")
    page.click("[data-testid=watch-button]")
    page.locator("[data-testid=watch-button][data-watching=true]").wait_for()
    page.goto(f"{server.url}/")  # the market page: the alert follows the person, not the lot page
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()

    # The lot now ends in ten minutes (the server's real clock decides), inside the notice window.
    with seed_app.app_context():
        listing = db.session.get(Listing, lot_id)
        listing.ends_at = seed_app.extensions["clock"].now() + timedelta(minutes=10)
        db.session.commit()

    alert = page.locator("[data-testid=lot-ending-alert]")
    alert.wait_for(timeout=15_000)
    text = alert.inner_text()
    assert f"@{handle.lstrip('@')}" in text and "$1,000" in text and "Bid now" in text, text
    assert alert.locator("a").get_attribute("href").endswith(f"/lots/{lot_id}")
    page.screenshot(path=str(ARTIFACTS / "e2e-lot-ending-alert-phone.png"), animations="disabled")
    assert page.locator("[data-testid=notice-count]").inner_text().strip().startswith("1")

    # Once per watch: a reload and a few more worker passes bring no second alert.
    page.reload()
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    time.sleep(1.5)
    assert page.locator("[data-testid=lot-ending-alert]").count() == 0
    assert page.locator("[data-testid=notice-count]").inner_text().strip().startswith("1")
