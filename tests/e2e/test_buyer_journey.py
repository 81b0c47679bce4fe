"""A new buyer's whole path in a real browser: save a card on the card page (Stripe.js), bid, win,
and watch the order reach "completed" on the order page with the receipt."""
import re
import time
from datetime import timedelta

import pytest

from marketplace.extensions import db
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import bid, end_lot_soon, sign_in
from tests.factories import make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def wait_for_order(seed_app, lot_id: int, seconds: float = 20) -> int:
    """The id of the lot's order once the server's worker has opened it."""
    from marketplace.models import Order

    deadline = time.monotonic() + seconds
    with seed_app.app_context():
        while time.monotonic() < deadline:
            db.session.rollback()  # a fresh snapshot: the server writes from another process
            order = db.session.query(Order).filter_by(listing_id=lot_id).one_or_none()
            if order is not None:
                return order.id
            time.sleep(0.2)
    raise AssertionError(f"no order for lot {lot_id} after {seconds}s")


def pay_again_with_a_new_card(page) -> None:
    """From a refusal's "use another card" link: replace the card, pay on the pay page, and open
    the receipt (the page that follows the order to "completed")."""
    page.wait_for_url(re.compile(r".*/account/card.*"))
    page.click("[data-testid=replace-card]")
    save_card(page)
    page.wait_for_url(re.compile(r".*/orders/\d+/pay$"), timeout=15_000)
    page.click("[data-testid=pay-now]")
    page.locator("[data-testid=see-receipt]").wait_for(timeout=20_000)
    page.click("[data-testid=see-receipt]")
    page.wait_for_function("() => document.querySelector('[data-testid=order-page]').dataset.status === 'completed'",
                           timeout=20_000)


def save_card(page, number: str = "4242424242424242") -> None:
    """Fill the card form (the development Stripe.js's own inputs) and save."""
    element = page.locator("[data-testid=card-element]")
    for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123"),
                         ("postal_code", "75001")):
        element.locator(f"input[data-field={field}]").fill(value)
    page.click("[data-testid=save-card]")


def test_new_buyer_saves_a_card_wins_and_sees_the_receipt(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("carol@example.com", name="Carol")
        lot = make_auction(minutes=1, start_cents=100_000, soft_close_seconds=0)
        lot.ends_at = seed_app.extensions["clock"].now() + timedelta(minutes=5)
        db.session.commit()
        lot_id, handle = lot.id, lot.handle_display

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, server.url, "carol@example.com")
    page.goto(f"{server.url}/lots/{lot_id}")
    page.click("[data-testid=save-card-to-bid]")
    page.wait_for_url(re.compile(r".*/account/card.*"))
    save_card(page)
    page.wait_for_url(re.compile(rf".*/lots/{lot_id}$"), timeout=15_000)  # back to the lot, card saved
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    bid(page, "1,500")
    end_lot_soon(seed_app, lot_id)  # the lot ends moments after the bid, not after a wait
    page.locator("[data-testid=winner]").wait_for(state="visible", timeout=40_000)

    order_id = wait_for_order(seed_app, lot_id)
    page.goto(f"{server.url}/account/orders")
    page.locator(f"a[href$='/orders/{order_id}']").first.click()
    order = page.locator("[data-testid=order-page]")
    order.wait_for()
    # The worker captures, moves the handle and completes; the page follows live, without a reload.
    page.wait_for_function("() => document.querySelector('[data-testid=order-page]').dataset.status === 'completed'",
                           timeout=30_000)
    receipt = page.locator("[data-testid=receipt]")
    assert receipt.locator("[data-testid=receipt-title]").inner_text() == "Receipt"  # redrawn live once paid
    assert "$1,000" in receipt.locator("[data-testid=receipt-amount]").inner_text()
    assert "4242" in receipt.locator("[data-testid=receipt-card]").inner_text()
    assert handle in receipt.inner_text()
    page.screenshot(path=str(ARTIFACTS / "e2e-receipt-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(ARTIFACTS / "e2e-receipt-phone.png"), full_page=True)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the receipt is {overflow}px wider than a phone screen"
