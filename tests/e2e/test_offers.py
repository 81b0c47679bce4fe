"""Offers on a seller's fixed-price lot, in the browser, as buyers and the seller do it: an offer made
from the lot page (review, then confirm), the seller's counter on the offers page, the buyer accepting
the counter and being charged (the order, through to the receipt); another offer declined by the
seller from their dashboard, and one withdrawn by its buyer. Each step checks what the person sees and
what the server stored."""
from __future__ import annotations

import re

import pytest

from marketplace.extensions import db
from marketplace.models import Handle, Listing, Offer, Order, User
from tests.e2e.journey import DESKTOP, PHONE, eventually, flash_text, reads_well, shot, through_menu, \
    wait_order_status, within_width
from tests.e2e.test_checkout import buyer, fixed_lot, open_lot, page_for
from tests.factories import into_sellers_account, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def seller_lot(seed_app, price_cents: int = 5_000_000) -> tuple[int, str]:
    """A live fixed-price lot of a seller who takes offers (the handle waits in their account); (lot id,
    the seller's email)."""
    lot_id = fixed_lot(seed_app, price_cents)
    with seed_app.app_context():
        seller = make_user(name="Sally Seller")
        listing = db.session.get(Listing, lot_id)
        into_sellers_account(listing, seller)
        db.session.get(Listing, lot_id).accepts_offers = True
        db.session.commit()
        return lot_id, seller.email


def make_offer(page, server, lot_id: int, dollars: str, message: str = "") -> None:
    """From the lot page: type an offer, review it, and send it; ends on /offers."""
    open_lot(page, server, lot_id)
    page.fill("[data-testid=offer-amount]", dollars)
    if message:
        page.fill("[data-testid=offer-message]", message)
    page.click("[data-testid=offer-submit]")
    page.locator("[data-testid=offer-confirm-page]").wait_for()
    page.click("[data-testid=offer-confirm-send]")
    page.wait_for_url(re.compile(r".*/offers$"))


def offers_of(lot_id: int) -> list[tuple]:
    """The lot's offers as stored, oldest first: (made_by, amount, status, buyer id, order id)."""
    return [(o.made_by, o.amount_cents, o.status, o.buyer_id, o.order_id)
            for o in db.session.query(Offer).filter_by(listing_id=lot_id).order_by(Offer.id)]


def row(page, offer_id: int):
    """The row of one offer on the page (the first table it is in)."""
    return page.locator(f"[data-testid=offer-row][data-offer-id='{offer_id}']").first


def test_a_buyer_offers_the_seller_counters_and_the_buyer_accepts_and_pays(module_browser, module_server,
                                                                            fake_stripe):
    server, seed_app = module_server
    lot_id, seller_email = seller_lot(seed_app)
    buyer_email = buyer(seed_app, fake_stripe, "Oscar Offerer")
    shopper = page_for(module_browser, server, buyer_email, PHONE)
    seller = page_for(module_browser, server, seller_email, DESKTOP)

    # The buyer's offer: the lot page's box, then a confirmation saying what it commits to.
    open_lot(shopper, server, lot_id)
    box = shopper.locator("[data-testid=offer-box]")
    assert "Below $50,000" in box.inner_text()
    reads_well(shopper, "offer-lot-box")
    shopper.fill("[data-testid=offer-amount]", "40,000")
    shopper.fill("[data-testid=offer-message]", "Would you take $40k?")
    shopper.click("[data-testid=offer-submit]")
    confirm = shopper.locator("[data-testid=offer-confirm-text]")
    confirm.wait_for()
    assert "You offer $40,000 for @" in confirm.inner_text()
    assert "your saved card is charged $40,000 at once" in confirm.inner_text()
    reads_well(shopper, "offer-confirm")
    shopper.click("[data-testid=offer-confirm-send]")
    shopper.wait_for_url(re.compile(r".*/offers$"))
    assert "Your offer of $40,000 is with the seller" in flash_text(shopper, "success")
    with seed_app.app_context():
        buyer_id = db.session.query(User).filter_by(email=buyer_email).one().id
        assert offers_of(lot_id) == [("buyer", 4_000_000, "pending", buyer_id, None)]
        first_id = db.session.query(Offer.id).filter_by(listing_id=lot_id).scalar()
    assert row(shopper, first_id).get_attribute("data-status") == "pending"
    reads_well(shopper, "offers-buyer-open")
    # Back on the lot page, the box says the offer is with the seller instead of a second form.
    open_lot(shopper, server, lot_id)
    assert "Your offer of $40,000 is with the seller until" in shopper.locator("[data-testid=open-offer]").inner_text()
    assert shopper.locator("[data-testid=offer-form]").count() == 0

    # The seller sees it waiting on the dashboard, and counters on the offers page.
    seller.goto(f"{server.url}/seller")
    waiting = seller.locator("[data-testid=seller-offers-table]")
    assert "$40,000" in waiting.inner_text() and "Would you take $40k?" in waiting.inner_text()
    through_menu(seller, "nav-offers")
    seller.wait_for_url(re.compile(r".*/offers$"))
    received = row(seller, first_id)
    assert "Buyer " in received.inner_text() and "$40,000" in received.inner_text()
    reads_well(seller, "offers-seller-received")
    received.locator("[data-testid=offer-counter-amount]").fill("45,000")
    received.locator("[data-testid=offer-counter]").click()
    assert "Counter-offer of $45,000 sent." in flash_text(seller, "success")
    assert row(seller, first_id).get_attribute("data-status") == "countered"
    with seed_app.app_context():
        assert offers_of(lot_id) == [("buyer", 4_000_000, "countered", buyer_id, None),
                                     ("seller", 4_500_000, "pending", buyer_id, None)]
        counter_id = db.session.query(Offer.id).filter_by(listing_id=lot_id, made_by="seller").scalar()

    # The buyer accepts the counter from the offers page: charged at once, and led to the order.
    through_menu(shopper, "nav-offers")
    shopper.wait_for_url(re.compile(r".*/offers$"))
    counter = row(shopper, counter_id)
    assert "Seller " in counter.inner_text() and "$45,000" in counter.inner_text()
    accept = counter.locator("[data-testid=offer-accept]")
    assert accept.inner_text() == "Accept and pay $45,000" and accept.is_enabled()
    for control in ("offer-accept", "offer-decline", "offer-counter-amount", "offer-counter"):
        within_width(shopper, counter.locator(f"[data-testid={control}]"))
    shot(shopper, "offers-buyer-countered-phone")
    accept.click()
    shopper.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    assert "Offer accepted at $45,000" in flash_text(shopper, "success")
    # Paid, and the handle moved; the seller's payout waits for their payout account.
    wait_order_status(shopper, "transferred")
    assert shopper.locator("[data-testid=receipt-title]").inner_text() == "Receipt"
    assert "$45,000" in shopper.locator("[data-testid=receipt-amount]").inner_text()
    shot(shopper, "offer-receipt-phone")

    def settled():
        order = db.session.query(Order).filter_by(listing_id=lot_id).one_or_none()
        return order if order is not None and order.status == "transferred" else None

    order = eventually(seed_app, settled, what="the offer's order transferred")
    with seed_app.app_context():
        order = db.session.get(Order, order.id)
        listing = db.session.get(Listing, lot_id)
        assert (order.buyer_id, order.amount_cents, order.source) == (buyer_id, 4_500_000, "offer")
        assert offers_of(lot_id)[-1] == ("seller", 4_500_000, "accepted", buyer_id, order.id)
        assert listing.closed_status == "sold"
        assert db.session.get(Handle, listing.handle_id).account.user_id == buyer_id
    # The seller's offers page shows the counter accepted, with the way to the order.
    seller.reload()
    assert row(seller, counter_id).get_attribute("data-status") == "accepted"
    assert row(seller, counter_id).locator(f"a[href='/orders/{order.id}']").count() == 1
    for page in (shopper, seller):
        page.context.close()


