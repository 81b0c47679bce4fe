"""The admin console's actions in the browser, as an admin does them: a new lot of each kind
(/admin/lots/new), a refund with a reason (/admin/orders/<id>), the release console's sweep and its
actions (release a bot-held account now, keep, hold back, return to the pool) and listing released
handles in one step (/admin/release/list), and the protected-names list (add, remove). Each step checks
what the page says and what the server stored (audited where the service audits)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, Handle, Listing, Order, PaymentRecord, PlatformAccount, ProtectedName, User
from marketplace.registry import DatabaseRegistry
from tests.e2e.journey import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DESKTOP,
    PHONE,
    flash_text,
    reads_well,
    shot,
    wait_order_status,
    within_width,
)
from tests.e2e.test_checkout import buyer, fixed_lot, open_lot, page_for, press_buy
from tests.e2e.test_live_bidding import sign_in
from tests.factories import released_handle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def admin_page(browser, server, viewport=DESKTOP):
    """A page signed in as the server's admin, on the admin dashboard."""
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{server.url}/admin/")
    return page


def tab(page, name: str) -> None:
    """Follow one of the admin pages' tabs by its name."""
    page.locator("nav.admin-tabs").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()


def lot_row(seed_app, lot_id: int) -> dict:
    """A stored lot's terms."""
    with seed_app.app_context():
        lot = db.session.get(Listing, lot_id)
        return {"kind": lot.kind, "start": lot.start_price_cents, "reserve": lot.reserve_cents,
                "buy_now": lot.buy_now_price_cents, "floor": lot.floor_price_cents,
                "half_life": lot.half_life_seconds, "eligibility": lot.eligibility,
                "minutes": round((lot.ends_at - lot.starts_at).total_seconds() / 60) if lot.ends_at else None,
                "created_by": lot.created_by_id}


