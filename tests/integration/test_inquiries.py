"""Handle inquiries (DESIGN.md section 6): asking, the assistant's answers, the bulk discount,
accepting a quote through the order machine (against the fake Stripe server), admins' pages.
Every test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auctions import suggest
from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    EmailMessage,
    Handle,
    Inquiry,
    InquiryItem,
    Listing,
    Notification,
    Order,
    Organisation,
    PlatformAccount,
    ProtectedName,
    SubscriptionStatus,
    User,
)
from marketplace.registry import DatabaseRegistry
from marketplace.wiring import inquiries, settlement
from marketplace.worker import Worker
from tests.factories import PASSWORD, login, make_auction, make_user, released_handle
from tests.support import fake_stripe_call, socket_client

# 7+ characters with a digit and no dictionary word: the valuation's floor, $10,000 each.
FLOOR = 10_000_00


@pytest.fixture
def app_config(request):
    """Tests that use the shared Stripe gateway take payments through the fake Stripe server."""
    marker = request.node.get_closest_marker("usefixtures")
    if marker and "shared_gateway" in marker.args:
        return request.getfixturevalue("stripe_config")
    return {}


# ---- helpers --------------------------------------------------------------------------------
def org_user(standing: str = "good", card: str | None = None, name: str = "Acme Corp") -> User:
    """A user acting for an organisation: "good" (verified, active), "unverified" or "lapsed"."""
    user = make_user(card=card)
    now = inquiries().clock.now()
    org = Organisation(name=name, owner_id=user.id, created_at=now,
                       verified_at=None if standing == "unverified" else now - timedelta(days=10),
                       subscription_status=SubscriptionStatus.PAST_DUE if standing == "lapsed"
                       else SubscriptionStatus.ACTIVE, current_period_end=now + timedelta(days=20))
    db.session.add(org)
    db.session.flush()
    db.session.get(User, user.id).organisation_id = org.id
    db.session.commit()
    return db.session.get(User, user.id)


def held(name: str, days_inactive: int = 0, bot: bool = False, owner: User | None = None) -> Handle:
    """A handle held by a platform account last active `days_inactive` days ago."""
    now = inquiries().clock.now()
    handle = DatabaseRegistry(db.session).create_account(name, now, user_id=owner.id if owner else None,
                                                         last_active_at=now - timedelta(days=days_inactive))
    if bot:
        db.session.get(PlatformAccount, handle.account_id).is_bot = True
    db.session.commit()
    return handle


def sign_in(client, user) -> None:
    """Sign a client in (the cookie, for pages) and give it a bearer token (for the API's writes)."""
    login(client, user)
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token.get_json()['token']}"


def ask(client, handles, reason: str = "Our product launch."):
    """POST an inquiry through the API as the signed-in client."""
    return client.post("/api/v1/inquiries", json={"handles": handles, "reason": reason})


def answered(inquiry_id: int) -> dict:
    """Run the assistant, then read the inquiry through the service's JSON shape."""
    inquiries().answer_due()
    db.session.expire_all()
    from marketplace.services.inquiries import inquiry_json
    return inquiry_json(db.session, db.session.get(Inquiry, inquiry_id), inquiries().clock.now())


def by_handle(shape: dict) -> dict:
    """An inquiry's items keyed by lower-case handle."""
    return {i["handle"].lower(): i for i in shape["items"]}


# ---- the gate -------------------------------------------------------------------------------
@pytest.mark.parametrize("standing, code", [(None, "organisation_required"),
                                            ("unverified", "organisation_unverified"),
                                            ("lapsed", "subscription_inactive")])
def test_only_an_organisation_in_good_standing_may_ask(app, client, standing, code):
    user = make_user() if standing is None else org_user(standing)
    sign_in(client, user)
    refused = ask(client, "aurora")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == code and refused.get_json()["error"]["message"]
    page = client.post("/inquiries/new", data={"handles": "aurora", "reason": "why"})
    assert page.status_code == 403
    assert db.session.query(Inquiry).count() == 0


