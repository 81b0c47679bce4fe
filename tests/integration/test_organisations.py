"""Organisations, their admin check and their $1,000/month Stripe Billing subscription (DESIGN.md
section 6), against the fake Stripe server, on SQLite and PostgreSQL.

The subscription gate is `standing_problem`: verified by an admin and subscribed (active, within
its period). It pauses inquiries and organisations-only lots whenever the subscription lapses.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    EmailMessage,
    Listing,
    Notification,
    Order,
    Organisation,
    PaymentRecord,
    SubscriptionStatus,
    User,
)
from marketplace.payments.gateway import ORG_PLAN_ID, ORG_PRICE_CENTS
from marketplace.services.organisations import (
    RECHECK_AFTER,
    require_good_standing,
    standing_problem,
    subscription_status,
)
from marketplace.wiring import bidding, listings, organisations, purchases
from tests.factories import login, make_auction, make_user, released_handle
from tests.integration.test_api import token_for
from tests.integration.test_webhooks import deliver
from tests.support import fake_stripe_call, fake_stripe_card


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


pytestmark = pytest.mark.usefixtures("shared_gateway")


# ---- helpers --------------------------------------------------------------------------------
def make_org(owner=None, verified: bool = False, name: str = "Acme Corp", card: str | None = "pm_card_visa"):
    """An organisation created through the service (verified by an admin when asked)."""
    owner = owner or make_user(card=card)
    org = organisations().create(owner, {"name": name, "website": "acme.example"})
    if verified:
        organisations().verify(make_user(admin=True), org.id)
    db.session.expire_all()
    return db.session.get(User, owner.id), db.session.get(Organisation, org.id)


def subscribed_org():
    """A verified organisation whose owner subscribed at the fake Stripe server."""
    owner, org = make_org(verified=True)
    organisations().subscribe(owner)
    db.session.expire_all()
    return db.session.get(User, owner.id), db.session.get(Organisation, org.id)


def set_state(org_id: int, **fields) -> Organisation:
    """Put an organisation in a state (as Stripe or an admin would have left it)."""
    org = db.session.get(Organisation, org_id)
    for name, value in fields.items():
        setattr(org, name, value)
    db.session.commit()
    return org


def stripe_subscription(fake_stripe, sub_id: str) -> dict:
    """The subscription as the fake Stripe server holds it."""
    status, body = fake_stripe_call(fake_stripe, "GET", f"/v1/subscriptions/{sub_id}")
    assert status == 200, body
    return body


def live_subscriptions(fake_stripe, customer_id: str) -> list[dict]:
    """A customer's subscriptions at the fake Stripe server that have not ended."""
    status, body = fake_stripe_call(fake_stripe, "GET", "/v1/subscriptions", {"customer": customer_id})
    assert status == 200, body
    return body["data"]


def api_json(response) -> dict:
    """A JSON answer's body."""
    return response.get_json()


# ---- the status mapping -------------------------------------------------------------------------
@pytest.mark.parametrize("stripe_status, ours", [
    ("active", "active"), ("trialing", "active"), ("past_due", "past_due"), ("unpaid", "past_due"),
    ("canceled", "canceled"), ("incomplete_expired", "canceled"), ("incomplete", "incomplete"),
    ("something_new", "incomplete"), (None, "incomplete"),
])
def test_stripe_statuses_map_to_ours_and_unknown_ones_never_count_as_active(stripe_status, ours):
    assert subscription_status(stripe_status) == ours


# ---- creating ---------------------------------------------------------------------------------
def test_creating_an_organisation_makes_the_user_its_owner_and_member(app, client):
    user = make_user()
    login(client, user)

    created = client.post("/api/v1/organisation", json={"name": "  Acme   Corp ", "website": "https://acme.example"}, headers=token_for(client, user))

    assert created.status_code == 201, created.get_data(as_text=True)
    body = api_json(created)
    assert body["name"] == "Acme Corp" and body["website"] == "https://acme.example" and body["role"] == "owner"
    assert body["verification"]["status"] == "pending"
    assert body["subscription"] == {"status": "none", "price_cents": 100_000, "interval": "month",
                                    "current_period_end": None, "cancel_at_period_end": False, "checked_at": None}
    assert body["standing"]["ok"] is False and body["standing"]["code"] == "organisation_unverified"
    db.session.expire_all()
    org = db.session.get(Organisation, body["id"])
    assert org.owner_id == user.id and db.session.get(User, user.id).organisation_id == org.id
    assert api_json(client.get("/api/v1/organisation", headers=token_for(client, user))) == body


