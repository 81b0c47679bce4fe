"""The seller's journey of test_seller_listing.py, in French and Arabic: choose the language in the
footer, sign in, ask for a claim code, have a check before the code is in the bio refused, put the
code in the bio on the development platform page, link the handle, list it at a fixed price after
seeing the fee preview, and find it in the market and on the seller dashboard.

Every main step checks html lang and dir, that no English sentence of the catalogue is left on the
page (assert_in_language), that amounts are written the locale's way, and saves screenshots
(test-artifacts/screens/seller-{step}-{lang}-{desktop,phone}.png).
"""
from __future__ import annotations

import re
import time

import pytest

from marketplace.extensions import db
from marketplace.registry import DatabaseRegistry
from tests.e2e.test_journeys_i18n import SCREENS, SIZES, assert_in_language, money, text_of, typed
from tests.e2e.test_live_bidding import sign_in
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shots(page, lang: str, step: str) -> None:
    """seller-{step}-{lang}-desktop.png and -phone.png (the size switch is cheap)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"seller-{step}-{lang}-desktop.png"), full_page=True)
    page.set_viewport_size(SIZES["phone"])
    try:
        page.screenshot(path=str(SCREENS / f"seller-{step}-{lang}-phone.png"), full_page=True)
    finally:
        page.set_viewport_size(SIZES["desktop"])


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_seller_journey_in_each_language(browser, live_server, lang):
    server, seed_app = live_server
    email, handle = f"seller-{lang}@example.com", f"Seller{lang.upper()}Handle"
    with seed_app.app_context():
        make_user(email, name=f"Seller {lang}")
        DatabaseRegistry(db.session).create_account(handle, seed_app.extensions["clock"].now())
        db.session.commit()
    started = time.monotonic()
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    page.set_default_timeout(15_000)

    # The language, from the footer; then sign in.
    page.goto(server.url + "/")
    with page.expect_navigation():
        page.click(f"[data-testid=language-{lang}]")
    assert page.locator(f"[data-testid=language-{lang}]").get_attribute("aria-pressed") == "true"
    sign_in(page, server.url, email)
    assert_in_language(page, lang, ())

    # The seller dashboard, empty.
    page.click("[data-testid=nav-sell]")
    page.locator("main [data-testid=link-handle]").wait_for()
    assert_in_language(page, lang, ("You have no lots yet",))
    shots(page, lang, "dashboard-empty")

    # Ask for a code.
    page.click("main [data-testid=link-handle]")
    page.fill("[data-testid=claim-handle]", handle.lower())
    assert_in_language(page, lang, ())
    shots(page, lang, "claim-form")
    page.click("[data-testid=claim-submit]")
    page.wait_for_url(re.compile(r".*/seller/claims/\d+$"))
    claim_url = page.url
    code = page.locator("[data-testid=claim-code]").inner_text().strip()
    assert re.fullmatch(r"HX-[0-9A-Z]{6}", code)
    assert_in_language(page, lang, ())
    shots(page, lang, "claim-code")

    # Checking before the code is in the bio says so (in this language), and links nothing.
    page.click("[data-testid=check-claim]")
    page.wait_for_url(claim_url)
    assert code in page.locator("[data-testid=flash]").inner_text()
    assert_in_language(page, lang, ())
    shots(page, lang, "claim-not-found")

    # Put the code in the bio on the development platform, then check.
    page.click("[data-testid=dev-platform-link]")
    page.fill("[data-testid=bio-input]", f"Handles and more. {code}")
    assert_in_language(page, lang, ())
    page.click("[data-testid=save-bio]")
    page.locator("[data-testid=flash][data-category=success]").wait_for()
    assert_in_language(page, lang, ())
    shots(page, lang, "dev-platform")
    page.goto(claim_url)
    page.click("[data-testid=check-claim]")
    page.wait_for_url(re.compile(rf".*/seller/lots/new\?handle={handle.lower()}$"))
    assert_in_language(page, lang, ())
    shots(page, lang, "new-lot")

    # A fixed price, typed the locale's way; the fee preview in the locale's money format.
    page.select_option("[data-testid=kind-select]", "fixed")
    page.fill("[data-testid=lot-price]", typed(lang, 500_000))
    page.click("[data-testid=preview-listing]")
    page.locator("[data-testid=listing-preview]").wait_for()
    assert text_of(page.locator("[data-testid=preview-buyer-pays]")) == money(lang, 500_000)
    assert text_of(page.locator("[data-testid=preview-commission]")) == money(lang, 50_000)
    assert text_of(page.locator("[data-testid=preview-seller-receives]")) == money(lang, 450_000)
    assert_in_language(page, lang, ())
    shots(page, lang, "preview")
    page.click("[data-testid=confirm-listing]")
    page.wait_for_url(re.compile(r".*/lots/\d+$"))
    assert handle in page.locator("main").inner_text()
    assert money(lang, 500_000) in text_of(page.locator("main"))
    assert_in_language(page, lang, ())
    shots(page, lang, "listed")

    # In the market, at the locale's price; and live on the dashboard.
    page.goto(f"{server.url}/?q={handle.lower()}")
    card = page.locator("[data-testid=lot-card]", has_text=handle)
    card.wait_for()
    assert money(lang, 500_000) in text_of(card)
    assert_in_language(page, lang, ())
    shots(page, lang, "market")
    page.click("[data-testid=nav-sell]")
    page.locator("[data-testid=seller-lot][data-status=live]").wait_for()
    assert_in_language(page, lang, ())
    shots(page, lang, "dashboard")

    context.close()
    took = time.monotonic() - started
    assert took < 40, f"the seller journey in {lang} took {took:.0f}s"