# ---- parsing --------------------------------------------------------------------------------
def test_a_pasted_list_is_split_and_repeats_count_once(app, client):
    sign_in(client, org_user())
    made = ask(client, "Aurora, @aurora\nNimbus;blue_sky   AURORA\r\n\n@Nimbus")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert [i["handle"] for i in body["items"]] == ["Aurora", "Nimbus", "blue_sky"]
    assert {i["status"] for i in body["items"]} == {"pending"}
    assert body["status"] == "pending" and body["quote"] is None
    # A JSON list of strings works too.
    assert ask(client, ["zeta", "@Zeta", "eta"]).get_json()["items"][1]["handle"] == "eta"


def test_bad_handles_are_refused_by_name_and_nothing_is_saved(app, client):
    sign_in(client, org_user())
    refused = ask(client, "good_one, bad-one\nwaytoolonghandle123 ok\u200bzero")
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_handles"
    for name in ("bad-one", "waytoolonghandle123", "ok\u200bzero"):
        assert name in error["message"]
    assert "good_one" not in error["message"]
    assert db.session.query(Inquiry).count() == 0


@pytest.mark.parametrize("payload, code", [
    ({"handles": "", "reason": "x"}, "handles_required"),
    ({"handles": " , \n ", "reason": "x"}, "handles_required"),
    ({"handles": ", ".join(f"h{n}" for n in range(51)), "reason": "x"}, "too_many_handles"),
    ({"handles": "aurora", "reason": ""}, "reason_required"),
    ({"handles": "aurora"}, "reason_required"),
    ({"handles": "aurora", "reason": "x" * 2001}, "reason_too_long"),
    ({"handles": 7, "reason": "x"}, "invalid_handles"),
    ({"handles": ["ok", 3], "reason": "x"}, "invalid_handles"),
    ({"handles": "aurora", "reason": ["x"]}, "reason_required"),
])
def test_bad_inquiries_are_refused_with_400(app, client, payload, code):
    sign_in(client, org_user())
    refused = client.post("/api/v1/inquiries", json=payload)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == code


def test_fifty_handles_are_allowed(app, client):
    sign_in(client, org_user())
    made = ask(client, " ".join(f"h{n}" for n in range(50)))
    assert made.status_code == 201 and len(made.get_json()["items"]) == 50


def test_the_form_shows_what_is_wrong(app, client):
    sign_in(client, org_user())
    page = client.post("/inquiries/new", data={"handles": "fine, not-fine", "reason": "launch"})
    assert page.status_code == 400
    assert "not-fine" in page.get_data(as_text=True)
    missing = client.post("/inquiries/new", data={"handles": "fine", "reason": ""})
    assert missing.status_code == 400
    assert db.session.query(Inquiry).count() == 0


# ---- due times ------------------------------------------------------------------------------
def test_due_three_business_days_later_across_a_weekend_and_a_holiday(app, client, clock):
    sign_in(client, org_user())
    friday = datetime(2026, 6, 5, 15, 30, tzinfo=UTC)
    clock.set(friday)
    plain = ask(client, "aurora").get_json()
    assert plain["due_at"] == "2026-06-10T15:30:00.000Z"  # Mon, Tue, Wed
    app.config["HOLIDAYS"] = (date(2026, 6, 8),)  # Monday off
    with_holiday = ask(client, "nimbus").get_json()
    assert with_holiday["due_at"] == "2026-06-11T15:30:00.000Z"
    # Asked on Saturday: counting starts on the next business day's beginning.
    clock.set(datetime(2026, 6, 6, 9, 0, tzinfo=UTC))
    app.config["HOLIDAYS"] = ()
    assert ask(client, "zephyr").get_json()["due_at"] == "2026-06-11T00:00:00.000Z"
    # The list shows each due time from the moment of asking, before any answer.
    page = client.get("/inquiries").get_data(as_text=True).replace("\u202f", " ")
    assert "Jun 10, 2026, 3:30 PM UTC" in page and "Jun 11, 2026, 3:30 PM UTC" in page


