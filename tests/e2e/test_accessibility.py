"""The main pages checked with axe-core in Chromium (no serious or critical violations), and a
screenshot of each at desktop and phone sizes saved as a test artefact (test-artifacts/screens/).

axe-core comes from npm (package.json), installed by the setup; it is evaluated in the page
through the DevTools protocol, so the pages run under their real content security policy.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace.extensions import db
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import sign_in
from tests.factories import PASSWORD, make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
SCREENS = ARTIFACTS / "screens"
RUN_AXE = """async () => {
  const result = await axe.run(document);
  return {passes: result.passes.length,
          violations: result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                   nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))};
}"""


def serious_violations(page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it stands."""
    page.evaluate(AXE.read_text())
    result = page.evaluate(RUN_AXE)
    assert result["passes"] > 0, "axe-core checked nothing"
    if result["violations"]:
        print(page.url, [(v["id"], v["impact"]) for v in result["violations"]])
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def check_pages(browser, base_url: str, paths: dict[str, str], login: tuple[str, str] | None = None) -> dict:
    """Visit each page at each size (signed in with `login`, (email, password), when given):
    screenshot, and axe at desktop size. Returns {page name: violations} for pages that have any."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    found = {}
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        if login:
            sign_in(page, base_url, *login)
        for name, path in paths.items():
            response = page.goto(base_url + path)
            assert response is not None and response.status == 200, (name, response and response.status)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SCREENS / f"{name}-{size}.png"), full_page=True)
            if size == "desktop":
                violations = serious_violations(page)
                if violations:
                    found[name] = violations
            else:
                # Nothing wider than a phone: no sideways scrolling of the whole page.
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{name} scrolls sideways on a phone by {overflow}px"
        if login:
            # The account menu opens from the keyboard and shows its links and the sign-out button.
            page.focus("[data-testid=account-menu] > summary")
            page.keyboard.press("Enter")
            page.locator("[data-testid=sign-out]").wait_for(state="visible")
            assert page.locator("[data-testid=nav-card]").is_visible()
            page.screenshot(path=str(SCREENS / f"account-menu-{login[0].split('@')[0]}-{size}.png"))
        context.close()
    return found


def test_main_pages_have_no_serious_accessibility_violations(browser, live_server):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci installs axe-core)")
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("dora@example.com", name="Dora")
        auction = make_auction(minutes=90, start_cents=1_000_000, reserve_cents=2_000_000)
        fixed = make_auction(kind="fixed", price_cents=5_000_000, ends_at=None, start_cents=5_000_000)
        db.session.commit()
        auction_id, fixed_id = auction.id, fixed.id

    public = {"home": "/", "catalog": "/market", "auction": f"/lots/{auction_id}", "fixed": f"/lots/{fixed_id}",
              "login": "/login", "register": "/register"}
    signed_in = {"my-bids": "/me/bids", "orders": "/account/orders", "notifications": "/account/notifications",
                 "card": "/account/card", "backorders": "/backorders", "watchlist": "/account/watchlist", "handles": "/account/handles"}
    admin = {"admin": "/admin/", "admin-release": "/admin/release", "admin-orders": "/admin/orders",
             "admin-audit": "/admin/audit", "admin-lot": f"/admin/lots/{auction_id}", "admin-users": "/admin/users"}
    found = check_pages(browser, server.url, public)
    found |= check_pages(browser, server.url, signed_in, ("dora@example.com", PASSWORD))
    found |= check_pages(browser, server.url, admin, ("admin@example.com", "admin-password-1"))
    assert not found, "serious or critical accessibility violations:\n" + json.dumps(found, indent=1)
