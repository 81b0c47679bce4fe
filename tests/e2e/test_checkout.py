"""Buying in the browser, as a buyer does it: Buy on a lot page, the confirmation, the saved card
charged, the receipt. The flagship fixed-price lot, two buyers at once, the checkout hold seen
live by another watcher (and its lapse), the bank's check through Stripe.js in the page, a
refused card and paying again, a Dutch lot at its live price, buy-now (and its end at the first
bid), the same purchase without JavaScript, and the pages in Arabic on a phone."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import Handle, Listing, Order, User
from marketplace.wiring import listings
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import AXE, serious_violations
from tests.e2e.test_buyer_journey import pay_again_with_a_new_card
from tests.e2e.test_live_bidding import sign_in
from tests.factories import PASSWORD, make_auction, make_user, released_handle
from tests.procs import http_json
from tests.support import fake_stripe_card

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PAID = ("paid", "transferred", "completed")


def shot(page, name: str, full_page: bool = True) -> None:
    """A screenshot for people to look at (test-artifacts/checkout-<name>.png)."""
    page.screenshot(path=str(ARTIFACTS / f"checkout-{name}.png"), full_page=full_page)


def buyer(seed_app, fake_stripe, name: str, card_number: str | None = "4242424242424242") -> str:
    """A buyer with a saved card made from a raw test number (None: no card); their email."""
    with seed_app.app_context():
        card = fake_stripe_card(fake_stripe, card_number) if card_number else None
        return make_user(name=name, card=card).email


def fixed_lot(seed_app, price_cents: int = 5_000_000) -> int:
    """A live platform fixed-price lot (the flagship price by default); its id."""
    with seed_app.app_context():
        admin = db.session.query(User).filter_by(email="admin@example.com").one()
        lot = listings().create(admin, {"handle": released_handle().display, "kind": "fixed",
                                        "price_cents": price_cents})
        return lot.id


def page_for(browser, server, email: str | None, viewport=DESKTOP, lang: str | None = None, **options):
    """A page in a fresh context, signed in as `email` (None: anonymous)."""
    context = browser.new_context(viewport=viewport, **options)
    if lang:
        context.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
    page = context.new_page()
    if email:
        sign_in(page, server.url, email, PASSWORD)
    return page


def open_lot(page, server, lot_id: int) -> None:
    """The lot page, with its live connection up."""
    page.goto(f"{server.url}/lots/{lot_id}")
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()


def press_buy(page, testid: str = "buy-button"):
    """Press Buy: the confirmation dialog opens; returns it."""
    page.click(f"[data-testid={testid}]")
    dialog = page.locator("[data-testid=buy-dialog]")
    dialog.wait_for(state="visible")
    return dialog


def order_of(seed_app, lot_id: int, seconds: float = 15) -> Order:
    """The lot's one order, once the server has written it (a fresh read each time)."""
    deadline = time.monotonic() + seconds
    with seed_app.app_context():
        while True:
            db.session.rollback()
            orders = db.session.query(Order).filter_by(listing_id=lot_id).all()
            if orders or time.monotonic() > deadline:
                assert len(orders) == 1, f"lot {lot_id} has {len(orders)} orders"
                db.session.expunge(orders[0])
                return orders[0]
            time.sleep(0.1)


def outcome(page, seconds: float = 15) -> str:
    """How a confirmed Buy ended on a page: "bought" (on the receipt) or "refused" (said why)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if re.search(r"/orders/\d+$", page.url):
            return "bought"
        try:
            if page.locator("[data-testid=buy-result][data-outcome=error]").count():
                return "refused"
        except Exception:  # noqa: BLE001 - the page is navigating to the receipt
            pass
        time.sleep(0.1)
    return "nothing"


def wait_completed(page) -> None:
    """The order page shows the order completed (the worker moves the handle and closes it)."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=order-page]').dataset.status === 'completed'", timeout=20_000)