def test_a_user_in_an_organisation_cannot_create_a_second(app, client):
    owner, org = make_org()
    login(client, owner)

    again = client.post("/api/v1/organisation", json={"name": "Other Corp"}, headers=token_for(client, owner))

    assert again.status_code == 409 and api_json(again)["error"]["code"] == "already_member"
    assert db.session.query(Organisation).count() == 1


@pytest.mark.parametrize("payload", [
    {}, {"name": "A"}, {"name": "x" * 121}, {"name": 42}, {"name": None}, {"name": ["Acme"]},
    {"name": "Acme", "website": "not a site"}, {"name": "Acme", "website": "ftp://acme.example"},
    {"name": "Acme", "website": "https://" + "a" * 200 + ".com"}, {"name": "Acme", "website": 7},
    {"name": "Acme\x00Corp"}, [], "Acme",
])
def test_bad_input_to_create_is_a_4xx_and_creates_nothing(app, client, payload):
    user = make_user()

    response = client.post("/api/v1/organisation", json=payload, headers=token_for(client, user))

    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert "error" in api_json(response)
    assert db.session.query(Organisation).count() == 0


def test_the_organisation_api_needs_a_signed_in_user_and_answers_404_without_one(app, client):
    assert client.get("/api/v1/organisation").status_code == 401
    assert client.post("/api/v1/organisation", json={"name": "Acme"}).status_code == 401
    user = make_user()
    missing = client.get("/api/v1/organisation", headers=token_for(client, user))
    assert missing.status_code == 404 and api_json(missing)["error"]["code"] == "organisation_not_found"


def test_the_create_form_makes_an_organisation_and_shows_it_pending(app, client):
    user = make_user()
    login(client, user)
    page = client.get("/organisation")
    assert page.status_code == 200 and 'data-testid="organisation-form"' in page.get_data(as_text=True)

    bad = client.post("/organisation", data={"name": "A"})
    assert bad.status_code == 400 and db.session.query(Organisation).count() == 0

    created = client.post("/organisation", data={"name": "Acme Corp", "website": "acme.example"})
    assert created.status_code == 302 and created.headers["Location"].endswith("/organisation")
    status = client.get("/organisation").get_data(as_text=True)
    assert "Acme Corp" in status and 'data-state="pending"' in status
    assert 'data-testid="subscribe-form"' not in status


# ---- admins verify or reject --------------------------------------------------------------------
def test_an_admin_verifies_an_organisation_audited_and_the_owner_is_told(app, client):
    owner, org = make_org()
    admin = make_user(admin=True)
    login(client, admin)
    listing = client.get("/admin/organisations?state=pending").get_data(as_text=True)
    assert f'data-organisation-id="{org.id}"' in listing

    response = client.post(f"/admin/organisations/{org.id}/verify")

    assert response.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.verified_at is not None and org.verified_by_id == admin.id
    [entry] = db.session.query(AuditEntry).filter_by(action="organisation_verified").all()
    assert entry.actor_id == admin.id and entry.target == f"organisation:{org.id}"
    [notice] = db.session.query(Notification).filter_by(user_id=owner.id, kind="organisation_verified").all()
    [mail] = db.session.query(EmailMessage).filter_by(user_id=owner.id, kind="organisation_verified").all()
    assert "Acme Corp" in mail.subject and "/organisation" in mail.body_text
    assert f'data-organisation-id="{org.id}"' in client.get("/admin/organisations?state=verified").get_data(as_text=True)
    assert f'data-organisation-id="{org.id}"' not in client.get("/admin/organisations?state=pending").get_data(as_text=True)


