"""A buyer's previous handle, swapped out of their account by a purchase, is kept for them for
30 days: shown on their handles page (and their receipt) with its lapse, and theirs again when
they take it back; not after the 30 days, and never someone else's."""
from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.models import Handle, Order
from marketplace.registry import DatabaseRegistry
from marketplace.wiring import clock, purchases, settlement
from tests.factories import csrf_token, login, make_user
from tests.integration.test_purchases import fixed_lot

pytestmark = pytest.mark.usefixtures("shared_gateway")


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def bought_over(old_handle: str):
    """A buyer whose account held `old_handle` buys a fixed-price lot; (buyer, order, the lot's handle)."""
    buyer = make_user(card="pm_card_visa")
    DatabaseRegistry(db.session).create_account(old_handle, clock().now(), user_id=buyer.id)
    db.session.commit()
    lot = fixed_lot()
    order = purchases().buy(buyer, lot.id)
    settlement().run_once()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "completed"
    return buyer, order, lot.handle_display


def test_the_previous_handle_is_kept_shown_and_taken_back(app, client):
    buyer, order, bought = bought_over("oldname")
    login(client, buyer)
    page = client.get("/account/handles").get_data(as_text=True)
    assert 'data-testid="kept-handle" data-handle="oldname"' in page and "Kept for you until" in page
    assert f'data-handle="{bought.lower()}"' in page
    receipt = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="kept-note"' in receipt and "@oldname left your account" in receipt
    assert client.get("/api/v1/me/handles").get_json()["kept"][0]["handle"] == "oldname"

    answer = client.post("/account/handles/oldname/take-back", data={"csrf_token": csrf_token(client)},
                         follow_redirects=True)
    assert "@oldname is yours again" in answer.get_data(as_text=True)
    mine = client.get("/api/v1/me/handles").get_json()
    assert {h["handle"] for h in mine["owned"]} == {"oldname", bought} and mine["kept"] == []
    row = db.session.query(Handle).filter_by(name="oldname").one()
    assert row.account.user_id == buyer.id and row.held_until is None
    # Taken back once: there is nothing kept to take again.
    assert client.post("/api/v1/me/handles/take-back", json={"handle": "oldname"},
                       headers={"X-CSRFToken": csrf_token(client)}).status_code == 404


def test_after_thirty_days_it_cannot_be_taken_back(app, client, clock):
    buyer, _order, _bought = bought_over("gonename")
    clock.advance(days=30, seconds=1)
    login(client, buyer)
    assert 'data-testid="kept-handle"' not in client.get("/account/handles").get_data(as_text=True)
    answer = client.post("/api/v1/me/handles/take-back", json={"handle": "gonename"},
                         headers={"X-CSRFToken": csrf_token(client)})
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "keep_lapsed"


def test_nobody_else_can_take_a_kept_handle(app, client):
    bought_over("notyours")
    login(client, make_user())
    answer = client.post("/api/v1/me/handles/take-back", json={"handle": "notyours"},
                         headers={"X-CSRFToken": csrf_token(client)})
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "handle_not_kept"
    bad = client.post("/api/v1/me/handles/take-back", json={"handle": "no such"},
                      headers={"X-CSRFToken": csrf_token(client)})
    assert bad.status_code == 400