def test_holidays_come_from_the_environment(monkeypatch):
    import importlib

    import marketplace.config as config
    try:
        monkeypatch.setenv("MARKETPLACE_HOLIDAYS", "2027-01-01, 2026-12-25")
        assert importlib.reload(config).Config.HOLIDAYS == (date(2026, 12, 25), date(2027, 1, 1))
        monkeypatch.setenv("MARKETPLACE_HOLIDAYS", "2026-12-25,Christmas")
        with pytest.raises(RuntimeError, match="MARKETPLACE_HOLIDAYS"):
            importlib.reload(config)
        monkeypatch.delenv("MARKETPLACE_HOLIDAYS")
        assert importlib.reload(config).Config.HOLIDAYS == ()
    finally:
        monkeypatch.undo()
        importlib.reload(config)  # the settings as the process started with them


# ---- the assistant --------------------------------------------------------------------------
def test_the_assistant_answers_each_case(app, client, clock):
    asker = org_user()
    lot = make_auction(handle=released_handle("onsale1").display)
    held("sleepy71", days_inactive=40)
    held("botty712", bot=True)
    released_handle("pooled71")
    held("busy7123", days_inactive=1)
    released_handle("guarded1", protected=True)
    held("brandx71", days_inactive=40)
    db.session.add(ProtectedName(name="brandx71", reason="a brand", created_at=clock.now()))
    db.session.commit()
    sign_in(client, asker)
    made = ask(client, "onsale1 sleepy71 botty712 pooled71 busy7123 guarded1 brandx71 nobody71").get_json()
    # The worker's pass runs the assistant.
    clock.advance(minutes=1)
    Worker(app).run_once()
    db.session.expire_all()
    shape = client.get(f"/api/v1/inquiries/{made['id']}").get_json()
    items = by_handle(shape)
    assert items["onsale1"]["status"] == "available" and items["onsale1"]["lot_id"] == lot.id
    for name in ("sleepy71", "botty712", "pooled71"):
        assert items[name]["status"] == "releasable", name
        assert items[name]["list_cents"] == suggest(name).value_cents == FLOOR
    assert items["busy7123"]["status"] == "unavailable" and "active" in items["busy7123"]["note"]
    for name in ("guarded1", "brandx71"):
        assert items[name]["status"] == "unavailable" and "admins decide" in items[name]["note"], name
    assert items["nobody71"]["status"] == "unavailable" and "Not registered" in items["nobody71"]["note"]
    assert all(i["answered_by"] == "assistant" for i in shape["items"])
    assert shape["status"] == "answered" and shape["answered_at"] == "2026-06-01T12:01:00.000Z"
    # Three releasable handles: the 5% tier, shared in whole cents.
    assert shape["quote"] == {"count": 3, "rate_bps": 500, "subtotal_cents": 3 * FLOOR,
                              "discount_cents": 3 * FLOOR // 20, "total_cents": 3 * FLOOR * 95 // 100}
    assert {items[n]["price_cents"] for n in ("sleepy71", "botty712", "pooled71")} == {FLOOR * 95 // 100}
    # Nothing moved: answering takes no handle from anyone.
    assert db.session.query(Handle).filter_by(name="sleepy71").one().account_id is not None
    # The asker is told in the app and by email, with a link to the inquiry.
    notice = db.session.query(Notification).filter_by(user_id=asker.id, kind="inquiry_answered").one()
    assert notice.payload["inquiry_id"] == made["id"] and notice.payload["amount_cents"] == 3 * FLOOR * 95 // 100
    mail = db.session.query(EmailMessage).filter_by(user_id=asker.id, kind="inquiry_answered").one()
    assert f"/inquiries/{made['id']}" in mail.body_text and "$28,500.00" in mail.body_text
    assert str(made["id"]) in mail.subject
    notices = client.get("/account/notifications").get_data(as_text=True)
    assert f"/inquiries/{made['id']}" in notices


def test_two_releasable_handles_get_no_discount(app, client):
    sign_in(client, org_user())
    held("sleepy71", days_inactive=40)
    released_handle("pooled71")
    made = ask(client, "sleepy71 pooled71 nobody71").get_json()
    shape = answered(made["id"])
    assert shape["quote"]["rate_bps"] == 0 and shape["quote"]["total_cents"] == 2 * FLOOR


def test_the_assistant_works_oldest_first_in_bounded_batches(app, client):
    sign_in(client, org_user())
    first = ask(client, "a1 a2 a3").get_json()
    second = ask(client, "b1 b2").get_json()
    assert inquiries().answer_due(limit=2) == 2
    db.session.expire_all()
    statuses = {i.handle_name: i.status for i in db.session.query(InquiryItem)}
    assert [statuses[n] for n in ("a1", "a2", "a3", "b1", "b2")] == [
        "unavailable", "unavailable", "pending", "pending", "pending"]
    assert db.session.get(Inquiry, first["id"]).answered_at is None
    assert inquiries().answer_due(limit=2) == 2
    db.session.expire_all()
    assert db.session.get(Inquiry, first["id"]).answered_at is not None
    assert db.session.get(Inquiry, second["id"]).answered_at is None
    assert inquiries().answer_due(limit=2) == 1
    assert inquiries().answer_due(limit=2) == 0


# ---- who sees what --------------------------------------------------------------------------
def test_another_organisations_user_gets_404(app, client):
    sign_in(client, org_user())
    made = ask(client, "aurora").get_json()
    answered(made["id"])
    other = app.test_client()
    sign_in(other, org_user(name="Other Inc"))
    assert other.get(f"/api/v1/inquiries/{made['id']}").status_code == 404
    assert other.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [made["items"][0]["id"]]}
                      ).status_code == 404
    assert other.get(f"/inquiries/{made['id']}").status_code == 404
    assert other.post(f"/inquiries/{made['id']}/accept",
                      data={"item_id": made["items"][0]["id"], "confirm": "y"}).status_code == 404
    assert other.get("/api/v1/inquiries").get_json()["total"] == 0
    assert client.get("/api/v1/inquiries").get_json()["total"] == 1
    lone = app.test_client()
    sign_in(lone, make_user())
    assert lone.get("/api/v1/inquiries").status_code == 403
    assert lone.get(f"/api/v1/inquiries/{made['id']}").status_code == 404
    assert lone.get("/inquiries").status_code == 200  # explains what it takes


