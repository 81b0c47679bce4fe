"""Backorders: placing, listing, cancelling, and the backorderers-only auction at release."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEntry, Backorder, EmailMessage, Handle, Listing, Notification
from marketplace.registry import DatabaseRegistry
from marketplace.wiring import closing, listings, release
from tests.factories import PASSWORD, make_auction, make_user, released_handle


def headers_for(client, user) -> dict:
    """Bearer-token headers for a user."""
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def owned(handle: str, days_inactive: float = 0, user=None) -> Handle:
    """A handle held by a platform account last active `days_inactive` days ago."""
    now = release().clock.now()
    row = DatabaseRegistry(db.session).create_account(handle, now, user_id=user.id if user else None,
                                                      last_active_at=now - timedelta(days=days_inactive))
    db.session.commit()
    return row


def release_through_the_sweep(clock) -> None:
    """Flag, wait out the grace period, release."""
    release().run()
    clock.advance(days=30)
    release().run()


def test_backorder_list_and_cancel_through_the_api(client, app):
    owned("Wanted")
    buyer = make_user()
    headers = headers_for(client, buyer)
    placed = client.post("/api/v1/backorders", json={"handle": "@wanted"}, headers=headers)
    assert placed.status_code == 201
    body = placed.get_json()
    assert body["handle"] == "Wanted" and body["status"] == "waiting"
    again = client.post("/api/v1/backorders", json={"handle": "WANTED"}, headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    mine = client.get("/api/v1/me/backorders", headers=headers).get_json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == body["id"]
    other = headers_for(client, make_user())
    assert client.delete(f"/api/v1/backorders/{body['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/backorders/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me/backorders", headers=headers).get_json()["total"] == 0


@pytest.mark.parametrize("setup,handle,status,code", [
    ("none", "nosuch", 404, "unknown_handle"),
    ("released", "freeone", 409, "handle_released"),
    ("listed", "onsale", 409, "handle_listed"),
    ("none", "bad name!", 400, "invalid_handle"),
    ("protected", "support", 422, "protected_handle"),
])
def test_backorder_refuses_what_cannot_be_backordered(client, app, setup, handle, status, code):
    if setup == "released":
        released_handle(handle)
    elif setup == "listed":
        make_auction(handle=released_handle(handle).display)
    elif setup == "protected":
        release().seed_protected_names()
        owned(handle)
    response = client.post("/api/v1/backorders", json={"handle": handle}, headers=headers_for(client, make_user()))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_unauthenticated_backorder_is_401(client, app):
    assert client.post("/api/v1/backorders", json={"handle": "x"}).status_code == 401


def test_single_backorderer_is_told_at_release_and_no_lot_is_made(app, clock):
    owned("lonely", 31)
    buyer = make_user()
    from marketplace.wiring import backorders
    backorders().place(buyer, "lonely")
    release_through_the_sweep(clock)
    notice = db.session.execute(select(Notification).where(Notification.user_id == buyer.id)).scalar_one()
    assert notice.kind == "backorder_released" and notice.payload["handle"] == "lonely"
    assert db.session.execute(select(EmailMessage).where(EmailMessage.user_id == buyer.id)).scalar_one()
    assert db.session.execute(select(Listing)).first() is None
    assert "lonely" in [h.name for h in listings().released_handles()]


def test_two_backorderers_get_an_auction_only_they_may_bid_on(client, app, clock):
    owned("Popular", 31)
    first, second, outsider = make_user(), make_user(), make_user()
    for user in (first, second):
        assert client.post("/api/v1/backorders", json={"handle": "popular"},
                           headers=headers_for(client, user)).status_code == 201
    release_through_the_sweep(clock)
    lot = db.session.execute(select(Listing)).scalar_one()
    assert lot.eligibility == "backorderers" and lot.kind == "auction"
    assert lot.ends_at == clock.now() + timedelta(hours=24)
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "lot.create")).scalar_one()
    notices = db.session.execute(select(Notification).where(Notification.kind == "backorder_released")).scalars().all()
    assert sorted(n.user_id for n in notices) == sorted([first.id, second.id])
    assert all(n.listing_id == lot.id for n in notices)
    refused = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": lot.start_price_cents},
                          headers=headers_for(client, outsider))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_eligible"
    placed = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": lot.start_price_cents},
                         headers=headers_for(client, first))
    assert placed.status_code == 201
    mine = client.get("/api/v1/me/backorders", headers=headers_for(client, second)).get_json()
    assert mine["items"][0]["status"] == "released" and mine["items"][0]["lot_id"] == lot.id


def test_backorder_auction_without_bids_returns_the_handle_to_the_open_pool(app, clock):
    owned("nobids", 31)
    from marketplace.wiring import backorders
    for _ in range(2):
        backorders().place(make_user(), "nobids")
    release_through_the_sweep(clock)
    assert "nobids" not in [h.name for h in listings().released_handles()]
    clock.advance(hours=24, seconds=1)
    assert closing().close_due() == 1
    assert db.session.execute(select(Listing.closed_status)).scalar_one() == "unsold"
    assert "nobids" in [h.name for h in listings().released_handles()]
    admin = make_user(admin=True)
    lot = listings().create(admin, {"handle": "nobids", "kind": "auction", "start_price_cents": 1_000_000})
    assert lot.eligibility == "registered"


def test_admin_release_of_a_backordered_bot_handle_opens_the_backorderers_auction(app, clock):
    owned("botname", 0)
    from marketplace.wiring import backorders
    users = [make_user(), make_user(), make_user()]
    for user in users:
        backorders().place(user, "botname")
    result = release().release_now(make_user(admin=True), "botname", "a bot network")
    assert result["state"] == "released" and result["lot_id"] is not None
    assert db.session.execute(select(Backorder.notified_at).where(Backorder.notified_at.is_(None))).first() is None
