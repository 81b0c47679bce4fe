"""Where you stand, in two browsers, live: "you are the highest bidder", "outbid — the next bid
is…", "below the reserve", then "you won" with the way to the order (and, for the other bidder,
the sale); and a seller on their own lot sees it is theirs, with no bid or buy controls."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest

from marketplace.extensions import db
from marketplace.models import Listing
from tests.e2e.test_checkout import DESKTOP, PHONE, fixed_lot, open_lot, page_for, shot
from tests.e2e.test_live_bidding import bid
from tests.factories import into_sellers_account, make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def standing(page) -> tuple[str, str]:
    """The standing line's state and text as the page shows them now."""
    box = page.locator("[data-testid=standing]")
    return box.get_attribute("data-state"), box.locator("[data-field=standing-text]").inner_text()


def wait_standing(page, state: str, timeout: float = 10_000) -> str:
    """Wait for the standing line to reach `state`; its text."""
    page.locator(f"[data-testid=standing][data-state={state}]").wait_for(timeout=timeout)
    return standing(page)[1]


def test_winning_outbid_and_won_live_in_two_browsers(module_browser, module_server):
    server, seed_app = module_server
    with seed_app.app_context():
        lot = make_auction(minutes=30, start_cents=100_000, reserve_cents=400_000, soft_close_seconds=0)
        alice = make_user(name="Alma", card="pm_card_visa")
        bob = make_user(name="Boris", card="pm_card_visa")
        lot_id, alice_email, bob_email = lot.id, alice.email, bob.email
    alice_page = page_for(module_browser, server, alice_email, DESKTOP)
    bob_page = page_for(module_browser, server, bob_email, PHONE)
    for page in (alice_page, bob_page):
        open_lot(page, server, lot_id)
        assert page.locator("[data-testid=standing]").is_hidden()  # nothing to say before a bid

    bid(alice_page, "2,000")
    assert wait_standing(alice_page, "below_reserve") == (
        "You are the highest bidder, but your maximum of $2,000 is below the reserve: raise it to win.")
    bid(bob_page, "5,000")
    assert wait_standing(bob_page, "leading") == "You are the highest bidder — your maximum is $5,000."
    # Alice's page turns to "outbid" by itself, with the next bid to beat.
    assert wait_standing(alice_page, "outbid") == "You have been outbid — the next bid is $4,100."
    shot(alice_page, "standing-outbid-desktop")
    shot(bob_page, "standing-leading-phone")
    # A reload says the same (the page renders it; the socket keeps it current).
    alice_page.reload()
    assert standing(alice_page) == ("outbid", "You have been outbid — the next bid is $4,100.")

    # The lot ends: Bob is told he won and led to his order; Alice sees the sale.
    with seed_app.app_context():
        db.session.get(Listing, lot_id).ends_at = seed_app.extensions["clock"].now() + timedelta(seconds=2)
        db.session.commit()
    assert wait_standing(bob_page, "won", timeout=20_000) == "You won at $4,000."
    assert wait_standing(alice_page, "lost") == "Your maximum of $2,000 was not the highest."
    assert alice_page.locator("[data-testid=winner]").inner_text() == "Ended — sold at $4,000"
    shot(bob_page, "standing-won-phone")
    # The private "you won" alert leads to the order as well.
    won_alert = bob_page.locator("[data-testid=won-alert] a")
    won_alert.wait_for(timeout=10_000)
    assert won_alert.inner_text() == "See your order" and re.fullmatch(r"/orders/\d+", won_alert.get_attribute("href"))
    bob_page.click("[data-testid=standing-link]")
    bob_page.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=10_000)
    assert "$4,000" in bob_page.locator("[data-testid=receipt-amount]").inner_text()
    order_path = urlparse(bob_page.url).path
    # The "won" notice leads to the order too, not the lot.
    bob_page.goto(f"{server.url}/account/notifications")
    assert bob_page.locator(f"a[href='{order_path}']").count() >= 1
    # Marking them read clears the count in the header.
    assert bob_page.locator("[data-testid=notice-count]").is_visible()
    bob_page.click("[data-testid=mark-read]")
    bob_page.locator("[data-testid=notice-count]").wait_for(state="hidden")
    for page in (alice_page, bob_page):
        page.context.close()


def test_a_seller_on_their_own_lot_sees_it_is_theirs_and_no_controls(module_browser, module_server):
    server, seed_app = module_server
    lot_id = fixed_lot(seed_app)
    with seed_app.app_context():
        seller = make_user(name="Selma", card="pm_card_visa")
        into_sellers_account(db.session.get(Listing, lot_id), seller)
        auction = make_auction(minutes=30, start_cents=100_000)
        into_sellers_account(auction, seller)
        email, auction_id = seller.email, auction.id
    page = page_for(module_browser, server, email, PHONE)
    for target in (lot_id, auction_id):
        open_lot(page, server, target)
        assert standing(page) == ("seller", "This is your lot.")
        assert page.locator("[data-testid=standing-link]").get_attribute("href") == "/seller"
        for control in ("buy-button", "bid-form", "buy-now-button", "offer-form"):
            assert page.locator(f"[data-testid={control}]").count() == 0, control
    shot(page, "standing-seller-phone")
    page.context.close()


def test_a_bid_the_bank_asks_about_is_confirmed_then_placed(module_browser, module_server, fake_stripe):
    from tests.support import fake_stripe_card

    server, seed_app = module_server
    with seed_app.app_context():
        lot_id = make_auction(minutes=30, start_cents=100_000).id
        email = make_user(name="Vera", card=fake_stripe_card(fake_stripe, "4000002760003184")).email
    page = page_for(module_browser, server, email, PHONE)
    open_lot(page, server, lot_id)
    bid(page, "2,500")
    # Refused until the bank confirms the authorisation: the refusal leads to the bank's check.
    link = page.locator("[data-testid=bid-action-link]")
    link.wait_for(timeout=15_000)
    assert link.inner_text() == "Confirm with your bank"
    link.click()
    page.locator("[data-testid=hold-page]").wait_for()
    page.click("[data-testid=authenticate-hold]")
    page.click("text=Complete authentication", timeout=15_000)
    page.locator("[data-testid=bid-again]").wait_for(timeout=15_000)
    shot(page, "bid-bank-confirmed-phone")
    page.click("[data-testid=bid-again]")
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    assert page.locator("[data-testid=bid-input]").input_value() == "2500"  # the authorised maximum, put back
    page.click("[data-testid=bid-submit]")
    page.locator("[data-testid=confirm-dialog]").wait_for(state="visible")
    page.click("[data-testid=confirm-bid]")
    assert wait_standing(page, "leading") == "You are the highest bidder — your maximum is $2,500."
    page.context.close()