def test_pages_list_and_empty_states(app, client):
    sign_in(client, org_user())
    assert "empty-state" in client.get("/inquiries").get_data(as_text=True)
    assert client.get("/inquiries/new").status_code == 200
    made = client.post("/inquiries/new", data={"handles": "aurora\nnimbus", "reason": "launch"})
    assert made.status_code == 302
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "@aurora" in page and "Being answered" in page
    listing = client.get("/inquiries").get_data(as_text=True)
    assert 'data-testid="inquiry-row"' in listing


# ---- accepting (bad input and refusals) -----------------------------------------------------
@pytest.mark.parametrize("body", [{}, {"item_ids": []}, {"item_ids": "1"}, {"item_ids": [True]},
                                  {"item_ids": [-1]}, {"item_ids": ["1"]}, {"item_ids": [1.5]},
                                  {"item_ids": list(range(1, 60))}, {"item_ids": [None]}])
def test_bad_item_ids_are_400(app, client, body):
    sign_in(client, org_user(card=None))
    made = ask(client, "aurora").get_json()
    answered(made["id"])
    refused = client.post(f"/api/v1/inquiries/{made['id']}/accept", json=body)
    assert refused.status_code == 400, refused.get_json()
    assert client.post(f"/api/v1/inquiries/{made['id']}/accept", data="nope").status_code == 400
    assert client.post(f"/api/v1/inquiries/{made['id']}/accept", json=[1]).status_code == 400