def create_lot(page, fields: dict[str, str], kind: str) -> int:
    """Fill the new-lot form for one kind and create it; the new lot's id (the page is its lot page)."""
    page.select_option("[data-testid=kind-select]", kind)
    for name, value in fields.items():
        page.fill(f"[data-testid=new-lot-form] #{name}", value)
    page.click("[data-testid=create-lot]")
    page.wait_for_url(re.compile(r".*/lots/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_an_admin_creates_an_auction_a_fixed_price_and_a_dutch_lot(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    with seed_app.app_context():
        names = [released_handle(name).display for name in ("newauction", "newfixed", "newdutch")]
        DatabaseRegistry(db.session).create_account("stillheld", seed_app.extensions["clock"].now())
        db.session.commit()
        admin_id = db.session.query(User.id).filter_by(email=ADMIN_EMAIL).scalar()
    page = admin_page(module_browser, server)
    tab(page, "New lot")
    page.locator("[data-testid=new-lot-form]").wait_for()
    reads_well(page, "admin-new-lot")

    # A handle an account still holds is refused, and nothing is created.
    page.fill("#handle", "stillheld")
    page.select_option("[data-testid=kind-select]", "fixed")
    page.click("[data-testid=create-lot]")
    assert "@stillheld still belongs to an account; only released handles can be listed." in flash_text(page, "error")
    with seed_app.app_context():
        assert db.session.query(Listing).filter_by(handle_name="stillheld").count() == 0

    # An auction with a hidden reserve and buy-now, for two hours.
    page.goto(f"{server.url}/admin/lots/new")
    auction_id = create_lot(page, {"handle": names[0], "start_price": "1,000", "reserve": "2,000",
                                   "buy_now": "5,000", "duration_minutes": "120"}, "auction")
    assert flash_text(page, "success") == f"Lot #{auction_id} created for @{names[0]}."
    assert page.locator("[data-testid=price]").inner_text() == "$1,000"
    assert lot_row(seed_app, auction_id) == {
        "kind": "auction", "start": 100_000, "reserve": 200_000, "buy_now": 500_000, "floor": None,
        "half_life": None, "eligibility": "registered", "minutes": 120, "created_by": admin_id}

    # A fixed-price lot at the flagship price the form offers; a buyer can press its Buy button.
    page.goto(f"{server.url}/admin/lots/new")
    page.select_option("[data-testid=kind-select]", "fixed")
    assert page.input_value("#price") == "50,000"
    fixed_id = create_lot(page, {"handle": names[1]}, "fixed")
    assert flash_text(page, "success") == f"Lot #{fixed_id} created for @{names[1]}."
    assert lot_row(seed_app, fixed_id)["kind"] == "fixed" and lot_row(seed_app, fixed_id)["start"] == 5_000_000
    shopper = page_for(module_browser, server, buyer(seed_app, fake_stripe, "Ben Buyer"), PHONE)
    open_lot(shopper, server, fixed_id)
    buy = shopper.locator("[data-testid=buy-button]")
    assert buy.is_enabled() and "$50,000" in buy.inner_text()
    within_width(shopper, buy)
    shopper.context.close()

    # A Dutch lot halving every 30 minutes down to its floor.
    page.goto(f"{server.url}/admin/lots/new")
    dutch_id = create_lot(page, {"handle": names[2], "start_price": "80,000", "floor_price": "5,000",
                                 "half_life_minutes": "30"}, "dutch")
    assert flash_text(page, "success") == f"Lot #{dutch_id} created for @{names[2]}."
    assert page.locator("[data-testid=price]").inner_text() == "$80,000"
    stored = lot_row(seed_app, dutch_id)
    assert (stored["kind"], stored["start"], stored["floor"], stored["half_life"]) == ("dutch", 8_000_000, 500_000, 1800)
    with seed_app.app_context():
        assert {e.target for e in db.session.query(AuditEntry).filter_by(actor_id=admin_id)} >= {
            f"lot:{auction_id}", f"lot:{fixed_id}", f"lot:{dutch_id}"}
    page.context.close()


def test_an_admin_refunds_a_paid_order_with_a_reason(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    email = buyer(seed_app, fake_stripe, "Rita Refund")
    lot_id = fixed_lot(seed_app, price_cents=1_250_000)
    # The buyer buys it in the page (settled by the server alone: a second process stepping the same
    # order on SQLite could charge it twice, which no deployment does).
    mine = page_for(module_browser, server, email, PHONE)
    open_lot(mine, server, lot_id)
    press_buy(mine)
    mine.click("[data-testid=confirm-buy]")
    mine.wait_for_url(re.compile(r".*/orders/\d+$"), timeout=15_000)
    order_id = int(mine.url.rsplit("/", 1)[1])
    wait_order_status(mine, "completed")
    with seed_app.app_context():
        handle = db.session.get(Listing, lot_id).handle_display

    page = admin_page(module_browser, server)
    tab(page, "Orders")
    page.fill("#q", handle)
    page.click("[data-testid=orders-filter] button[type=submit]")
    page.locator(f"[data-testid=admin-order-row][data-order-id='{order_id}'] a[href$='/admin/orders/{order_id}']").click()
    page.wait_for_url(re.compile(rf".*/admin/orders/{order_id}$"))
    form = page.locator("[data-testid=refund-form]")
    assert "Returns $12,500 to the buyer's card." in form.inner_text()
    assert page.locator("[data-testid=refund-handle-note]").is_visible()  # the handle has moved already
    reads_well(page, "admin-order-refund")
    # No reason, no refund.
    form.locator("button[type=submit]").click()
    assert page.locator("[data-testid=refund-form] [data-testid=field-error]").is_visible()
    with seed_app.app_context():
        assert db.session.get(Order, order_id).status == "completed"
    page.fill("[data-testid=refund-form] textarea[name=reason]", "The buyer's company was dissolved.")
    page.click("[data-testid=refund-form] button[type=submit]")
    page.wait_for_url(re.compile(rf".*/admin/orders/{order_id}$"))
    text = flash_text(page, "success")
    assert f"Order {order_id} refunded: $12,500 returned to the buyer." in text
    assert "The handle stays with the buyer" in text
    assert page.locator("[data-testid=order-status]").inner_text().strip() == "Refunded"
    assert "This order has been refunded. Reason: The buyer's company was dissolved." in \
        page.locator("[data-testid=refund-unavailable]").inner_text()
    with seed_app.app_context():
        order = db.session.get(Order, order_id)
        kinds = [r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order_id).order_by(PaymentRecord.id)]
        assert order.status == "refunded" and kinds == ["charged", "refund_requested", "refunded"]
    # The buyer reads it, with the reason, on their order page.
    mine.reload()
    assert mine.locator("[data-testid=refund-reason]").inner_text() == "The buyer's company was dissolved."
    shot(mine, "buyer-refunded-phone")
    for each in (page, mine):
        each.context.close()


def account_of(name: str) -> PlatformAccount | None:
    """The platform account holding a handle now (None: released)."""
    handle = db.session.query(Handle).filter_by(name=name).one()
    return db.session.get(PlatformAccount, handle.account_id) if handle.account_id else None


def bulk(page, handles: list[str], reason: str, action: str | None = None) -> str:
    """Tick handles in the release queue, pick the action, give the reason, apply; the flash."""
    for name in handles:
        page.check(f"[data-testid=queue-row][data-handle={name}] input.pick")
    if action:
        page.check(f"[data-testid=bulk-action-{action}]")
    page.fill("[data-testid=bulk-reason]", reason)
    page.click("[data-testid=bulk-submit]")
    page.wait_for_load_state()
    return flash_text(page)


def queue_of(page, state: str) -> list[str]:
    """The handles the release queue's tab shows."""
    page.locator(f"[data-testid=queue-tabs] [data-state={state}]").click()
    page.wait_for_load_state()
    return [r.get_attribute("data-handle") for r in page.locator("[data-testid=queue-row]").all()]


def test_the_release_console_sweeps_acts_on_handles_and_lists_them(module_browser, module_server):
    server, seed_app = module_server
    with seed_app.app_context():
        now = seed_app.extensions["clock"].now()
        registry = DatabaseRegistry(db.session)
        _idle, bot = (registry.create_account(name, now, last_active_at=now - timedelta(days=40))
                     for name in ("idleowner", "botfarm"))
        bot_account_id = bot.account_id
        overdue = registry.create_account("gracegone", now, last_active_at=now - timedelta(days=70))
        account = db.session.get(PlatformAccount, overdue.account_id)
        account.flagged_at, account.release_due_at = now - timedelta(days=31), now - timedelta(days=1)
        db.session.commit()
    page = admin_page(module_browser, server)
    tab(page, "Release")
    # The sweep, run from the console: the two inactive accounts enter grace, the overdue one is released.
    page.click("[data-testid=run-sweep]")
    assert re.match(r"Sweep (finished|ran)", flash_text(page))
    assert "account ids checked" in page.locator("[data-testid=sweep-figure]").inner_text()
    with seed_app.app_context():
        assert account_of("gracegone") is None
        assert account_of("idleowner").flagged_at is not None and account_of("botfarm").flagged_at is not None
    assert {"idleowner", "botfarm"} <= set(queue_of(page, "grace"))
    reads_well(page, "admin-release-grace")

    # Nothing happens without a reason.
    page.check("[data-testid=queue-row][data-handle=botfarm] input.pick")
    page.click("[data-testid=bulk-submit]")
    assert "Nothing was changed" in page.locator("[data-testid=form-error]").inner_text()
    with seed_app.app_context():
        assert account_of("botfarm") is not None
    page.goto(f"{server.url}/admin/release")
    # A bot-held account is released at once; the idle owner is kept.
    assert bulk(page, ["botfarm"], "A bot network, found by the abuse team.", "release_now") == \
        "Released 1: @botfarm (released)."
    assert bulk(page, ["idleowner"], "The owner wrote to support.", "keep") == \
        "Kept with their owners (1): @idleowner."
    with seed_app.app_context():
        assert account_of("botfarm") is None
        assert db.session.get(PlatformAccount, bot_account_id).is_bot
        kept = account_of("idleowner")
        assert kept.kept_at is not None and kept.flagged_at is None
    # A released handle held back out of the pool, then put back.
    assert {"gracegone", "botfarm"} <= set(queue_of(page, "released"))
    assert bulk(page, ["gracegone"], "Looks like a brand; checking.", "hold_back") == "Held back (1): @gracegone."
    with seed_app.app_context():
        assert db.session.query(Handle).filter_by(name="gracegone").one().held_back_at is not None
    assert "gracegone" in queue_of(page, "held_back")
    reads_well(page, "admin-release-held-back")
    assert bulk(page, ["gracegone"], "Not a brand after all.", "return_to_pool") == \
        "Returned to the pool (1): @gracegone."
    with seed_app.app_context():
        assert db.session.query(Handle).filter_by(name="gracegone").one().held_back_at is None
        actions = {e.action for e in db.session.query(AuditEntry).filter(AuditEntry.target.in_(
            ["handle:botfarm", "handle:idleowner", "handle:gracegone"]))}
        assert actions >= {"release.bot", "release.keep", "release.hold_back", "release.return_to_pool"}

    # List a released handle in one step, as a fixed-price lot at a price of the admin's choosing.
    page.click("[data-testid=list-released-link]")
    page.wait_for_url(re.compile(r".*/admin/release/list$"))
    row = page.locator("[data-testid=suggestion-row][data-handle=gracegone]")
    reads_well(page, "admin-release-list")
    row.locator("input.pick").check()
    row.locator("[data-testid=row-kind]").select_option("fixed")
    row.locator("[data-testid=row-start]").fill("7,500")
    page.click("[data-testid=list-submit]")
    page.wait_for_url(re.compile(r".*/admin/release/list$"))
    text = flash_text(page, "success")
    with seed_app.app_context():
        listing = db.session.query(Listing).filter_by(handle_name="gracegone").one()
        assert (listing.kind, listing.start_price_cents, listing.closed_status) == ("fixed", 750_000, None)
    assert text == f"Listed 1: @gracegone (#{listing.id})."
    assert page.locator("[data-testid=suggestion-row][data-handle=gracegone]").count() == 0
    page.context.close()


def test_protected_names_are_added_and_removed_with_a_reason(module_browser, module_server):
    server, seed_app = module_server
    page = admin_page(module_browser, server, PHONE)
    page.goto(f"{server.url}/admin/protected")
    page.fill("[data-testid=protect-name]", "AcmeBrand")
    page.fill("[data-testid=protect-reason]", "Trademark of Acme Inc.")
    page.click("[data-testid=protect-submit]")
    assert flash_text(page, "success") == "@acmebrand is now protected: it never goes to an open auction."
    row = page.locator("[data-testid=protected-row][data-name=acmebrand]")
    assert "Trademark of Acme Inc." in row.inner_text()
    reads_well(page, "admin-protected")
    # Twice is refused, next to the field.
    page.fill("[data-testid=protect-name]", "acmebrand")
    page.fill("[data-testid=protect-reason]", "Again.")
    page.click("[data-testid=protect-submit]")
    assert "@acmebrand is already protected." in page.locator("[data-testid=protect-form] [data-testid=field-error]") \
        .inner_text()
    # Removing needs a reason too.
    page.goto(f"{server.url}/admin/protected?q=acme")
    row = page.locator("[data-testid=protected-row][data-name=acmebrand]")
    within_width(page, row.locator("[data-testid=unprotect-submit]"))
    row.locator("[data-testid=unprotect-submit]").click()
    assert "@acmebrand was not removed: Give a reason; it is kept in the audit log." in flash_text(page, "error")
    with seed_app.app_context():
        assert db.session.query(ProtectedName).filter_by(name="acmebrand").count() == 1
    row = page.locator("[data-testid=protected-row][data-name=acmebrand]")
    row.locator("[data-testid=unprotect-reason]").fill("Acme let the trademark lapse.")
    row.locator("[data-testid=unprotect-submit]").click()
    assert flash_text(page, "success") == "@acmebrand is no longer protected."
    assert page.locator("[data-testid=protected-row][data-name=acmebrand]").count() == 0
    with seed_app.app_context():
        assert db.session.query(ProtectedName).filter_by(name="acmebrand").count() == 0
        assert [e.action for e in db.session.query(AuditEntry).filter_by(target="handle:acmebrand")
                .order_by(AuditEntry.id)] == ["protected.add", "protected.remove"]
    page.context.close()