def test_the_seller_declines_one_offer_and_another_buyer_withdraws_theirs(module_browser, module_server,
                                                                          fake_stripe):
    server, seed_app = module_server
    lot_id, seller_email = seller_lot(seed_app, price_cents=2_000_000)
    low = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Lowell"), DESKTOP)
    changed_mind = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Wanda"), PHONE)
    make_offer(low, server, lot_id, "9,000", "A fair price for a short name.")
    make_offer(changed_mind, server, lot_id, "15,500")
    with seed_app.app_context():
        low_id, withdrawn_id = [o.id for o in db.session.query(Offer).filter_by(listing_id=lot_id).order_by(Offer.id)]

    # The seller declines the low offer straight from the dashboard's "waiting for your answer".
    seller = page_for(module_browser, server, seller_email, PHONE)
    seller.goto(f"{server.url}/seller")
    waiting = seller.locator("[data-testid=seller-offers]")
    assert waiting.locator("[data-testid=offer-row]").count() == 2
    reads_well(seller, "seller-dashboard-offers")
    for control in ("offer-accept", "offer-decline", "offer-counter"):
        within_width(seller, row(seller, low_id).locator(f"[data-testid={control}]"))
    row(seller, low_id).locator("[data-testid=offer-decline]").click()
    seller.wait_for_url(re.compile(r".*/seller$"))
    assert "Offer declined." in flash_text(seller)
    assert seller.locator("[data-testid=seller-offers] [data-testid=offer-row]").count() == 1

    # The other buyer takes theirs back from the offers page.
    changed_mind.goto(f"{server.url}/offers")
    mine = row(changed_mind, withdrawn_id)
    within_width(changed_mind, mine.locator("[data-testid=offer-withdraw]"))
    assert mine.locator("[data-testid=offer-accept]").count() == 0  # one's own offer: only withdraw
    mine.locator("[data-testid=offer-withdraw]").click()
    assert "Offer withdrawn." in flash_text(changed_mind)
    assert row(changed_mind, withdrawn_id).get_attribute("data-status") == "withdrawn"
    assert row(changed_mind, withdrawn_id).locator("[data-testid=offer-actions]").count() == 0

    # The declined buyer reads the answer on their offers page, and may offer again from the lot page.
    low.goto(f"{server.url}/offers")
    assert row(low, low_id).get_attribute("data-status") == "declined"
    assert row(low, low_id).locator("[data-testid=offer-status]").inner_text() == "Declined"
    open_lot(low, server, lot_id)
    assert low.locator("[data-testid=offer-form]").is_visible()
    with seed_app.app_context():
        assert [status for _by, _amount, status, _buyer, _order in offers_of(lot_id)] == ["declined", "withdrawn"]
        assert db.session.get(Listing, lot_id).closed_status is None
        assert db.session.query(Order).filter_by(listing_id=lot_id).count() == 0
    seller.goto(f"{server.url}/seller")
    assert seller.locator("[data-testid=seller-offers-empty]").is_visible()
    for page in (low, changed_mind, seller):
        page.context.close()