def test_accepting_before_the_answer_or_an_unquoted_handle_is_refused(app, client):
    sign_in(client, org_user())
    make_auction(handle=released_handle("onsale1").display)
    made = ask(client, "onsale1 nobody71").get_json()
    ids = [i["id"] for i in made["items"]]
    early = client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": ids[:1]})
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_answered"
    answered(made["id"])
    for item_id in ids:
        refused = client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [item_id]})
        assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_releasable"
    unknown = client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [ids[0] + 999]})
    assert unknown.status_code == 404
    assert db.session.query(Order).count() == 0


def test_accepting_without_a_saved_card_is_402(app, client):
    user = org_user(card=None)
    sign_in(client, user)
    released_handle("pooled71")
    made = ask(client, "pooled71").get_json()
    answered(made["id"])
    refused = client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [made["items"][0]["id"]]})
    assert refused.status_code == 402
    assert refused.get_json()["error"]["code"] == "payment_method_required"
    assert refused.get_json()["error"]["action_url"] == "/account/card"
    assert db.session.query(Listing).count() == 0


def test_a_lapsed_organisation_may_read_but_not_accept(app, client):
    user = org_user()
    sign_in(client, user)
    released_handle("pooled71")
    made = ask(client, "pooled71").get_json()
    answered(made["id"])
    db.session.get(Organisation, user.organisation_id).subscription_status = SubscriptionStatus.CANCELED
    db.session.commit()
    assert client.get(f"/api/v1/inquiries/{made['id']}").status_code == 200
    refused = client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [made["items"][0]["id"]]})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "subscription_inactive"


# ---- admins ---------------------------------------------------------------------------------
def test_late_inquiries_are_flagged_and_an_admin_answers_by_hand(app, client, clock):
    asker = org_user()
    sign_in(client, asker)
    released_handle("guarded1", protected=True)
    made = ask(client, "guarded1 aurora").get_json()
    admin = make_user(admin=True)
    desk = app.test_client()
    sign_in(desk, admin)
    clock.advance(days=6)  # past the 3 business days, nobody answered
    console = desk.get("/admin/inquiries").get_data(as_text=True)
    assert f'data-inquiry-id="{made["id"]}" data-late="true"' in console
    assert 'data-testid="late-count">1<' in console
    assert client.get(f"/api/v1/inquiries/{made['id']}").get_json()["late"] is True
    answered(made["id"])
    item = by_handle(client.get(f"/api/v1/inquiries/{made['id']}").get_json())["guarded1"]
    assert item["status"] == "unavailable"
    # Bad input on the form: 400 with the form, never a 500; nothing changes.
    assert desk.post(f"/admin/inquiries/{made['id']}/items/{item['id']}/answer",
                     data={"status": "releasable", "price": "", "note": "for Acme"}).status_code == 400
    assert desk.post(f"/admin/inquiries/{made['id']}/items/{item['id']}/answer",
                     data={"status": "releasable", "price": "lots", "note": "for Acme"}).status_code == 400
    assert desk.post(f"/admin/inquiries/{made['id']}/items/{item['id'] + 99}/answer",
                     data={"status": "unavailable", "note": "x"}).status_code == 404
    # The admin offers the protected name to this organisation at a price.
    done = desk.post(f"/admin/inquiries/{made['id']}/items/{item['id']}/answer",
                     data={"status": "releasable", "price": "75,000", "note": "Offered to Acme by the brand team"})
    assert done.status_code == 302
    shape = client.get(f"/api/v1/inquiries/{made['id']}").get_json()
    item = by_handle(shape)["guarded1"]
    assert item["status"] == "releasable" and item["answered_by"] == "admin"
    assert item["list_cents"] == item["price_cents"] == 75_000_00
    assert shape["quote"]["total_cents"] == 75_000_00
    entry = db.session.query(AuditEntry).filter_by(action="inquiry.answer").one()
    assert entry.actor_id == admin.id and json.loads(entry.details_json)["before"]["status"] == "unavailable"
    assert db.session.query(Notification).filter_by(user_id=asker.id, kind="inquiry_answered").count() == 2
    assert desk.get(f"/admin/inquiries/{made['id']}").status_code == 200
    assert client.get("/admin/inquiries").status_code == 403