def test_an_admin_rejects_with_a_reason_the_owner_reads(app, client):
    owner, org = make_org()
    admin = make_user(admin=True)
    login(client, admin)

    no_reason = client.post(f"/admin/organisations/{org.id}/reject", data={"reason": ""})
    assert no_reason.status_code == 400
    response = client.post(f"/admin/organisations/{org.id}/reject", data={"reason": "No such company registered"})

    assert response.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.rejected_at is not None and org.verified_at is None
    assert org.rejection_reason == "No such company registered"
    [entry] = db.session.query(AuditEntry).filter_by(action="organisation_rejected").all()
    assert json.loads(entry.details_json)["reason"] == "No such company registered"
    [mail] = db.session.query(EmailMessage).filter_by(user_id=owner.id, kind="organisation_rejected").all()
    assert "No such company registered" in mail.body_text
    client = app.test_client()
    login(client, owner)
    page = client.get("/organisation").get_data(as_text=True)
    assert 'data-state="rejected"' in page and "No such company registered" in page
    assert api_json(client.get("/api/v1/organisation", headers=token_for(client, owner)))["verification"]["rejection_reason"] == "No such company registered"
    notices = client.get("/account/notifications").get_data(as_text=True)
    assert "Acme Corp was not verified: No such company registered" in notices
    assert 'href="/organisation"' in notices and "View organisation" in notices


def test_verify_and_reject_refuse_what_they_cannot_do(app):
    owner, org = make_org(verified=True)
    admin = make_user(admin=True)
    with pytest.raises(Conflict):
        organisations().verify(admin, org.id)
    with pytest.raises(Conflict):
        organisations().reject(admin, org.id, "changed our mind")
    with pytest.raises(NotFound):
        organisations().verify(admin, org.id + 1000)
    with pytest.raises(Forbidden):
        organisations().verify(owner, org.id)
    assert db.session.query(AuditEntry).filter_by(action="organisation_verified").count() == 1


def test_non_admins_cannot_see_or_decide_organisations(app, client):
    owner, org = make_org()
    login(client, owner)

    assert client.get("/admin/organisations").status_code == 403
    assert client.post(f"/admin/organisations/{org.id}/verify").status_code == 403
    assert client.post(f"/admin/organisations/{org.id}/reject", data={"reason": "because"}).status_code == 403

    db.session.expire_all()
    assert db.session.get(Organisation, org.id).verified_at is None
    assert db.session.query(AuditEntry).count() == 0


def test_admin_pages_answer_4xx_for_unknown_organisations_and_filters(app, client):
    login(client, make_user(admin=True))
    assert client.get("/admin/organisations?state=bogus").status_code == 400
    assert client.get("/admin/organisations?page=0").status_code == 400
    assert client.post("/admin/organisations/999/verify").status_code == 404
    assert client.post("/admin/organisations/999/reject", data={"reason": "not real"}).status_code == 404
    assert client.get("/admin/organisations").status_code == 200


# ---- subscribing -----------------------------------------------------------------------------
def test_subscribing_at_stripe_makes_the_subscription_active_and_the_standing_good(app, client, clock, fake_stripe):
    owner, org = make_org(verified=True)
    login(client, owner)
    unconfirmed = client.post("/organisation/subscribe", data={})
    assert unconfirmed.status_code == 400 and db.session.get(Organisation, org.id).subscription_id is None

    response = client.post("/organisation/subscribe", data={"confirm": "y"})

    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.subscription_status == SubscriptionStatus.ACTIVE and org.subscription_id.startswith("sub_")
    assert org.current_period_end > clock.now() and org.subscription_checked_at == clock.now()
    at_stripe = stripe_subscription(fake_stripe, org.subscription_id)
    assert at_stripe["status"] == "active" and at_stripe["customer"] == owner.stripe_customer_id
    assert at_stripe["plan"]["id"] == ORG_PLAN_ID and at_stripe["plan"]["amount"] == ORG_PRICE_CENTS == 100_000
    assert at_stripe["plan"]["interval"] == "month" and at_stripe["metadata"]["organisation_id"] == str(org.id)
    assert require_good_standing(db.session, db.session.get(User, owner.id), clock.now()).id == org.id
    body = api_json(client.get("/api/v1/organisation", headers=token_for(client, owner)))
    assert body["standing"] == {"ok": True, "code": None, "message": None}
    assert body["subscription"]["status"] == "active"
    page = client.get("/organisation").get_data(as_text=True)
    assert 'data-status="active"' in page and "Renews on" in page and 'data-testid="cancel-form"' in page
    [started] = db.session.query(PaymentRecord).filter_by(kind="subscription_started").all()
    assert started.amount_cents == 100_000 and started.stripe_id == org.subscription_id


