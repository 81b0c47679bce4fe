"""Every admin action of issue 16 in the browser, against one server for the whole module: void a
bid while a watcher sees the price and the leader recomputed live; verify a buyer, who may then
bid on a verified-only lot; clear a strike, so a suspended buyer may bid again; edit a lot's
buy-now price and end time; the release console's whole action menu; the pages in Arabic (RTL).
Screenshots at desktop (1280) and phone (390) widths land in test-artifacts/."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, Listing, Notification, User
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import bid, sign_in
from tests.factories import make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = ("admin@example.com", "admin-password-1")  # the server's admin from its settings
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(module_server):
    """The module's server and the app that seeds its database."""
    return module_server


@pytest.fixture(scope="module")
def admin(module_browser, server):
    """One signed-in admin page for the whole module (desktop width unless a test narrows it)."""
    context = module_browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, server[0].url, *ADMIN)
    yield page
    context.close()


@pytest.fixture
def wide(admin):
    """The admin page back at desktop width after a test that looked at it as a phone."""
    yield admin
    admin.set_viewport_size(DESKTOP)


def shoot(page, name: str, full_page: bool = True) -> None:
    """A screenshot of the page as it is, then as a phone (the page is left at phone width)."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}-desktop.png"), full_page=full_page, animations="disabled")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}-phone.png"), full_page=full_page, animations="disabled")


def flash(page) -> str:
    """The text of the page's flash messages."""
    return " ".join(page.locator(".flash").all_inner_texts())


def outcome(page, expected: str) -> str:
    """Wait for the bid's answer (a card authorisation may come first); its text."""
    result = page.locator(f"[data-testid=bid-result][data-outcome={expected}]")
    result.wait_for(timeout=20_000)
    return result.inner_text()


def buyer_page(browser, server_url: str, email: str, viewport=PHONE):
    """A new browser window signed in as a buyer."""
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, server_url, email)
    return page


def test_voiding_a_bid_recomputes_price_and_leader_live_for_a_watcher(module_browser, server, wide):
    live, seed_app = server
    admin = wide
    with seed_app.app_context():
        from marketplace.wiring import bidding

        alice = make_user("void-alice@example.com", name="Alice", card="pm_card_visa")
        bob = make_user("void-bob@example.com", name="Bob", card="pm_card_visa")
        lot = make_auction(minutes=60, start_cents=100_000, reserve_cents=120_000)
        bidding().place(alice, lot.id, 150_000)
        bidding().place(bob, lot.id, 300_000)
        lot_id, alice_alias, bob_alias, bob_id = lot.id, alice.alias, bob.alias, bob.id

    # Someone watches the public lot page on a phone: Bob leads at $1,600.
    watcher = module_browser.new_context(viewport=PHONE).new_page()
    watcher.goto(f"{live.url}/lots/{lot_id}")
    watcher.locator("[data-testid=live-badge][data-state=live]").wait_for()
    assert "$1,600" in watcher.locator("[data-testid=price]").inner_text()
    assert bob_alias in watcher.locator("[data-testid=leader]").inner_text()

    admin.goto(f"{live.url}/admin/lots/{lot_id}")
    rows = admin.locator("[data-testid=bidder-row]")
    assert rows.count() == 2 and rows.first.get_attribute("data-alias") == bob_alias  # highest first
    shoot(admin, "admin-lot")
    admin.set_viewport_size(DESKTOP)

    # Void without a reason: refused beside Bob's row, nothing changes.
    bob_row = admin.locator(f"[data-testid=bidder-row][data-alias='{bob_alias}']")
    bob_row.locator("[data-testid=void-button]").click()
    admin.wait_for_load_state()
    assert admin.locator(f"[data-testid=bidder-row][data-alias='{bob_alias}'] [data-testid=field-error]").is_visible()

    bob_row = admin.locator(f"[data-testid=bidder-row][data-alias='{bob_alias}']")
    bob_row.locator("[data-testid=void-reason]").fill("Shill bidding for the seller")
    bob_row.locator("[data-testid=void-button]").click()
    confirm = admin.locator("[data-testid=void-confirm]")
    confirm.wait_for()
    assert "$1,600" in admin.locator("[data-testid=void-price]").inner_text()
    assert "$1,200" in admin.locator("[data-testid=void-price]").inner_text()  # Alice alone, at the reserve
    assert alice_alias in admin.locator("[data-testid=void-leader]").inner_text()
    shoot(admin, "admin-void-confirm")
    admin.set_viewport_size(DESKTOP)
    admin.click("[data-testid=confirm-void]")
    admin.wait_for_url(re.compile(rf".*/admin/lots/{lot_id}$"))
    assert f"{bob_alias}'s bid is void" in flash(admin) and "$1,200" in flash(admin)
    assert admin.locator("[data-testid=bidder-row]").count() == 1
    assert admin.locator("[data-testid=entry-voided]").count() == 1  # Bob's history entry, kept and marked

    # The watcher's page follows without a reload: the price, the leader; the bid count stays.
    watcher.wait_for_function(
        "() => document.querySelector('[data-testid=price]').textContent.includes('1,200')", timeout=10_000)
    watcher.wait_for_function(
        f"() => document.querySelector('[data-testid=leader]').textContent.includes({alice_alias!r})")
    assert watcher.locator("[data-testid=bid-count]").inner_text().strip().startswith("2")
    assert watcher.locator("[data-testid=history-row]").count() == 2
    watcher.screenshot(path=str(ARTIFACTS / "e2e-void-watcher-phone.png"), full_page=True, animations="disabled")
    watcher.context.close()

    with seed_app.app_context():
        db.session.rollback()
        assert db.session.get(Listing, lot_id).current_price_cents == 120_000
        [entry] = db.session.query(AuditEntry).filter_by(action="bid.void", target=f"lot:{lot_id}").all()
        assert entry.details["reason"] == "Shill bidding for the seller"
        assert db.session.query(Notification).filter_by(user_id=bob_id, kind="bid_voided").count() == 1