# ---- end to end, against the fake Stripe server ----------------------------------------------
@pytest.mark.usefixtures("shared_gateway")
def test_accepting_part_of_a_quote_charges_the_card_and_moves_the_handle(app, client, clock, fake_stripe):
    buyer = org_user(card="pm_card_visa")
    sleeper = make_user()
    held("sleepy71", days_inactive=40, owner=sleeper)
    held("botty712", bot=True)
    released_handle("pooled71")
    sign_in(client, buyer)
    made = ask(client, "sleepy71 botty712 pooled71").get_json()
    shape = answered(made["id"])
    assert shape["quote"]["rate_bps"] == 500
    items = by_handle(shape)
    price = items["sleepy71"]["price_cents"]
    assert price == FLOOR * 95 // 100

    # The quote page shows the discount line and the totals, with a box per handle.
    page = client.get(f"/inquiries/{made['id']}").get_data(as_text=True)
    assert "Bulk discount (5%)" in page and "$28,500" in page and page.count('data-testid="accept-item"') == 3
    # Each amount shares its label's line, and the confirmation is a checkbox beside its words
    # (it was drawn as an empty text box under them).
    lines = re.search(r'<dl class="receipt-list quote-lines">(.*?)</dl>', page, re.S).group(1)
    assert len(re.findall(r"<div[^>]*><dt>[^<]+</dt>\s*<dd data-testid=\"quote-(?:subtotal|discount|total)\">", lines)) == 3
    check = re.search(r'<div class="check-row">\s*<input class="check"[^>]*type="checkbox"[^>]*>\s*'
                      r'<label class="check-label" for="confirm">I understand', page)
    assert check and 'class="input"' not in check.group(0)

    accepted = client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [items["sleepy71"]["id"]]})
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert body["accepted_item_ids"] == [items["sleepy71"]["id"]] and body["refused"] == []
    line = by_handle(body["inquiry"])["sleepy71"]
    order = db.session.get(Order, line["order_id"])
    assert order.source == "inquiry" and order.amount_cents == price and order.commission_cents == 0
    assert order.status == "paid" and line["order_status"] == "paid"  # charged at once, as a checkout
    assert order.transfer_due_at == order.paid_at + timedelta(days=2)
    # The handle left its inactive account into the platform's custody, for a private lot.
    handle = db.session.query(Handle).filter_by(name="sleepy71").one()
    assert handle.account_id is None
    lot = db.session.get(Listing, order.listing_id)
    assert lot.private and lot.kind == "fixed" and lot.eligibility == "organisations" and lot.seller_id is None
    assert lot.start_price_cents == price and lot.winner_id == buyer.id

    clock.advance(hours=1)
    settlement().run_once()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "completed" and order.transferred_at <= order.transfer_due_at
    handle = db.session.query(Handle).filter_by(name="sleepy71").one()
    assert db.session.get(PlatformAccount, handle.account_id).user_id == buyer.id
    status, intents = fake_stripe_call(fake_stripe, "GET", "/v1/payment_intents", {"limit": 100})
    assert [i["amount"] for i in intents["data"] if i["status"] == "succeeded"] == [price]

    # Accepting again does nothing new: the same order, no second charge.
    again = client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [items["sleepy71"]["id"]]})
    assert again.status_code == 200 and by_handle(again.get_json()["inquiry"])["sleepy71"]["order_id"] == order.id
    assert db.session.query(Order).count() == 1
    status, intents = fake_stripe_call(fake_stripe, "GET", "/v1/payment_intents", {"limit": 100})
    assert len([i for i in intents["data"] if i["status"] == "succeeded"]) == 1

    # The private lot is in no catalog, and its page is the buyer's and admins' only.
    for query in ("", "&status=sold", "&q=sleepy71", "&kind=fixed&sort=newest"):
        catalog = client.get(f"/api/v1/lots?per_page=100{query}").get_json()
        assert lot.id not in [x["id"] for x in catalog["items"]] and catalog["total"] == 0, query
    assert "sleepy71" not in client.get("/market?status=all").get_data(as_text=True)
    assert client.get(f"/lots/{lot.id}").status_code == 200
    stranger = app.test_client()
    sign_in(stranger, make_user())
    assert stranger.get(f"/lots/{lot.id}").status_code == 404
    assert stranger.get(f"/api/v1/lots/{lot.id}").status_code == 404
    assert app.test_client().get(f"/lots/{lot.id}").status_code == 404
    for watcher, allowed in ((socket_client(app, stranger), False), (socket_client(app, client), True)):
        ack = watcher.emit("watch", {"lot_id": lot.id}, callback=True)
        assert (ack.get("ok") is True) if allowed else (ack["error"]["code"] == "lot_not_found"), ack
        watcher.disconnect()
    admin = app.test_client()
    sign_in(admin, make_user(admin=True))
    assert admin.get(f"/lots/{lot.id}").status_code == 200
    # The inquiry page links the order; the other two handles can still be accepted.
    page = client.get(f"/inquiries/{made['id']}").get_data(as_text=True)
    assert f"/orders/{order.id}" in page and page.count('data-testid="accept-item"') == 2
    receipt = client.get(f"/orders/{order.id}")
    assert receipt.status_code == 200 and "@sleepy71" in receipt.get_data(as_text=True)


