"""The buyer's backorder page: place, list and cancel backorders, with CSRF and ownership checks."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Backorder
from marketplace.wiring import backorders
from tests.factories import csrf_token, login, make_user, released_handle
from tests.integration.test_release_pipeline import account

pytestmark = pytest.mark.usefixtures("app")


def backorders_of(user) -> list[Backorder]:
    """A user's backorders, fresh from the database."""
    db.session.expire_all()
    return list(db.session.execute(select(Backorder).where(Backorder.user_id == user.id)).scalars())


def test_backorders_page_needs_sign_in(client):
    response = client.get("/backorders")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/backorders", data={"handle": "x"}).status_code == 302


def test_empty_state_and_nav_link(client):
    login(client, make_user())
    html = client.get("/backorders").get_data(as_text=True)
    assert 'data-testid="empty-state"' in html and "No backorders yet" in html
    assert 'data-testid="nav-backorders"' in html and 'data-testid="backorder-form"' in html


def test_place_a_backorder_lists_it_and_a_second_time_says_so(client):
    account("Sought", 5)
    user = make_user()
    login(client, user)
    placed = client.post("/backorders", data={"handle": "@sought"}, follow_redirects=True)
    html = placed.get_data(as_text=True)
    assert placed.status_code == 200 and "Backordered @Sought" in html
    assert html.count('data-testid="backorder-row"') == 1 and 'data-status="waiting"' in html
    again = client.post("/backorders", data={"handle": "SOUGHT"}, follow_redirects=True)
    assert "You already backordered @Sought" in again.get_data(as_text=True)
    assert len(backorders_of(user)) == 1


@pytest.mark.parametrize("handle,status,message", [
    ("", 400, "This field is required"),
    ("not a handle", 400, "letters"),
    ("ghost", 404, "not in the registry"),
    ("freeone", 409, "already released"),
])
def test_refused_backorders_show_the_reason_next_to_the_field(client, handle, status, message):
    released_handle("freeone")
    user = make_user()
    login(client, user)
    response = client.post("/backorders", data={"handle": handle})
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert 'data-testid="field-error"' in html and message in html
    assert not backorders_of(user)


def test_cancel_my_backorder(client):
    account("wanted", 5)
    user = make_user()
    backorder, _ = backorders().place(user, "wanted")
    login(client, user)
    response = client.post(f"/backorders/{backorder.id}/cancel", follow_redirects=True)
    assert response.status_code == 200 and "Backorder cancelled." in response.get_data(as_text=True)
    assert not backorders_of(user)


def test_another_users_backorder_cannot_be_cancelled(client):
    account("wanted", 5)
    owner = make_user()
    backorder, _ = backorders().place(owner, "wanted")
    login(client, make_user())
    assert client.post(f"/backorders/{backorder.id}/cancel").status_code == 404
    assert client.post("/backorders/999999/cancel").status_code == 404
    assert len(backorders_of(owner)) == 1
    assert f'data-backorder-id="{backorder.id}"' not in client.get("/backorders").get_data(as_text=True)


def test_backorder_forms_need_a_csrf_token(app, client):
    account("wanted", 5)
    user = make_user()
    backorder, _ = backorders().place(user, "wanted")
    account("another", 5)
    login(client, user)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/backorders", data={"handle": "another"}).status_code == 400
    assert client.post(f"/backorders/{backorder.id}/cancel").status_code == 400
    assert len(backorders_of(user)) == 1
    token = csrf_token(client)
    assert client.post("/backorders", data={"handle": "another", "csrf_token": token}).status_code == 302
    assert client.post(f"/backorders/{backorder.id}/cancel", data={"csrf_token": token}).status_code == 302
    assert [b.handle_name for b in backorders_of(user)] == ["another"]


def test_released_backorder_shows_released_and_cannot_be_cancelled(client):
    from marketplace.wiring import release

    account("gone", 5)
    user = make_user()
    backorder, _ = backorders().place(user, "gone")
    release().release_now(make_user(admin=True), "gone", "bot")
    login(client, user)
    html = client.get("/backorders").get_data(as_text=True)
    assert 'data-status="released"' in html and 'data-testid="cancel-backorder"' not in html
    refused = client.post(f"/backorders/{backorder.id}/cancel", follow_redirects=True)
    assert "can no longer be cancelled" in refused.get_data(as_text=True)
    assert len(backorders_of(user)) == 1