def test_a_buyer_buys_the_flagship_fixed_lot_through_to_the_receipt(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    email = buyer(seed_app, fake_stripe, "Fiona")
    lot_id = fixed_lot(seed_app)
    page = page_for(module_browser, server, email)
    open_lot(page, server, lot_id)
    button = page.locator("[data-testid=buy-button]")
    assert button.is_enabled() and "$50,000" in button.inner_text()
    shot(page, "fixed-desktop")
    dialog = press_buy(page)
    text = dialog.inner_text()
    assert "$50,000" in text and "held for you for 15 minutes" in text and "ending 4242" in text
    assert "within 2 days" in text and "receipt" in text
    shot(page, "fixed-confirm", full_page=False)
    page.click("[data-testid=confirm-buy]")
    page.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    wait_completed(page)
    assert page.locator("[data-testid=receipt-title]").inner_text() == "Receipt"
    assert "$50,000" in page.locator("[data-testid=receipt-amount]").inner_text()
    shot(page, "fixed-receipt")
    order = order_of(seed_app, lot_id)
    with seed_app.app_context():
        listing = db.session.get(Listing, lot_id)
        handle = db.session.get(Handle, listing.handle_id)
        assert order.amount_cents == 5_000_000 and handle.account.user_id == order.buyer_id
    # Back on the lot page: sold, and where the buyer stands leads to the receipt.
    open_lot(page, server, lot_id)
    assert page.locator("[data-testid=winner]").inner_text() == "Sold at $50,000"
    assert page.locator("[data-testid=standing]").get_attribute("data-state") == "bought"
    assert page.locator("[data-testid=standing-link]").get_attribute("href") == f"/orders/{order.id}"
    page.context.close()


def test_two_buyers_press_buy_at_once_one_checks_out_the_other_sees_the_sale(module_browser, module_server,
                                                                               fake_stripe):
    server, seed_app = module_server
    lot_id = fixed_lot(seed_app)
    pages = [page_for(module_browser, server, buyer(seed_app, fake_stripe, name), viewport)
             for name, viewport in (("Gus", DESKTOP), ("Hana", PHONE))]
    for page in pages:
        open_lot(page, server, lot_id)
        press_buy(page)
    # Both confirm at once: one order, one charge; the other buyer is told, live, without a reload.
    for page in pages:
        page.locator("[data-testid=confirm-buy]").dispatch_event("click")
    order = order_of(seed_app, lot_id)
    outcomes = [outcome(page) for page in pages]
    assert sorted(outcomes) == ["bought", "refused"], outcomes
    other = [page for page, seen in zip(pages, outcomes) if seen == "refused"]
    other[0].locator("[data-testid=winner]").wait_for(state="visible", timeout=10_000)
    assert other[0].locator("[data-testid=winner]").inner_text() == "Sold at $50,000"
    assert other[0].locator("[data-testid=buy-box]").is_hidden()
    refusal = other[0].locator("[data-testid=buy-result]").inner_text()
    assert re.search(r"held for them until|no longer for sale", refusal), refusal
    shot(other[0], "two-buyers-loser")
    assert order.status in PAID or order.status == "awaiting_payment"
    for page in pages:
        page.context.close()


def test_a_bank_check_in_the_page_while_another_watcher_sees_the_hold_live(module_browser, module_server,
                                                                          fake_stripe):
    server, seed_app = module_server
    lot_id = fixed_lot(seed_app)
    checker = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Ines", "4000002760003184"))
    watcher = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Jon"), PHONE)
    for page in (checker, watcher):
        open_lot(page, server, lot_id)
    press_buy(checker)
    checker.click("[data-testid=confirm-buy]")
    # The bank asks (the development Stripe.js shows its own check): meanwhile the lot is held.
    checker.locator("text=Complete authentication").wait_for(timeout=15_000)
    watcher.locator("[data-testid=hold-note]").wait_for(state="visible", timeout=10_000)
    assert "Held for another buyer until" in watcher.locator("[data-testid=hold-note]").inner_text()
    assert watcher.locator("[data-testid=buy-button]").is_disabled()
    shot(checker, "bank-check", full_page=False)
    shot(watcher, "held-for-another-phone")
    checker.click("text=Complete authentication")
    checker.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    wait_completed(checker)
    # The sale reaches the watcher live.
    watcher.wait_for_function("() => document.querySelector('[data-testid=winner]').offsetParent !== null",
                              timeout=10_000)
    assert watcher.locator("[data-testid=winner]").inner_text() == "Sold at $50,000"
    assert watcher.locator("[data-testid=lot-status]").inner_text() in ("Ended", "Sold")
    for page in (checker, watcher):
        page.context.close()


def test_a_failed_bank_check_holds_the_lot_until_it_lapses_and_frees_it_live(module_browser, module_server,
                                                                             fake_stripe):
    server, seed_app = module_server
    lot_id = fixed_lot(seed_app)
    checker = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Kai", "4000002760003184"))
    watcher = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Lea"))
    for page in (checker, watcher):
        open_lot(page, server, lot_id)
    press_buy(checker)
    checker.click("[data-testid=confirm-buy]")
    checker.click("text=Fail authentication", timeout=15_000)
    result = checker.locator("[data-testid=buy-result]")
    result.locator("[data-testid=buy-other-card]").wait_for(timeout=15_000)
    assert "did not go through" in result.inner_text()
    standing = checker.locator("[data-testid=standing]")
    assert standing.get_attribute("data-state") == "payment_needed"
    watcher.locator("[data-testid=hold-note]").wait_for(state="visible", timeout=10_000)
    shot(checker, "bank-check-failed")
    # The checkout's 15 minutes run out (brought forward here): the lot is on sale again, live.
    with seed_app.app_context():
        now = seed_app.extensions["clock"].now()
        db.session.get(Listing, lot_id).hold_until = now
        db.session.query(Order).filter_by(listing_id=lot_id).one().pay_by = now
        db.session.commit()
    watcher.locator("[data-testid=hold-note]").wait_for(state="hidden", timeout=15_000)
    watcher.wait_for_function("() => !document.querySelector('[data-testid=buy-button]').disabled")
    assert order_of(seed_app, lot_id).status == "lapsed"
    for page in (checker, watcher):
        page.context.close()


def test_a_declined_card_says_so_and_the_buyer_pays_with_another(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    lot_id = fixed_lot(seed_app, price_cents=1_000_000)
    page = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Mo", "4000000000000341"), PHONE)
    open_lot(page, server, lot_id)
    press_buy(page)
    page.click("[data-testid=confirm-buy]")
    result = page.locator("[data-testid=buy-result]")
    result.locator("[data-testid=buy-other-card]").wait_for(timeout=15_000)
    assert "did not go through" in result.inner_text()
    shot(page, "declined-phone")
    page.click("[data-testid=buy-other-card]")
    pay_again_with_a_new_card(page)
    assert "4242" in page.locator("[data-testid=receipt-card]").inner_text()
    page.context.close()


def test_a_dutch_lot_is_bought_at_its_live_price(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    with seed_app.app_context():
        admin = db.session.query(User).filter_by(email="admin@example.com").one()
        lot = listings().create(admin, {"handle": released_handle().display, "kind": "dutch",
                                        "start_price_cents": 8_000_000, "floor_price_cents": 500_000,
                                        "half_life_seconds": 3600})
        # Started two and a half hours ago: halved twice, to $20,000, and the next fall is half an hour off.
        row = db.session.get(Listing, lot.id)
        row.starts_at = seed_app.extensions["clock"].now() - timedelta(hours=2, minutes=30)
        db.session.commit()
        lot_id = lot.id
    page = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Nia"))
    open_lot(page, server, lot_id)
    assert page.locator("[data-testid=price]").inner_text() == "$20,000"
    dialog = press_buy(page)
    assert page.locator("[data-testid=buy-price]").inner_text() == "$20,000"
    assert "never more than the price shown here" in dialog.inner_text()
    shot(page, "dutch-confirm", full_page=False)
    page.click("[data-testid=confirm-buy]")
    page.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    wait_completed(page)
    assert order_of(seed_app, lot_id).amount_cents == 2_000_000
    assert "$20,000" in page.locator("[data-testid=receipt-amount]").inner_text()
    page.context.close()


def test_buy_now_is_bought_and_disappears_live_for_a_watcher_at_the_first_bid(module_browser, module_server,
                                                                             fake_stripe):
    server, seed_app = module_server
    with seed_app.app_context():
        bought_lot = make_auction(start_cents=100_000, buy_now_cents=900_000, minutes=60).id
        bid_lot = make_auction(start_cents=100_000, buy_now_cents=900_000, minutes=60).id
        bidder = make_user(name="Otto", card="pm_card_visa")
        bidder_email = bidder.email
    # Buy now, bought.
    page = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Pia"))
    open_lot(page, server, bought_lot)
    dialog = press_buy(page, "buy-now-button")
    assert "$9,000" in dialog.inner_text() and "ends the auction at once" in dialog.inner_text()
    page.click("[data-testid=confirm-buy]")
    page.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    assert order_of(seed_app, bought_lot).source == "buy_now"
    # Buy now, gone for a watcher the moment someone bids.
    open_lot(page, server, bid_lot)
    buy_now = page.locator("[data-testid=buy-now]")
    assert buy_now.is_visible()
    _, token = http_json("POST", f"{server.url}/api/v1/tokens", {"email": bidder_email, "password": PASSWORD})
    status, body = http_json("POST", f"{server.url}/api/v1/lots/{bid_lot}/bids", {"max_amount_cents": 150_000},
                             token=token["token"])
    assert status == 201, body
    buy_now.wait_for(state="hidden", timeout=10_000)
    page.context.close()


def test_the_same_purchase_works_without_javascript(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    lot_id = fixed_lot(seed_app, price_cents=2_500_000)
    page = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Quin"), java_script_enabled=False)
    page.goto(f"{server.url}/lots/{lot_id}")
    page.click("[data-testid=buy-button]")
    page.locator("[data-testid=buy-page]").wait_for()
    assert "$25,000" in page.locator("[data-testid=buy-confirm-text]").inner_text()
    shot(page, "nojs-confirm")
    form = {field: page.locator(f"[data-testid=buy-page] input[name={field}]").get_attribute("value")
            for field in ("csrf_token", "max_price_cents", "key")}
    page.click("[data-testid=confirm-buy]")
    page.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    assert "Paid: $25,000" in page.locator("[data-testid=flash]").inner_text()
    order = order_of(seed_app, lot_id)
    assert order.status in PAID
    # The same form sent again (a resend from the browser's history): the same order, no second one.
    again = page.request.post(f"{server.url}/lots/{lot_id}/buy", form=form, max_redirects=0)
    assert again.status == 302 and again.headers["location"] == f"/orders/{order.id}"
    assert order_of(seed_app, lot_id).id == order.id
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_checkout_pages_read_well_on_a_phone_in_english_and_arabic(module_browser, module_server, fake_stripe,
                                                                  lang):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci installs axe-core)")
    server, seed_app = module_server
    lot_id = fixed_lot(seed_app)
    email = buyer(seed_app, fake_stripe, "Rae")
    for viewport, size in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = page_for(module_browser, server, email, viewport, lang=lang)
        for path, name in ((f"/lots/{lot_id}", "lot"), (f"/lots/{lot_id}/buy", "confirm-page"),
                           ("/account/handles", "handles")):
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
            if size == "phone":
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{name} scrolls sideways on a phone by {overflow}px"
            else:
                assert serious_violations(page) == [], name
            shot(page, f"{name}-{lang}-{size}")
        page.goto(f"{server.url}/lots/{lot_id}")
        page.locator("[data-testid=live-badge][data-state=live]").wait_for()
        press_buy(page)
        if size == "desktop":
            assert serious_violations(page) == [], "buy dialog"
        shot(page, f"dialog-{lang}-{size}", full_page=False)
        page.context.close()


def test_the_buyers_previous_handle_is_kept_and_taken_back_in_the_page(module_browser, module_server,
                                                                       fake_stripe):
    from marketplace.registry import DatabaseRegistry

    server, seed_app = module_server
    email = buyer(seed_app, fake_stripe, "Sam")
    with seed_app.app_context():
        user = db.session.query(User).filter_by(email=email).one()
        DatabaseRegistry(db.session).create_account("sams_old", seed_app.extensions["clock"].now(), user_id=user.id)
        db.session.commit()
    lot_id = fixed_lot(seed_app, price_cents=1_500_000)
    page = page_for(module_browser, server, email, PHONE)
    open_lot(page, server, lot_id)
    press_buy(page)
    page.click("[data-testid=confirm-buy]")
    page.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    wait_completed(page)
    page.reload()  # the note names the handle the swap kept for the buyer
    assert "@sams_old left your account" in page.locator("[data-testid=kept-note]").inner_text()
    page.click("[data-testid=kept-link]")
    kept = page.locator("[data-testid=kept-handle][data-handle=sams_old]")
    assert "Kept for you until" in kept.inner_text()
    shot(page, "kept-handle-phone")
    kept.locator("[data-testid=take-back]").click()
    page.locator("[data-testid=owned-handle][data-handle=sams_old]").wait_for()
    assert "is yours again" in page.locator("[data-testid=flash]").inner_text()
    page.context.close()


def test_an_unpaid_dutch_purchase_puts_the_lot_back_on_sale_live(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    with seed_app.app_context():
        admin = db.session.query(User).filter_by(email="admin@example.com").one()
        lot_id = listings().create(admin, {"handle": released_handle().display, "kind": "dutch",
                                           "start_price_cents": 4_000_000, "floor_price_cents": 500_000,
                                           "half_life_seconds": 3600}).id
    unpaid = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Tove", "4000000000000341"))
    watcher = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Uli"), PHONE)
    for page in (unpaid, watcher):
        open_lot(page, server, lot_id)
    press_buy(unpaid)
    unpaid.click("[data-testid=confirm-buy]")
    unpaid.locator("[data-testid=buy-result] [data-testid=buy-other-card]").wait_for(timeout=15_000)
    # Bought, so off the market while its buyer may still pay...
    watcher.locator("[data-testid=winner]").wait_for(state="visible", timeout=10_000)
    assert watcher.locator("[data-testid=buy-box]").is_hidden()
    # ...until the time to pay runs out (brought forward here): on sale again, live.
    with seed_app.app_context():
        db.session.query(Order).filter_by(listing_id=lot_id).one().pay_by = seed_app.extensions["clock"].now()
        db.session.commit()
    watcher.locator("[data-testid=buy-box]").wait_for(state="visible", timeout=15_000)
    assert watcher.locator("[data-testid=winner]").is_hidden()
    assert watcher.locator("[data-testid=buy-button]").is_enabled()
    assert watcher.locator("[data-testid=lot-status]").inner_text() == "Live"
    assert order_of(seed_app, lot_id).status == "lapsed"
    for page in (unpaid, watcher):
        page.context.close()