@pytest.mark.usefixtures("shared_gateway")
def test_accepting_through_the_page_needs_the_confirmation(app, client):
    sign_in(client, org_user(card="pm_card_visa"))
    released_handle("pooled71")
    made = ask(client, "pooled71").get_json()
    item_id = answered(made["id"])["items"][0]["id"]
    unconfirmed = client.post(f"/inquiries/{made['id']}/accept", data={"item_id": item_id})
    assert unconfirmed.status_code == 400 and db.session.query(Order).count() == 0
    nothing_ticked = client.post(f"/inquiries/{made['id']}/accept", data={"confirm": "y"})
    assert nothing_ticked.status_code == 400
    garbage = client.post(f"/inquiries/{made['id']}/accept", data={"confirm": "y", "item_id": "x"})
    assert garbage.status_code == 400
    done = client.post(f"/inquiries/{made['id']}/accept", data={"item_id": item_id, "confirm": "y"})
    assert done.status_code == 302
    order = db.session.query(Order).one()
    assert order.buyer_id is not None and order.status == "paid"
    assert f"/orders/{order.id}" in client.get(f"/inquiries/{made['id']}").get_data(as_text=True)


@pytest.mark.usefixtures("shared_gateway")
def test_a_stale_answer_is_refused_by_name(app, client):
    first, second = org_user(card="pm_card_visa"), org_user(card="pm_card_visa", name="Rival Ltd")
    released_handle("pooled71")
    held("sleepy71", days_inactive=40)
    sign_in(client, first)
    mine = ask(client, "pooled71 sleepy71").get_json()
    rival = app.test_client()
    sign_in(rival, second)
    theirs = ask(rival, "pooled71").get_json()
    answered(mine["id"])
    answered(theirs["id"])
    rival_item = theirs["items"][0]["id"]
    assert rival.post(f"/api/v1/inquiries/{theirs['id']}/accept", json={"item_ids": [rival_item]}).status_code == 200
    # pooled71 is sold meanwhile; sleepy71's owner came back: both answers are stale.
    account = db.session.query(Handle).filter_by(name="sleepy71").one().account_id
    db.session.get(PlatformAccount, account).last_active_at = inquiries().clock.now()
    db.session.commit()
    ids = [i["id"] for i in mine["items"]]
    refused = client.post(f"/api/v1/inquiries/{mine['id']}/accept", json={"item_ids": ids})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "quote_stale" and "@pooled71" in error["message"] and "@sleepy71" in error["message"]
    assert db.session.query(Order).count() == 1
    assert db.session.query(Handle).filter_by(name="sleepy71").one().account_id == account