def test_subscribing_twice_makes_one_subscription(app, fake_stripe):
    owner, org = subscribed_org()

    with pytest.raises(Conflict):
        organisations().subscribe(owner)

    assert [s["id"] for s in live_subscriptions(fake_stripe, owner.stripe_customer_id)] == [org.subscription_id]


def test_the_plan_is_made_once_and_found_again(app, gateway, fake_stripe):
    assert gateway.ensure_organisation_plan() == gateway.ensure_organisation_plan() == ORG_PLAN_ID
    status, plans = fake_stripe_call(fake_stripe, "GET", "/v1/plans")
    assert [p["id"] for p in plans["data"]] == [ORG_PLAN_ID]
    status, product = fake_stripe_call(fake_stripe, "GET", f"/v1/products/{plans['data'][0]['product']}")
    assert product["name"] == "Handle Exchange for organisations"


def test_an_unverified_organisation_cannot_subscribe(app, client, fake_stripe):
    owner, org = make_org()
    with pytest.raises(Forbidden) as refused:
        organisations().subscribe(owner)
    assert refused.value.code == "organisation_unverified"
    login(client, owner)
    assert client.post("/organisation/subscribe", data={"confirm": "y"}).status_code == 403
    assert live_subscriptions(fake_stripe, owner.stripe_customer_id) == []


