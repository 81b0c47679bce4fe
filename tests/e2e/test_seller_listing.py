"""A seller's path in a real browser: link a handle by putting the code in its bio (on the
development platform page), list it at a fixed price after seeing the fees, and find it in the market;
and cancel a listing from the seller dashboard (while nobody has bid), watched live on its lot page."""
import re

import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, Listing, User
from marketplace.registry import DatabaseRegistry
from marketplace.wiring import bidding, sellers
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.journey import PHONE, eventually, flash_text, reads_well, within_width
from tests.e2e.test_checkout import open_lot, page_for
from tests.e2e.test_live_bidding import sign_in
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_seller_links_a_handle_and_lists_it_at_a_fixed_price(module_browser, module_server):
    browser = module_browser
    server, seed_app = module_server
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
    page.context.close()


def seller_with_lots(seed_app) -> tuple[str, int, int]:
    """A seller whose linked account holds two handles, one listed at a fixed price and one by auction
    with a bid on it; (the seller's email, the fixed lot's id, the auction's id)."""
    with seed_app.app_context():
        seller = make_user(name="Cass Seller")
        registry = DatabaseRegistry(db.session)
        now = seed_app.extensions["clock"].now()
        for name in ("cassfixed", "cassbid"):
            registry.create_account(name, now, user_id=seller.id)
        db.session.commit()
        fixed = sellers().list_handle(seller, {"handle": "cassfixed", "kind": "fixed", "price_cents": 800_000,
                                               "accepts_offers": True})
        auction = sellers().list_handle(seller, {"handle": "cassbid", "kind": "auction",
                                                 "start_price_cents": 50_000, "duration_days": 3})
        bidder = make_user(name="Bea Bidder", card="pm_card_visa")
        bidding().place(bidder, auction.id, 60_000, "cancel-test-bid")
        return seller.email, fixed.id, auction.id


def test_a_seller_cancels_a_listing_from_the_dashboard_and_a_watcher_sees_it_close(module_browser,
                                                                                  module_server):
    server, seed_app = module_server
    email, fixed_id, auction_id = seller_with_lots(seed_app)
    watcher = page_for(module_browser, server, None)
    open_lot(watcher, server, fixed_id)
    page = page_for(module_browser, server, email, PHONE)
    page.click("[data-testid=nav-sell]")
    fixed_row = page.locator(f"[data-testid=seller-lot][data-lot-id='{fixed_id}']")
    bid_row = page.locator(f"[data-testid=seller-lot][data-lot-id='{auction_id}']")
    assert fixed_row.get_attribute("data-status") == "live" and "takes offers" in fixed_row.inner_text()
    # Bids are final: the lot with a bid has no Cancel.
    assert bid_row.get_attribute("data-status") == "live" and bid_row.locator("[data-testid=cancel-lot]").count() == 0
    cancel = fixed_row.locator("[data-testid=cancel-lot]")
    assert cancel.get_attribute("aria-label") == "Cancel the lot for @cassfixed"
    within_width(page, cancel)
    reads_well(page, "seller-dashboard-lots")
    # Asked once more: saying no keeps the lot; yes cancels it.
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    cancel.click()
    assert questions and questions[0].startswith("Cancel the lot for @cassfixed?")
    assert fixed_row.get_attribute("data-status") == "live"
    page.once("dialog", lambda dialog: dialog.accept())
    cancel.click()
    page.wait_for_url(re.compile(r".*/seller$"))
    assert flash_text(page, "success") == f"Lot #{fixed_id} for @cassfixed is cancelled."
    fixed_row = page.locator(f"[data-testid=seller-lot][data-lot-id='{fixed_id}']")
    assert fixed_row.get_attribute("data-status") == "cancelled" and "Cancelled" in fixed_row.inner_text()
    assert fixed_row.locator("[data-testid=cancel-lot]").count() == 0
    # The handle is free to list again.
    assert page.locator("[data-testid=linked-handle][data-handle=cassfixed] a",
                        has_text="List it").count() == 1
    # Someone watching the lot sees it close without reloading.
    watcher.locator("[data-testid=lot-status]", has_text="Cancelled").wait_for(timeout=10_000)
    assert watcher.locator("[data-testid=buy-button]").is_hidden()

    def stored():
        listing = db.session.get(Listing, fixed_id)
        seller_id = db.session.query(User.id).filter_by(email=email).scalar()
        entry = db.session.query(AuditEntry).filter_by(action="seller.lot.cancel", target=f"lot:{fixed_id}").first()
        return (listing.closed_status, entry is not None and entry.actor_id == seller_id)

    assert eventually(seed_app, stored) == ("cancelled", True)
    with seed_app.app_context():
        assert db.session.get(Listing, auction_id).closed_status is None
    for each in (page, watcher):
        each.context.close()
