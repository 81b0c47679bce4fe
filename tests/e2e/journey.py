"""Helpers shared by the browser journeys (offers, organisations, backorders, second chance, the seller's
cancel, the admin console): screenshots into test-artifacts/journeys/, each page checked once at a
phone's width (no sideways scrolling) and with axe-core at a desktop's (no serious or critical
finding), flashes read as a person reads them, and fresh reads of what the server stored."""
from __future__ import annotations

import time
from collections.abc import Callable

from marketplace.extensions import db
from marketplace.models import User
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import AXE, serious_violations
from tests.e2e.test_checkout import DESKTOP, PHONE

SHOTS = ARTIFACTS / "journeys"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin-password-1"  # tests/e2e/conftest.py's server
__all__ = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "DESKTOP", "PHONE", "admin_of", "eventually", "flash_text",
           "reads_well", "shot", "through_menu", "wait_order_status", "within_width"]


def shot(page, name: str, full_page: bool = True) -> None:
    """A screenshot for people to look at: test-artifacts/journeys/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def reads_well(page, name: str) -> None:
    """The page as it stands, at a desktop's width (axe: nothing serious or critical) and at a phone's
    (nothing wider than the screen), with a screenshot of each; the page's own size is put back."""
    assert AXE.exists(), f"{AXE} is missing: run `make setup` (npm ci installs axe-core)"
    before = page.viewport_size
    page.set_viewport_size(DESKTOP)
    assert serious_violations(page) == [], name
    shot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name} scrolls sideways on a phone by {overflow}px"
    shot(page, f"{name}-phone")
    page.set_viewport_size(before)


def within_width(page, locator) -> None:
    """The control lies wholly inside the page's width, where a person can see and press it (a button
    pushed past the edge of a phone's screen cannot be scrolled to)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    width = page.evaluate("document.documentElement.clientWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (box, width)


def flash_text(page, category: str | None = None) -> str:
    """The text of the page's flash messages (of one category when given), as a person reads them."""
    selector = "[data-testid=flash]" + (f"[data-category={category}]" if category else "")
    page.locator(selector).first.wait_for()
    return " ".join(page.locator(f"{selector} .flash-text").all_inner_texts())


def eventually(seed_app, read: Callable[[], object], seconds: float = 20, what: str = "the stored state"):
    """Read through seed_app (a fresh snapshot each time) until `read` returns something truthy; that value.

    The server writes from another process, and its worker acts every 0.2 s: wait for its state."""
    deadline = time.monotonic() + seconds
    with seed_app.app_context():
        while True:
            db.session.rollback()
            value = read()
            if value or time.monotonic() > deadline:
                assert value, f"{what} not reached in {seconds}s"
                return value
            time.sleep(0.1)


def through_menu(page, testid: str) -> None:
    """Open the account menu (in the header) and follow one of its links, as a person does."""
    page.click("[data-testid=account-menu] > summary")
    page.click(f"[data-testid={testid}]")
    page.wait_for_load_state()


def wait_order_status(page, *statuses: str, timeout: float = 20_000) -> str:
    """Wait until the order page shows one of `statuses` (it follows the order live); the one shown."""
    page.wait_for_function(
        "(wanted) => wanted.includes(document.querySelector('[data-testid=order-page]').dataset.status)",
        arg=list(statuses), timeout=timeout)
    return page.locator("[data-testid=order-page]").get_attribute("data-status")


def admin_of(seed_app) -> int:
    """The server's admin (made at its start); their id."""
    with seed_app.app_context():
        return db.session.query(User).filter_by(email=ADMIN_EMAIL).one().id