def test_subscribing_without_a_saved_card_answers_402_with_the_card_page(app, client):
    owner, org = make_org(verified=True, card=None)
    with pytest.raises(Exception) as refused:
        organisations().subscribe(owner)
    assert refused.value.status == 402 and refused.value.code == "payment_method_required"
    assert refused.value.to_dict()["error"]["action_url"] == "/account/card?next=/organisation"
    login(client, owner)
    page = client.get("/organisation").get_data(as_text=True)
    assert 'data-testid="organisation-add-card"' in page
    response = client.post("/organisation/subscribe", data={"confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/card?next=/organisation"
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).subscription_status == "none"


def test_a_declined_card_leaves_no_subscription(app, client, fake_stripe):
    owner, org = make_org(verified=True)
    set_state_user = db.session.get(User, owner.id)
    set_state_user.payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
    fake_stripe_call(fake_stripe, "POST", f"/v1/payment_methods/{set_state_user.payment_method_id}/attach",
                     {"customer": owner.stripe_customer_id})
    db.session.commit()
    login(client, owner)

    response = client.post("/organisation/subscribe", data={"confirm": "y"})

    assert response.status_code == 402
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.subscription_status == "none" and org.subscription_id is None
    assert live_subscriptions(fake_stripe, owner.stripe_customer_id) == []


# ---- cancelling ------------------------------------------------------------------------------
def test_cancelling_keeps_the_paid_month_and_stops_the_renewal(app, client, clock, fake_stripe):
    owner, org = subscribed_org()
    login(client, owner)

    response = client.post("/organisation/cancel", data={"confirm": "y"})

    assert response.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.subscription_status == "active" and standing_problem(db.session, owner, clock.now()) is None
    assert stripe_subscription(fake_stripe, org.subscription_id)["cancel_at_period_end"] is True
    page = client.get("/organisation").get_data(as_text=True)
    assert "Ends on" in page and 'data-testid="cancel-scheduled"' in page and 'data-testid="cancel-form"' not in page
    assert api_json(client.get("/api/v1/organisation", headers=token_for(client, owner)))["subscription"]["cancel_at_period_end"] is True


def test_cancelling_a_lapsed_subscription_ends_it_now(app, clock, fake_stripe):
    owner, org = subscribed_org()
    set_state(org.id, subscription_status=SubscriptionStatus.PAST_DUE.value)

    organisations().cancel(owner)

    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.subscription_status == "canceled"
    assert stripe_subscription(fake_stripe, org.subscription_id)["status"] == "canceled"
    with pytest.raises(Conflict):
        organisations().cancel(owner)


def test_a_cancelled_organisation_may_subscribe_again(app, fake_stripe):
    owner, org = subscribed_org()
    first = org.subscription_id
    organisations().cancel(owner, at_period_end=False)

    organisations().subscribe(owner)

    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.subscription_status == "active" and org.subscription_id != first
    assert [s["id"] for s in live_subscriptions(fake_stripe, owner.stripe_customer_id)] == [org.subscription_id]


def test_subscribing_again_after_a_failed_renewal_replaces_the_lapsed_subscription(app, clock, fake_stripe):
    owner, org = subscribed_org()
    lapsed = org.subscription_id
    set_state(org.id, subscription_status=SubscriptionStatus.PAST_DUE.value)
    assert standing_problem(db.session, owner, clock.now()).code == "subscription_inactive"

    organisations().subscribe(db.session.get(User, owner.id))

    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.subscription_status == "active" and org.subscription_id != lapsed
    assert stripe_subscription(fake_stripe, lapsed)["status"] == "canceled"
    assert standing_problem(db.session, db.session.get(User, owner.id), clock.now()) is None


# ---- another user's organisation ----------------------------------------------------------------
def test_another_user_cannot_read_or_change_an_organisation(app, client):
    owner, org = subscribed_org()
    stranger = make_user(card="pm_card_visa")
    login(client, stranger)

    assert client.get("/api/v1/organisation", headers=token_for(client, stranger)).status_code == 404
    assert client.post("/organisation/subscribe", data={"confirm": "y"}).status_code == 404
    assert client.post("/organisation/cancel", data={"confirm": "y"}).status_code == 404
    assert "Acme Corp" not in client.get("/organisation").get_data(as_text=True)

    member = make_user(card="pm_card_visa")
    member.organisation_id = org.id
    db.session.commit()
    client = app.test_client()
    login(client, member)
    mine = client.get("/api/v1/organisation", headers=token_for(client, member))
    assert mine.status_code == 200 and api_json(mine)["role"] == "member", mine.get_data(as_text=True)
    assert client.post("/organisation/cancel", data={"confirm": "y"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).subscription_status == "active"


# ---- the subscription gate ----------------------------------------------------------------------
GATE = {
    # state → (fields on the organisation, or None for no organisation; the refusal code or None)
    "no_organisation": (None, "organisation_required"),
    "unverified": ({"verified_at": None}, "organisation_unverified"),
    "verified_not_subscribed": ({}, "subscription_inactive"),
    "active": ({"subscription_status": "active", "period_days": 20}, None),
    "active_period_over": ({"subscription_status": "active", "period_days": -1}, "subscription_inactive"),
    "past_due": ({"subscription_status": "past_due", "period_days": 20}, "subscription_inactive"),
    "canceled": ({"subscription_status": "canceled", "period_days": 20}, "subscription_inactive"),
    "incomplete": ({"subscription_status": "incomplete"}, "subscription_inactive"),
}


def member_in_state(state: str, clock):
    """A user with a saved card whose organisation is in the given state."""
    fields, _ = GATE[state]
    if fields is None:
        return make_user(card="pm_card_visa")
    owner, org = make_org(verified=True)
    fields = dict(fields)
    days = fields.pop("period_days", None)
    if days is not None:
        fields["current_period_end"] = clock.now() + timedelta(days=days)
        fields["subscription_id"] = f"sub_test{org.id}"
    set_state(org.id, **fields)
    return db.session.get(User, owner.id)


@pytest.mark.parametrize("state", sorted(GATE))
def test_the_standing_rule_admits_only_verified_and_active(app, clock, state):
    user = member_in_state(state, clock)
    expected = GATE[state][1]

    problem = standing_problem(db.session, user, clock.now())

    assert (problem.code if problem else None) == expected
    if expected is None:
        assert require_good_standing(db.session, user, clock.now()).id == user.organisation_id
    else:
        with pytest.raises(Forbidden) as refused:
            require_good_standing(db.session, user, clock.now())
        assert refused.value.code == expected and refused.value.status == 403


@pytest.mark.parametrize("state", sorted(GATE))
def test_bidding_on_an_organisations_only_lot_follows_the_standing(app, client, clock, state):
    user = member_in_state(state, clock)
    lot = make_auction(start_cents=100_000, eligibility="organisations")

    response = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 150_000},
                           headers=token_for(client, user))

    if GATE[state][1] is None:
        assert response.status_code == 201, response.get_data(as_text=True)
    else:
        assert response.status_code == 403 and api_json(response)["error"]["code"] == "not_eligible"
        db.session.expire_all()
        assert db.session.get(Listing, lot.id).bid_count == 0