@pytest.mark.usefixtures("shared_gateway")
def test_a_late_transfer_is_flagged_for_admins(app, client, clock):
    sign_in(client, org_user(card="pm_card_visa"))
    released_handle("pooled71")
    made = ask(client, "pooled71").get_json()
    item_id = answered(made["id"])["items"][0]["id"]
    assert client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [item_id]}).status_code == 200
    order = db.session.query(Order).one()
    assert order.status == "paid"
    desk = app.test_client()
    sign_in(desk, make_user(admin=True))
    assert 'data-testid="late-transfer"' not in desk.get("/admin/inquiries").get_data(as_text=True)
    clock.advance(hours=49)  # the worker did not move it within the 2-day window
    console = desk.get("/admin/inquiries").get_data(as_text=True)
    assert f'data-testid="late-transfer" data-order-id="{order.id}"' in console and "@pooled71" in console
    assert desk.get(f"/admin/orders/{order.id}").status_code == 200
    settlement().run_once()
    assert 'data-testid="late-transfer"' not in desk.get("/admin/inquiries").get_data(as_text=True)


# ---- hostile input --------------------------------------------------------------------------
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
    | st.sampled_from(["", "@", "ｈandle", "h\u200bandle", "a,b,,c", "\n\n", "x" * 3000, "@@a"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(handles=VALUES, reason=VALUES, item_ids=VALUES)
def test_hostile_input_is_never_a_server_error(app, client, handles, reason, item_ids):
    if "HTTP_AUTHORIZATION" not in client.environ_base:
        sign_in(client, org_user())
    before = db.session.query(Inquiry).count()
    asked = client.post("/api/v1/inquiries", json={"handles": handles, "reason": reason})
    assert asked.status_code in (201, 400), asked.get_json()
    if asked.status_code == 400:
        assert asked.get_json()["error"]["message"]
        db.session.rollback()
        assert db.session.query(Inquiry).count() == before
    taken = client.post("/api/v1/inquiries/1/accept", json={"item_ids": item_ids})
    assert taken.status_code in (400, 402, 404, 409), taken.get_json()
    assert taken.get_json()["error"]["code"]


@pytest.mark.usefixtures("shared_gateway")
def test_an_organisation_buying_several_handles_holds_every_one(app, client, clock):
    buyer = org_user(card="pm_card_visa")
    held("sleepy71", days_inactive=40)
    released_handle("pooled71")
    sign_in(client, buyer)
    made = ask(client, "sleepy71 pooled71").get_json()
    ids = [i["id"] for i in answered(made["id"])["items"]]
    assert client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": ids}).status_code == 200
    settlement().run_once()
    db.session.expire_all()
    assert [o.status for o in db.session.query(Order).order_by(Order.id)] == ["completed", "completed"]
    # An organisation runs an account per handle: the second purchase does not swap the first out.
    accounts = [db.session.query(Handle).filter_by(name=n).one().account_id for n in ("sleepy71", "pooled71")]
    assert None not in accounts and len(set(accounts)) == 2
    assert {db.session.get(PlatformAccount, a).user_id for a in accounts} == {buyer.id}


@pytest.mark.usefixtures("shared_gateway")
def test_an_unpaid_inquiry_order_lapses_without_a_strike(app, client, clock, fake_stripe):
    from tests.support import fake_stripe_card

    buyer = org_user(card=fake_stripe_card(fake_stripe, "4000000000000341"))
    released_handle("pooled71")
    sign_in(client, buyer)
    made = ask(client, "pooled71").get_json()
    item_id = answered(made["id"])["items"][0]["id"]
    assert client.post(f"/api/v1/inquiries/{made['id']}/accept", json={"item_ids": [item_id]}).status_code == 200
    order = db.session.query(Order).one()
    assert order.status == "action_required" and order.pay_by is not None
    clock.set(order.pay_by + timedelta(minutes=1))
    settlement().run_once()
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "lapsed"
    assert db.session.get(User, buyer.id).strikes == 0  # a quote not taken up is no broken promise
    assert db.session.get(Listing, order.listing_id).closed_status == "unsold"
