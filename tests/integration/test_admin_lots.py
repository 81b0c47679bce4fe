"""Admins edit a lot's reserve, buy-now price and end time: each change audited old → new, and
watchers told at once; the admin lot page does the same through the browser's forms."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from marketplace.clock import iso
from marketplace.extensions import db
from marketplace.models import AuditEntry, Listing, LotEvent
from marketplace.wiring import bidding, listings
from tests.factories import login, make_auction, make_user, released_handle
from tests.integration.test_api import token_for


def entries(action: str) -> list[AuditEntry]:
    """Audit entries of one action, oldest first."""
    db.session.expire_all()
    return db.session.query(AuditEntry).filter_by(action=action).order_by(AuditEntry.id).all()


def events(lot_id: int, kind: str) -> list[dict]:
    """A lot's kept live events of one type, oldest first."""
    rows = db.session.query(LotEvent).filter_by(listing_id=lot_id, type=kind).order_by(LotEvent.seq)
    return [json.loads(row.payload_json) for row in rows]


def test_update_audits_each_changed_field_old_to_new(app, clock):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000, reserve_cents=250_000, buy_now_cents=900_000)
    old_end = lot.ends_at
    new_end = clock.now() + timedelta(days=2)
    listings().update(admin, lot.id, {"reserve_cents": 200_000, "buy_now_price_cents": 800_000,
                                      "ends_at": iso(new_end)})
    [entry] = entries("lot.update")
    assert entry.target == f"lot:{lot.id}" and entry.actor_id == admin.id
    assert entry.details == {"reserve_cents": {"old": 250_000, "new": 200_000},
                             "buy_now_price_cents": {"old": 900_000, "new": 800_000},
                             "ends_at": {"old": iso(old_end), "new": iso(new_end)}}


def test_update_that_changes_nothing_writes_nothing(app):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, reserve_cents=250_000)
    seq = lot.seq
    listings().update(admin, lot.id, {"reserve_cents": 250_000})
    assert entries("lot.update") == [] and db.session.get(Listing, lot.id).seq == seq


def test_lot_updated_tells_watchers_the_leader_and_bid_count_too(app):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000, reserve_cents=500_000)
    bidder = make_user()
    bidding().place(bidder, lot.id, 600_000)
    listings().update(admin, lot.id, {"reserve_cents": 300_000})
    [event] = events(lot.id, "lot_updated")
    assert event["leader_alias"] == bidder.alias and event["bid_count"] == 1
    assert event["current_price_cents"] == 300_000 and event["reserve_met"] is True
    assert {"min_next_bid_cents", "buy_now_price_cents", "ends_at"} <= set(event)


@pytest.mark.parametrize("body,status,code", [
    ({"buy_now_price_cents": 100_000}, 422, "invalid_buy_now"),  # not above the start price
    ({"buy_now_price_cents": "9000"}, 400, "invalid_amount"),
    ({"ends_at": "yesterday"}, 400, "invalid_time"),
    ({"ends_at": "2020-01-01T00:00:00Z"}, 422, "invalid_time"),
    ({"start_price_cents": 1}, 400, "invalid_field"),
])
def test_bad_edits_are_refused_and_change_nothing(app, client, body, status, code):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000)
    response = client.patch(f"/api/v1/admin/lots/{lot.id}", json=body, headers=token_for(client, admin))
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert entries("lot.update") == []


def test_buy_now_is_for_auctions_only(app, client):
    admin = make_user(admin=True)
    fixed = listings().create(admin, {"handle": released_handle().display, "kind": "fixed", "price_cents": 500_000})
    response = client.patch(f"/api/v1/admin/lots/{fixed.id}", json={"buy_now_price_cents": 900_000},
                            headers=token_for(client, admin))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "wrong_kind"


def test_audit_page_shows_old_and_new(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, reserve_cents=2_500_000, start_cents=1_000_000)
    listings().update(admin, lot.id, {"reserve_cents": 2_000_000})
    login(client, admin)
    html = client.get("/admin/audit?action=lot.update").get_data(as_text=True)
    change = html.split('data-testid="audit-change"')[1].split("</dd>")[0]
    assert "$25,000" in change and "$20,000" in change and "→" in change
    assert change.index("$25,000") < change.index("$20,000")