@pytest.mark.parametrize("state", ["active", "past_due", "canceled", "unverified", "no_organisation"])
def test_buying_an_organisations_only_lot_follows_the_standing(app, client, clock, state):
    user = member_in_state(state, clock)
    lot = listings().create(make_user(admin=True), {"handle": released_handle().display, "kind": "fixed",
                                                   "price_cents": 500_000, "eligibility": "organisations"})

    response = client.post(f"/api/v1/lots/{lot.id}/buy", json={}, headers=token_for(client, user))

    if GATE[state][1] is None:
        assert response.status_code == 201, response.get_data(as_text=True)
    else:
        assert response.status_code == 403 and api_json(response)["error"]["code"] == "not_eligible"
        assert db.session.query(Order).count() == 0


def test_a_lapsed_subscription_pauses_bidding_until_it_is_active_again(app, clock):
    owner, org = subscribed_org()
    lot = make_auction(start_cents=100_000, eligibility="organisations")
    bidding().place(owner, lot.id, 150_000, "one")
    set_state(org.id, subscription_status=SubscriptionStatus.PAST_DUE.value)

    with pytest.raises(Forbidden):
        bidding().place(db.session.get(User, owner.id), lot.id, 200_000, "two")
    with pytest.raises(Forbidden):
        purchases().buy(db.session.get(User, owner.id), listings().create(
            make_user(admin=True), {"handle": released_handle().display, "kind": "fixed",
                                    "price_cents": 500_000, "eligibility": "organisations"}).id)

    organisations().refresh(org.id)  # Stripe says active: the standing is back
    bidding().place(db.session.get(User, owner.id), lot.id, 200_000, "three")
    assert db.session.get(Listing, lot.id).bid_count == 2


# ---- webhooks and reconciliation ---------------------------------------------------------------
def subscription_event(event_id: str, kind: str, sub_id: str) -> dict:
    """A subscription event (its payload thin on purpose: the endpoint reads Stripe again)."""
    obj = {"id": sub_id, "object": "subscription", "status": "active"}
    if kind.startswith("invoice."):
        obj = {"id": "in_test", "object": "invoice", "subscription": sub_id}
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}


def test_a_subscription_deleted_event_reads_stripe_and_pauses_the_organisation(app, client, clock, fake_stripe):
    owner, org = subscribed_org()
    status, _ = fake_stripe_call(fake_stripe, "DELETE", f"/v1/subscriptions/{org.subscription_id}")
    assert status == 200
    event = subscription_event("evt_sub_deleted", "customer.subscription.deleted", org.subscription_id)

    first = deliver(client, event)
    second = deliver(client, event)

    assert (first.status_code, first.get_json()["outcome"]) == (200, "handled")
    assert second.get_json()["outcome"] == "duplicate"
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).subscription_status == "canceled"
    assert standing_problem(db.session, db.session.get(User, owner.id), clock.now()).code == "subscription_inactive"


def test_an_event_payload_is_only_a_hint_stripe_is_read_again(app, client, fake_stripe):
    owner, org = subscribed_org()
    set_state(org.id, subscription_status=SubscriptionStatus.PAST_DUE.value)
    # The event claims a failed payment; Stripe says the subscription is active.
    event = subscription_event("evt_invoice_failed", "invoice.payment_failed", org.subscription_id)

    response = deliver(client, event)

    assert response.status_code == 200 and response.get_json()["outcome"] == "handled"
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).subscription_status == "active"


@pytest.mark.parametrize("kind", ["customer.subscription.updated", "invoice.paid", "customer.subscription.created"])
def test_subscription_events_bring_the_status_in_line_with_stripe(app, client, fake_stripe, kind):
    owner, org = subscribed_org()
    fake_stripe_call(fake_stripe, "DELETE", f"/v1/subscriptions/{org.subscription_id}")

    response = deliver(client, subscription_event(f"evt_{kind}", kind, org.subscription_id))

    assert response.status_code == 200 and response.get_json()["outcome"] == "handled"
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).subscription_status == "canceled"


