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


# ---- the admin lot page --------------------------------------------------------------------

def page(client, lot_id: int) -> str:
    """The admin lot page's HTML."""
    response = client.get(f"/admin/lots/{lot_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def terms(listing, **changes) -> dict:
    """The terms form as the page fills it, with some fields changed (None: left out)."""
    from marketplace.admin.lots import _minute
    from marketplace.admin.routes import _dollars

    data = {"reserve": _dollars(listing.reserve_cents), "buy_now": _dollars(listing.buy_now_price_cents),
            "ends_at": _minute(listing.ends_at).strftime("%Y-%m-%dT%H:%M")}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("method,path", [
    ("get", "/admin/lots/{id}"), ("post", "/admin/lots/{id}"), ("post", "/admin/lots/{id}/voids/confirm"),
    ("post", "/admin/lots/{id}/voids"), ("get", "/admin/lots/{id}/reserve")])
def test_admin_lot_pages_are_admin_only(app, client, method, path):
    lot = make_auction()
    url = path.format(id=lot.id)
    assert getattr(client, method)(url).status_code == 302  # to sign in
    bidder = make_user()
    bidding().place(bidder, lot.id, 150_000)
    login(client, make_user())
    refused = getattr(client, method)(url, data={"bidder_alias": bidder.alias, "reason": "x", "reserve": "1"})
    assert refused.status_code == 403
    assert entries("bid.void") == [] and entries("lot.update") == []


def test_admin_lot_page_shows_terms_bidders_history_and_the_public_lot(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000, reserve_cents=500_000)
    alice, bob = make_user(), make_user()
    bidding().place(alice, lot.id, 150_000)
    bidding().place(bob, lot.id, 300_000)
    login(client, admin)
    html = page(client, lot.id)
    assert f'href="/lots/{lot.id}"' in html and 'data-testid="terms-form"' in html
    assert html.count('data-testid="bidder-row"') == 2 and html.count('data-testid="void-form"') == 2
    assert html.index(f'data-alias="{bob.alias}"') < html.index(f'data-alias="{alice.alias}"')  # highest first
    assert "up to $3,000" in html and html.count('data-testid="admin-history-row"') == 2
    assert "$5,000" in html  # the reserve, which only admins see
    # The buy-now input is disabled once bidding started (so the form never sends it).
    [buy_now] = [tag for tag in html.split("<input")[1:] if 'data-testid="buy-now-input"' in tag.split(">")[0]]
    assert "disabled" in buy_now.split(">")[0]
    assert 'data-testid="ends-at-input"' in html and "UTC" in html
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert f'href="/admin/lots/{lot.id}"' in dashboard and 'data-testid="manage-lot"' in dashboard
    assert client.get("/admin/lots/99999").status_code == 404


def test_terms_form_saves_only_what_changed(app, client, clock):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000, reserve_cents=500_000, buy_now_cents=900_000)
    login(client, admin)
    response = client.post(f"/admin/lots/{lot.id}", data=terms(lot, reserve="4,000"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/lots/{lot.id}")
    [entry] = entries("lot.update")
    assert entry.details == {"reserve_cents": {"old": 500_000, "new": 400_000}}
    unchanged = client.post(f"/admin/lots/{lot.id}", data=terms(db.session.get(Listing, lot.id)), follow_redirects=True)
    assert "Nothing was changed" in unchanged.get_data(as_text=True) and len(entries("lot.update")) == 1


def test_terms_form_edits_the_buy_now_price_and_the_end_time(app, client, clock):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000, buy_now_cents=900_000)
    login(client, admin)
    new_end = (clock.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = client.post(f"/admin/lots/{lot.id}", data=terms(lot, buy_now="7,500.50",
                                                              ends_at=new_end.strftime("%Y-%m-%dT%H:%M")))
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Listing, lot.id)
    assert row.buy_now_price_cents == 750_050 and row.ends_at == new_end
    [entry] = entries("lot.update")
    assert set(entry.details) == {"buy_now_price_cents", "ends_at"}
    assert entry.details["ends_at"]["new"] == iso(new_end)
    removed = client.post(f"/admin/lots/{lot.id}", data=terms(row, buy_now=""))
    db.session.expire_all()
    assert removed.status_code == 302 and db.session.get(Listing, lot.id).buy_now_price_cents is None


@pytest.mark.parametrize("field,value,message", [
    ("buy_now", "500", "The buy-now price must be above the start price."),
    ("buy_now", "ten", "Enter an amount in dollars"),
    ("ends_at", "2020-01-01T10:00", "The end time must be in the future."),
    ("ends_at", "soon", "Not a valid datetime value."),
    ("reserve", "-5", "Enter a positive amount"),
])
def test_terms_form_explains_a_refusal_beside_its_field(app, client, field, value, message):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000)
    login(client, admin)
    response = client.post(f"/admin/lots/{lot.id}", data=terms(lot, **{field: value}))
    assert 400 <= response.status_code < 500
    html = response.get_data(as_text=True)
    error = html.split(f'id="{field}-error"')[1].split("</ul>")[0]
    assert message in error
    assert entries("lot.update") == []