def test_verifying_a_buyer_lets_them_bid_on_a_verified_only_lot(module_browser, server, wide):
    live, seed_app = server
    admin = wide
    with seed_app.app_context():
        make_user("vera@example.com", name="Vera", card="pm_card_visa")
        lot_id = make_auction(minutes=60, start_cents=100_000, eligibility="verified").id

    vera = buyer_page(module_browser, live.url, "vera@example.com")
    vera.goto(f"{live.url}/lots/{lot_id}")
    vera.locator("[data-testid=live-badge][data-state=live]").wait_for()
    bid(vera, "1,500")
    assert "verified buyers only" in outcome(vera, "error")

    admin.goto(f"{live.url}/admin/users")
    admin.fill("[data-testid=user-query]", "vera@")
    admin.click("[data-testid=user-search-submit]")
    row = admin.locator("[data-testid=admin-user-row][data-email='vera@example.com']")
    assert admin.locator("[data-testid=admin-user-row]").count() == 1
    assert row.locator("[data-testid=user-verified]").get_attribute("data-verified") == "false"
    row.locator("[data-testid=verify-reason]").fill("Passport checked by the team")
    row.locator("[data-testid=verify-button]").click()
    admin.wait_for_url(re.compile(r".*/admin/users\?q=vera"))
    assert "vera@example.com is verified" in flash(admin)
    row = admin.locator("[data-testid=admin-user-row][data-email='vera@example.com']")
    assert row.locator("[data-testid=user-verified]").get_attribute("data-verified") == "true"
    assert row.locator("[data-testid=unverify-button]").is_visible()

    vera.reload()
    vera.locator("[data-testid=live-badge][data-state=live]").wait_for()
    bid(vera, "1,500")
    outcome(vera, "leading")
    vera.context.close()


def test_clearing_a_strike_lets_a_suspended_buyer_bid_again(module_browser, server, wide):
    live, seed_app = server
    admin = wide
    with seed_app.app_context():
        sam = make_user("sam@example.com", name="Sam", card="pm_card_visa")
        sam.strikes = 3
        db.session.commit()
        lot_id = make_auction(minutes=60, start_cents=100_000).id

    sam_page = buyer_page(module_browser, live.url, "sam@example.com")
    sam_page.goto(f"{live.url}/lots/{lot_id}")
    sam_page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    bid(sam_page, "1,200")
    assert "may no longer bid" in outcome(sam_page, "error")

    admin.goto(f"{live.url}/admin/users?standing=strikes")
    row = admin.locator("[data-testid=admin-user-row][data-email='sam@example.com']")
    assert row.locator("[data-testid=user-strikes]").get_attribute("data-strikes") == "3"
    shoot(admin, "admin-users")
    admin.set_viewport_size(DESKTOP)
    row.locator("[data-testid=clear-strike]").click()  # no reason: refused beside the account
    admin.wait_for_load_state()
    row = admin.locator("[data-testid=admin-user-row][data-email='sam@example.com']")
    assert row.locator("[data-testid=field-error]").is_visible()
    row.locator("[data-testid=strike-reason]").fill("Paid by bank transfer after the deadline")
    row.locator("[data-testid=clear-strike]").click()
    admin.wait_for_url(re.compile(r".*/admin/users\?standing=strikes$"))
    assert "sam@example.com has 2 strikes left" in flash(admin)
    row = admin.locator("[data-testid=admin-user-row][data-email='sam@example.com']")
    assert row.locator("[data-testid=user-strikes]").get_attribute("data-strikes") == "2"

    sam_page.reload()
    sam_page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    bid(sam_page, "1,200")
    outcome(sam_page, "leading")
    sam_page.context.close()
    with seed_app.app_context():
        db.session.rollback()
        assert db.session.query(User).filter_by(email="sam@example.com").one().strikes == 2
        assert db.session.query(AuditEntry).filter_by(action="user.clear_strikes").count() == 1


