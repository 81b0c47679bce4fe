"""Backorders in the browser: a buyer backorders handles that accounts still hold (from the account
menu's Backorders page), is told why a released or unknown handle cannot be backordered, sees the list,
and cancels one. What the page says and what the server stored are both checked."""
from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.models import Backorder, User
from marketplace.registry import DatabaseRegistry
from tests.e2e.journey import PHONE, flash_text, reads_well, through_menu, within_width
from tests.e2e.test_checkout import page_for
from tests.factories import make_user, released_handle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def backorders_of(seed_app, email: str) -> list[str]:
    """The user's backorders as stored, by handle, oldest first."""
    with seed_app.app_context():
        db.session.rollback()
        user_id = db.session.query(User.id).filter_by(email=email).scalar()
        return [b.handle_name for b in db.session.query(Backorder).filter_by(user_id=user_id).order_by(Backorder.id)]


def place(page, handle: str) -> None:
    """Type a handle in the backorder form and send it."""
    page.fill("[data-testid=backorder-handle]", handle)
    page.click("[data-testid=backorder-submit]")
    page.wait_for_load_state()


def test_a_buyer_backorders_held_handles_sees_them_listed_and_cancels_one(module_browser, module_server):
    server, seed_app = module_server
    with seed_app.app_context():
        now = seed_app.extensions["clock"].now()
        registry = DatabaseRegistry(db.session)
        for name in ("Skylark", "nightowl"):
            registry.create_account(name, now)  # active accounts: not released yet
        db.session.commit()
        released = released_handle("freebird").display
        email = make_user(name="Bo Backorder").email
    page = page_for(module_browser, server, email, PHONE)
    through_menu(page, "nav-backorders")
    page.locator("[data-testid=backorder-form]").wait_for()
    assert page.locator("[data-testid=my-backorders]").count() == 0  # nothing yet: the empty state
    reads_well(page, "backorders-empty")

    place(page, "@skylark")
    assert flash_text(page, "success") == "Backordered @Skylark. We will tell you when it is released."
    place(page, "nightowl")
    assert flash_text(page, "success") == "Backordered @nightowl. We will tell you when it is released."
    # The same handle again is one backorder; a released or unknown handle is refused next to the field.
    place(page, "SKYLARK")
    assert flash_text(page, "info") == "You already backordered @Skylark."
    place(page, released)
    assert "@freebird is already released; only handles not yet released can be backordered." in \
        page.locator("[data-testid=backorder-form] [data-testid=field-error]").inner_text()
    place(page, "nobodyhasthis")
    assert "@nobodyhasthis is not in the registry." in \
        page.locator("[data-testid=backorder-form] [data-testid=field-error]").inner_text()
    assert backorders_of(seed_app, email) == ["skylark", "nightowl"]

    page.goto(f"{server.url}/backorders")
    rows = page.locator("[data-testid=backorder-row]")
    assert rows.count() == 2
    assert [rows.nth(i).get_attribute("data-status") for i in range(2)] == ["waiting", "waiting"]
    assert "Waiting for release" in rows.first.inner_text()
    skylark = page.locator("[data-testid=backorder-row]", has_text="@Skylark")
    cancel = skylark.locator("[data-testid=cancel-backorder]")
    assert cancel.get_attribute("aria-label") == "Cancel the backorder of @Skylark"
    within_width(page, cancel)
    reads_well(page, "backorders-listed")
    cancel.click()
    assert flash_text(page, "success") == "Backorder cancelled."
    assert page.locator("[data-testid=backorder-row]").count() == 1
    assert "@nightowl" in page.locator("[data-testid=backorder-row]").inner_text()
    assert backorders_of(seed_app, email) == ["nightowl"]
    page.context.close()
