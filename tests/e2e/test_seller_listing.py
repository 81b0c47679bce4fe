"""A seller's path in a real browser: link a handle by putting the code in its bio (on the
development platform page), list it at a fixed price after seeing the fees, and find it in the market."""
import re

import pytest

from marketplace.extensions import db
from marketplace.registry import DatabaseRegistry
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import sign_in
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_seller_links_a_handle_and_lists_it_at_a_fixed_price(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("sam@example.com", name="Sam")
        DatabaseRegistry(db.session).create_account("SamsHandle", seed_app.extensions["clock"].now())
        db.session.commit()

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, server.url, "sam@example.com")
    page.click("[data-testid=nav-sell]")
    assert "You have no lots yet" in page.locator("main").inner_text()

    # Ask for a code.
    page.click("main [data-testid=link-handle]")
    page.fill("[data-testid=claim-handle]", "samshandle")
    page.click("[data-testid=claim-submit]")
    page.wait_for_url(re.compile(r".*/seller/claims/\d+$"))
    claim_url = page.url
    code = page.locator("[data-testid=claim-code]").inner_text().strip()
    assert re.fullmatch(r"HX-[0-9A-Z]{6}", code)

    # Checking before the code is in the bio says so, and links nothing.
    page.click("[data-testid=check-claim]")
    page.wait_for_url(claim_url)
    assert code in page.locator("[data-testid=flash]").inner_text()

    # Put it in the bio on the (development) platform, then check.
    page.click("[data-testid=dev-platform-link]")
    page.fill("[data-testid=bio-input]", f"Handles and more. {code}")
    page.click("[data-testid=save-bio]")
    page.locator("[data-testid=flash][data-category=success]").wait_for()
    page.goto(claim_url)
    page.click("[data-testid=check-claim]")
    page.wait_for_url(re.compile(r".*/seller/lots/new\?handle=samshandle$"))

    # List at a fixed price, seeing what the buyer pays and what the seller receives first.
    page.select_option("[data-testid=kind-select]", "fixed")
    page.fill("[data-testid=lot-price]", "5,000")
    page.click("[data-testid=preview-listing]")
    preview = page.locator("[data-testid=listing-preview]")
    preview.wait_for()
    assert page.locator("[data-testid=preview-buyer-pays]").inner_text() == "$5,000"
    assert page.locator("[data-testid=preview-commission]").inner_text() == "$500"
    assert page.locator("[data-testid=preview-seller-receives]").inner_text() == "$4,500"
    page.screenshot(path=str(ARTIFACTS / "e2e-seller-preview.png"), full_page=True)
    page.click("[data-testid=confirm-listing]")
    page.wait_for_url(re.compile(r".*/lots/\d+$"))
    assert "SamsHandle" in page.locator("main").inner_text()

    page.goto(f"{server.url}/?q=samshandle")
    card = page.locator("[data-testid=lot-card]", has_text="SamsHandle")
    card.wait_for()
    assert "$5,000" in card.inner_text()
    page.click("[data-testid=nav-sell]")
    page.locator("[data-testid=seller-lot][data-status=live]").wait_for()
    page.screenshot(path=str(ARTIFACTS / "e2e-seller-dashboard.png"), full_page=True)