def test_editing_the_buy_now_price_and_the_end_time(module_browser, server, wide):
    live, seed_app = server
    admin = wide
    with seed_app.app_context():
        lot_id = make_auction(minutes=60, start_cents=100_000, buy_now_cents=500_000).id

    admin.goto(f"{live.url}/admin/")
    admin.click(f"[data-testid=admin-lots] tr[data-lot-id='{lot_id}'] [data-testid=manage-lot]")
    admin.wait_for_url(re.compile(rf".*/admin/lots/{lot_id}$"))
    new_end = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    admin.fill("[data-testid=buy-now-input]", "6,500")
    admin.fill("[data-testid=ends-at-input]", new_end.strftime("%Y-%m-%dT%H:%M"))
    admin.click("[data-testid=save-terms]")
    admin.wait_for_url(re.compile(rf".*/admin/lots/{lot_id}$"))
    assert "Changes saved" in flash(admin)
    assert "$6,500" in admin.locator("[data-testid=admin-lot-buy-now]").inner_text()
    assert admin.locator("[data-testid=ends-at-input]").input_value() == new_end.strftime("%Y-%m-%dT%H:%M")

    with seed_app.app_context():
        db.session.rollback()
        row = db.session.get(Listing, lot_id)
        assert row.buy_now_price_cents == 650_000 and row.ends_at == new_end
        [entry] = db.session.query(AuditEntry).filter_by(action="lot.update", target=f"lot:{lot_id}").all()
        assert entry.details["buy_now_price_cents"] == {"old": 500_000, "new": 650_000}

    # The public lot offers the new buy-now price; the audit log shows each change old → new.
    admin.click("[data-testid=public-lot-link]")
    admin.wait_for_url(re.compile(rf".*/lots/{lot_id}$"))
    assert "$6,500" in admin.locator("[data-field=buy-now]").inner_text()
    admin.goto(f"{live.url}/admin/audit?target=lot:{lot_id}")
    changes = admin.locator("[data-testid=audit-change]").all_inner_texts()
    assert any("$5,000" in c and "$6,500" in c for c in changes), changes
    shoot(admin, "admin-audit")


def test_the_release_console_shows_every_action_whole(module_browser, server, wide):
    live, _seed_app = server
    admin = wide
    admin.goto(f"{live.url}/admin/release")
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        admin.set_viewport_size(viewport)
        panel = admin.locator("[data-testid=bulk-actions]")
        labels = panel.locator(".choice-label")
        assert labels.count() == 4
        # Nothing is cut off: each label shows all its text, inside the panel.
        clipped = admin.evaluate("""() => [...document.querySelectorAll('[data-testid=bulk-actions] .choice')]
            .filter(el => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right >
                          document.querySelector('[data-testid=bulk-actions]').getBoundingClientRect().right + 1)
            .map(el => el.textContent.trim())""")
        assert clipped == [], clipped
        assert "Release now (bot-held account)" in panel.inner_text()
        panel.screenshot(path=str(ARTIFACTS / f"e2e-release-actions-{name}.png"), animations="disabled")
    admin.click("[data-testid=bulk-action-keep]")
    assert admin.locator("[data-testid=bulk-action-keep]").is_checked()


def test_admin_pages_in_arabic_read_right_to_left(module_browser, server):
    live, seed_app = server
    with seed_app.app_context():
        from marketplace.wiring import bidding

        lot = make_auction(minutes=60, start_cents=100_000)
        bidding().place(make_user(card="pm_card_visa"), lot.id, 150_000)
        lot_id = lot.id
        struck = make_user("rtl-strikes@example.com", name="Rami")
        struck.strikes = 2
        db.session.commit()
    page = module_browser.new_context(viewport=PHONE).new_page()  # its own: the language is a cookie
    sign_in(page, live.url, *ADMIN)
    page.goto(f"{live.url}/admin/users")
    with page.expect_navigation():
        page.click("[data-testid=language-ar]")
    for path, name in ((f"/admin/lots/{lot_id}", "admin-lot-ar"), ("/admin/users", "admin-users-ar"),
                       ("/admin/release", "admin-release-ar")):
        page.goto(live.url + path)
        assert page.evaluate("document.documentElement.dir") == "rtl"
        assert page.evaluate("document.documentElement.lang") == "ar"
        shoot(page, name)
    page.goto(f"{live.url}/admin/users?q=rtl-strikes")
    row = page.locator("[data-testid=admin-user-row][data-email='rtl-strikes@example.com']")
    row.screenshot(path=str(ARTIFACTS / "e2e-admin-user-row-ar-phone.png"), animations="disabled")
    page.context.close()
