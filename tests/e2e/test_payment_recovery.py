"""A winner whose card fails at the close pays in the browser: the order page asks for payment,
the pay page says the card was declined and sends them to save another, and paying again works."""
import re
import time
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import CardHold, User
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_buyer_journey import pay_again_with_a_new_card, wait_for_order
from tests.e2e.test_live_bidding import bid, end_lot_soon, sign_in
from tests.factories import make_auction, make_user
from tests.support import fake_stripe_card

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_declined_winner_pays_with_another_card(browser, live_server, fake_stripe):
    server, seed_app = live_server
    with seed_app.app_context():
        dave = make_user("dave@example.com", name="Dave", card="pm_card_visa")
        lot = make_auction(minutes=1, start_cents=250_000, soft_close_seconds=0)
        lot.ends_at = seed_app.extensions["clock"].now() + timedelta(minutes=5)
        db.session.commit()
        lot_id, dave_id = lot.id, dave.id

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, server.url, "dave@example.com")
    page.goto(f"{server.url}/lots/{lot_id}")
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    bid(page, "3,000")
    with seed_app.app_context():
        # Before the close his authorisation lapses and the card on file starts to decline.
        deadline = time.monotonic() + 10
        while True:
            db.session.rollback()
            held = db.session.query(CardHold).filter_by(user_id=dave_id, status="authorized").all()
            if held or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert held, "the bid's card authorisation was never recorded"
        for hold in held:
            hold.expires_at = seed_app.extensions["clock"].now()
        db.session.get(User, dave_id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
        db.session.commit()
    end_lot_soon(seed_app, lot_id)
    page.locator("[data-testid=winner]").wait_for(state="visible", timeout=40_000)

    order_id = wait_for_order(seed_app, lot_id)
    page.goto(f"{server.url}/account/orders")
    page.locator(f"a[href$='/orders/{order_id}']").first.click()
    page.locator("[data-testid=state-action-required]").wait_for(state="visible", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "e2e-order-payment-needed.png"), full_page=True)
    assert page.locator("[data-testid=receipt-title]").inner_text() == "Order summary"  # not paid yet
    page.click("[data-testid=state-action-required] [data-testid=pay-now]")
    page.wait_for_url(re.compile(r".*/orders/\d+/pay$"))
    assert "$2,500" in page.locator("[data-testid=pay-amount]").inner_text()
    page.click("[data-testid=pay-now]")
    page.locator("[data-testid=pay-error-action]").wait_for()  # declined: use another card
    assert "declined" in page.locator("[data-testid=pay-error]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "e2e-pay-declined.png"), full_page=True)
    page.click("[data-testid=pay-error-action]")
    pay_again_with_a_new_card(page)
    page.screenshot(path=str(ARTIFACTS / "e2e-pay-done.png"), full_page=True)
    assert "4242" in page.locator("[data-testid=receipt-card]").inner_text()