def test_a_subscription_a_crash_left_unrecorded_is_adopted_from_its_event(app, client, gateway):
    owner, org = make_org(verified=True)
    # Stripe made the subscription, then the app died before writing it down.
    sub = gateway.create_subscription(owner.stripe_customer_id, owner.payment_method_id,
                                      gateway.ensure_organisation_plan(), "crashed",
                                      {"organisation_id": str(org.id)})

    response = deliver(client, subscription_event("evt_created", "customer.subscription.created", sub.id))

    assert response.status_code == 200
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert (org.subscription_id, org.subscription_status) == (sub.id, "active")


def test_events_for_unknown_or_malformed_subscriptions_change_nothing(app, client):
    owner, org = subscribed_org()
    unknown = deliver(client, subscription_event("evt_unknown_sub", "customer.subscription.updated", "sub_nothere"))
    malformed = deliver(client, subscription_event("evt_bad_sub", "customer.subscription.updated", "pi_123"))
    no_sub_invoice = deliver(client, {"id": "evt_inv", "type": "invoice.paid",
                                      "data": {"object": {"id": "in_1", "object": "invoice"}}})

    assert unknown.status_code == 200 and unknown.get_json()["outcome"] == "handled"
    assert malformed.status_code == 400
    assert no_sub_invoice.status_code == 200
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).subscription_status == "active"


def test_the_worker_recheck_reads_stale_subscriptions_only(app, clock, fake_stripe):
    owner, stale = subscribed_org()
    other_owner = make_user(card="pm_card_visa")
    _, fresh = make_org(owner=other_owner, verified=True, name="Fresh Corp")
    organisations().subscribe(other_owner)
    db.session.expire_all()
    fresh = db.session.get(Organisation, fresh.id)
    for org in (stale, fresh):
        fake_stripe_call(fake_stripe, "DELETE", f"/v1/subscriptions/{org.subscription_id}")
    clock.advance((RECHECK_AFTER - timedelta(minutes=1)).total_seconds())
    set_state(stale.id, subscription_checked_at=clock.now() - RECHECK_AFTER - timedelta(minutes=1))

    changed = organisations().refresh_due()

    assert changed == 1
    db.session.expire_all()
    assert db.session.get(Organisation, stale.id).subscription_status == "canceled"
    assert db.session.get(Organisation, fresh.id).subscription_status == "active"
    clock.advance(minutes=2)
    assert organisations().refresh_due() == 1
    db.session.expire_all()
    assert db.session.get(Organisation, fresh.id).subscription_status == "canceled"
    assert organisations().refresh_due() == 0  # cancelled ones are not read again


def test_the_worker_recheck_reads_a_subscription_past_its_period_end(app, clock, fake_stripe):
    owner, org = subscribed_org()
    set_state(org.id, subscription_status=SubscriptionStatus.ACTIVE.value,
              current_period_end=clock.now() - timedelta(minutes=5), subscription_checked_at=clock.now())
    assert standing_problem(db.session, owner, clock.now()) is not None

    assert organisations().refresh_due() == 0  # still active at Stripe: the period end moves on

    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.current_period_end > clock.now()
    assert standing_problem(db.session, db.session.get(User, owner.id), clock.now()) is None


def test_the_worker_pass_rechecks_subscriptions_with_the_card_holds(app, clock, fake_stripe):
    from marketplace.worker import Worker

    owner, org = subscribed_org()
    fake_stripe_call(fake_stripe, "DELETE", f"/v1/subscriptions/{org.subscription_id}")
    clock.advance((RECHECK_AFTER + timedelta(minutes=1)).total_seconds())

    Worker(app)._reconcile()

    db.session.expire_all()
    assert db.session.get(Organisation, org.id).subscription_status == "canceled"


def test_the_organisation_link_is_in_the_navigation(app, client):
    login(client, make_user())
    assert 'data-testid="nav-organisation"' in client.get("/").get_data(as_text=True)
    client = app.test_client()
    login(client, make_user(admin=True))
    assert 'data-testid="admin-organisations-link"' in client.get("/admin/").get_data(as_text=True)


def test_times_written_are_utc_aware(app, clock):
    owner, org = subscribed_org()
    assert org.current_period_end.tzinfo is not None
    assert org.current_period_end.astimezone(UTC) > datetime(2026, 6, 1, tzinfo=UTC)