def test_a_closed_lot_page_offers_no_changes(app, client, clock):
    from marketplace.wiring import closing

    admin = make_user(admin=True)
    lot = make_auction(admin=admin)
    bidding().place(make_user(), lot.id, 150_000)
    clock.set(lot.ends_at)
    closing().close_due()
    login(client, admin)
    html = page(client, lot.id)
    assert 'data-testid="terms-closed"' in html and 'data-testid="terms-form"' not in html
    assert 'data-testid="void-form"' not in html
    refused = client.post(f"/admin/lots/{lot.id}", data={"reserve": "5,000"})
    assert refused.status_code == 409 and entries("lot.update") == []


def test_old_reserve_address_leads_to_the_admin_lot_page(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, buy_now_cents=900_000)
    login(client, admin)
    moved = client.get(f"/admin/lots/{lot.id}/reserve")
    assert moved.status_code == 307 and moved.headers["Location"].endswith(f"/admin/lots/{lot.id}")
    posted = client.post(f"/admin/lots/{lot.id}/reserve", data={"reserve": "3,000"})
    assert posted.status_code == 307 and posted.headers["Location"] == moved.headers["Location"]
    # A browser sends the same body on (the test client would not): an old reserve form sends the
    # reserve alone, so the buy-now price it never showed stays.
    client.post(posted.headers["Location"], data={"reserve": "3,000"})
    db.session.expire_all()
    row = db.session.get(Listing, lot.id)
    assert row.reserve_cents == 300_000 and row.buy_now_price_cents == 900_000


def test_void_asks_for_a_reason_then_confirms_then_voids(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000)
    alice, bob = make_user(), make_user()
    bidding().place(alice, lot.id, 150_000)
    bidding().place(bob, lot.id, 300_000)
    login(client, admin)
    empty = client.post(f"/admin/lots/{lot.id}/voids/confirm", data={"bidder_alias": bob.alias, "reason": "  "})
    assert empty.status_code == 400
    row = empty.get_data(as_text=True).split(f'data-alias="{bob.alias}"')[1].split("</li>")[0]
    assert 'data-testid="field-error"' in row
    confirm = client.post(f"/admin/lots/{lot.id}/voids/confirm", data={"bidder_alias": bob.alias, "reason": "Shill"})
    assert confirm.status_code == 200 and entries("bid.void") == []
    html = confirm.get_data(as_text=True)
    assert 'data-testid="void-confirm"' in html and "$1,600" in html and "$1,000" in html
    assert alice.alias in html.split('data-testid="void-leader"')[1].split("</dd>")[0]
    done = client.post(f"/admin/lots/{lot.id}/voids", data={"bidder_alias": bob.alias, "reason": "Shill"},
                       follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and f"{bob.alias}&#39;s bid is void" in text and "$1,000" in text
    assert [e.details["reason"] for e in entries("bid.void")] == ["Shill"]
    assert text.count('data-testid="bidder-row"') == 1 and 'data-testid="voided"' in text
    assert 'data-testid="entry-voided"' in text


def test_void_refusals_show_on_the_page(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin)
    bidding().place(make_user(), lot.id, 150_000)
    login(client, admin)
    unknown = client.post(f"/admin/lots/{lot.id}/voids", data={"bidder_alias": "NoSuchAlias", "reason": "why"})
    assert unknown.status_code == 404 and "No account has the alias NoSuchAlias" in unknown.get_data(as_text=True)
    assert client.post("/admin/lots/99999/voids", data={"bidder_alias": "x", "reason": "y"}).status_code == 404
    assert entries("bid.void") == []


def test_lot_forms_need_the_csrf_token(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin)
    bidder = make_user()
    bidding().place(bidder, lot.id, 150_000)
    login(client, admin)
    app.config["WTF_CSRF_ENABLED"] = True
    for url, data in ((f"/admin/lots/{lot.id}", {"reserve": "5,000"}),
                      (f"/admin/lots/{lot.id}/voids", {"bidder_alias": bidder.alias, "reason": "why"}),
                      (f"/admin/lots/{lot.id}/voids/confirm", {"bidder_alias": bidder.alias, "reason": "why"})):
        assert client.post(url, data=data).status_code == 400, url
    assert entries("bid.void") == [] and entries("lot.update") == []
