"""Admins decide a buyer's standing: verify them (so verified-only lots take their bids), take it
away, clear strikes for unpaid wins. Each needs a reason, is audited, and the buyer is told."""
from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, EmailMessage, Notification, User
from marketplace.wiring import bidding, buyer_standing
from tests.factories import login, make_auction, make_user
from tests.integration.test_api import token_for


def fresh(user) -> User:
    """The account as the database has it now."""
    db.session.expire_all()
    return db.session.get(User, user.id)


def entries(action: str) -> list[AuditEntry]:
    """Audit entries of one action, oldest first."""
    db.session.expire_all()
    return db.session.query(AuditEntry).filter_by(action=action).order_by(AuditEntry.id).all()


def struck(strikes: int = 3, **kwargs) -> User:
    """A buyer with unpaid wins (settlement gives the strikes; here they are set directly)."""
    user = make_user(**kwargs)
    user.strikes = strikes
    db.session.commit()
    return user


def api(client, admin, path, body):
    """POST an admin endpoint with a bearer token."""
    return client.post(f"/api/v1/admin/users/{path}", json=body, headers=token_for(client, admin))


# ---- verification --------------------------------------------------------------------------

def test_a_verified_buyer_may_bid_on_a_verified_only_lot(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, eligibility="verified")
    buyer = make_user(name="Vera")
    with pytest.raises(Exception) as refused:
        bidding().place(buyer, lot.id, 150_000)
    assert refused.value.code == "not_eligible"
    response = api(client, admin, f"{buyer.id}/verification", {"verified": True, "reason": "ID checked"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["verified"] is True and response.get_json()["email"] == buyer.email
    assert bidding().place(fresh(buyer), lot.id, 150_000).leading
    [entry] = entries("user.verify")
    assert entry.target == f"user:{buyer.id}" and entry.actor_id == admin.id
    assert entry.details == {"email": buyer.email, "verified": {"old": False, "new": True}, "reason": "ID checked"}
    [notice] = db.session.query(Notification).filter_by(user_id=buyer.id, kind="buyer_verified").all()
    assert notice.payload["reason"] == "ID checked"
    [mail] = db.session.query(EmailMessage).filter_by(user_id=buyer.id, kind="buyer_verified").all()
    assert "verified" in mail.subject and "Hello Vera," in mail.body_text and "/lots" in mail.body_text


def test_taking_verification_away_is_audited_and_told(app, client):
    admin = make_user(admin=True)
    buyer = make_user()
    buyer_standing().set_verified(admin, buyer.id, True, "ID checked")
    response = api(client, admin, f"{buyer.id}/verification", {"verified": False, "reason": "Forged ID"})
    assert response.status_code == 200 and response.get_json()["verified"] is False
    assert not fresh(buyer).verified
    [entry] = entries("user.unverify")
    assert entry.details["verified"] == {"old": True, "new": False} and entry.details["reason"] == "Forged ID"
    [mail] = db.session.query(EmailMessage).filter_by(user_id=buyer.id, kind="buyer_unverified").all()
    assert "Forged ID" in mail.body_text


@pytest.mark.parametrize("body,status,code", [
    ({"verified": True}, 400, "reason_required"),
    ({"verified": True, "reason": " "}, 400, "reason_required"),
    ({"verified": True, "reason": "x" * 501}, 400, "reason_too_long"),
    ({"verified": "yes", "reason": "why"}, 400, "invalid_field"),
    ({"reason": "why"}, 400, "invalid_field"),
    ({"verified": False, "reason": "why"}, 409, "not_verified"),
])
def test_bad_verification_requests_are_refused_and_change_nothing(app, client, body, status, code):
    admin = make_user(admin=True)
    buyer = make_user()
    response = api(client, admin, f"{buyer.id}/verification", body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert not fresh(buyer).verified and db.session.query(AuditEntry).count() == 0


def test_verifying_twice_is_a_conflict(app, client):
    admin = make_user(admin=True)
    buyer = make_user()
    buyer_standing().set_verified(admin, buyer.id, True, "ID checked")
    again = api(client, admin, f"{buyer.id}/verification", {"verified": True, "reason": "again"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_verified"
    assert len(entries("user.verify")) == 1


# ---- strikes -------------------------------------------------------------------------------

def test_clearing_a_strike_lets_a_suspended_buyer_bid_again(app, client):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin)
    buyer = struck(3, name="Sam")
    with pytest.raises(Exception) as refused:
        bidding().place(buyer, lot.id, 150_000)
    assert refused.value.code == "buyer_suspended"
    response = api(client, admin, f"{buyer.id}/strikes/clear", {"reason": "Paid late by bank transfer"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["strikes"] == 2 and response.get_json()["suspended"] is False
    assert bidding().place(fresh(buyer), lot.id, 150_000).leading
    [entry] = entries("user.clear_strikes")
    assert entry.details == {"email": buyer.email, "strikes": {"old": 3, "new": 2},
                             "reason": "Paid late by bank transfer"}
    [mail] = db.session.query(EmailMessage).filter_by(user_id=buyer.id, kind="strikes_cleared").all()
    assert "1 strike was cleared" in mail.subject and "2 strikes left" in mail.body_text
    assert "You may bid and buy again." in mail.body_text and "Paid late by bank transfer" in mail.body_text


def test_clearing_all_strikes(app, client):
    admin = make_user(admin=True)
    buyer = struck(3)
    response = api(client, admin, f"{buyer.id}/strikes/clear", {"reason": "Card fraud, not theirs", "all": True})
    assert response.status_code == 200 and response.get_json()["strikes"] == 0
    [notice] = db.session.query(Notification).filter_by(user_id=buyer.id, kind="strikes_cleared").all()
    assert notice.payload["cleared"] == 3 and notice.payload["strikes"] == 0


@pytest.mark.parametrize("body,strikes,status,code", [
    ({"reason": "why"}, 0, 409, "no_strikes"),
    ({}, 2, 400, "reason_required"),
    ({"reason": "why", "all": "yes"}, 2, 400, "invalid_field"),
    ({"reason": "why", "all": None}, 2, 400, "invalid_field"),
])
def test_bad_strike_requests_are_refused_and_change_nothing(app, client, body, strikes, status, code):
    admin = make_user(admin=True)
    buyer = struck(strikes)
    response = api(client, admin, f"{buyer.id}/strikes/clear", body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert fresh(buyer).strikes == strikes and db.session.query(AuditEntry).count() == 0


def test_standing_is_for_admins_only(app, client):
    buyer = struck(3)
    other = make_user()
    for path, body in ((f"{buyer.id}/verification", {"verified": True, "reason": "me"}),
                       (f"{buyer.id}/strikes/clear", {"reason": "me"})):
        assert client.post(f"/api/v1/admin/users/{path}", json=body).status_code == 401
        refused = api(client, other, path, body)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admins_only"
    assert client.get("/api/v1/admin/users", headers=token_for(client, other)).status_code == 403
    assert fresh(buyer).strikes == 3 and not fresh(buyer).verified


def test_unknown_accounts_are_404(app, client):
    admin = make_user(admin=True)
    assert api(client, admin, "99999/verification", {"verified": True, "reason": "x"}).status_code == 404
    assert api(client, admin, "99999/strikes/clear", {"reason": "x"}).status_code == 404


def test_admins_find_accounts_by_email_or_alias_and_standing(app, client):
    admin = make_user("root@example.com", admin=True)
    alice = make_user("alice.smith@example.com")
    bob = struck(1, email="bob@example.org")
    buyer_standing().set_verified(admin, alice.id, True, "ID checked")
    headers = token_for(client, admin)
    found = client.get("/api/v1/admin/users?q=ALICE", headers=headers).get_json()
    assert [u["email"] for u in found["items"]] == [alice.email] and found["total"] == 1
    assert found["items"][0]["verified"] is True and found["items"][0]["roles"] == ["buyer"]
    by_alias = client.get(f"/api/v1/admin/users?q={bob.alias.lower()}", headers=headers).get_json()
    assert [u["id"] for u in by_alias["items"]] == [bob.id]
    assert [u["id"] for u in client.get("/api/v1/admin/users?standing=strikes", headers=headers).get_json()["items"]] == [bob.id]
    assert client.get("/api/v1/admin/users?standing=verified", headers=headers).get_json()["total"] == 1
    paged = client.get("/api/v1/admin/users?per_page=2&page=2", headers=headers).get_json()
    assert paged["total"] == 3 and [u["id"] for u in paged["items"]] == [admin.id]  # newest first
    assert client.get("/api/v1/admin/users?standing=odd", headers=headers).status_code == 400
    assert client.get("/api/v1/admin/users?q=100%25", headers=headers).get_json()["total"] == 0


# ---- the users page ------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [("get", "/admin/users"), ("post", "/admin/users/{id}/verification"),
                                         ("post", "/admin/users/{id}/strikes/clear")])
def test_users_pages_are_admin_only(app, client, method, path):
    buyer = struck(3)
    url = path.format(id=buyer.id)
    assert getattr(client, method)(url).status_code == 302
    login(client, make_user())
    assert getattr(client, method)(url, data={"verified": "1", "reason": "me"}).status_code == 403
    assert fresh(buyer).strikes == 3 and not fresh(buyer).verified


def test_users_page_searches_and_shows_standing(app, client):
    admin = make_user("root@example.com", admin=True)
    alice = make_user("alice@example.com")
    bob = struck(3, email="bob@example.com")
    login(client, admin)
    html = client.get("/admin/users").get_data(as_text=True)
    assert html.count('data-testid="admin-user-row"') == 3 and 'data-testid="admin-users-link"' in html
    row = html.split(f'data-user-id="{bob.id}"')[1].split("</tr>")[0]
    assert 'data-strikes="3"' in row and "suspended" in row and 'data-testid="strike-form"' in row
    assert 'data-testid="clear-all-strikes"' in row and 'data-testid="verify-button"' in row
    alice_row = html.split(f'data-user-id="{alice.id}"')[1].split("</tr>")[0]
    assert 'data-testid="strike-form"' not in alice_row
    found = client.get("/admin/users?q=alice").get_data(as_text=True)
    assert found.count('data-testid="admin-user-row"') == 1 and "alice@example.com" in found
    assert 'data-testid="empty-state"' in client.get("/admin/users?q=nobody-here").get_data(as_text=True)
    assert client.get("/admin/users?standing=odd").status_code == 400
    assert client.get("/admin/users?page=zero").status_code == 400
    paged = client.get("/admin/users?per_page=2").get_data(as_text=True)
    assert 'data-testid="pagination"' in paged


def test_users_page_verifies_and_clears_strikes(app, client):
    admin = make_user(admin=True)
    buyer = struck(3, email="sam@example.com")
    login(client, admin)
    verified = client.post(f"/admin/users/{buyer.id}/verification?q=sam", data={"verified": "1", "reason": "ID checked"})
    assert verified.status_code == 302 and verified.headers["Location"].endswith("/admin/users?q=sam")
    assert fresh(buyer).verified
    page = client.get("/admin/users?q=sam").get_data(as_text=True)
    assert "sam@example.com is verified" in page and 'data-testid="unverify-button"' in page
    one = client.post(f"/admin/users/{buyer.id}/strikes/clear", data={"reason": "Paid late"})
    assert one.status_code == 302 and fresh(buyer).strikes == 2
    every = client.post(f"/admin/users/{buyer.id}/strikes/clear", data={"reason": "Fraud", "all": "y"},
                        follow_redirects=True)
    assert fresh(buyer).strikes == 0 and "0 strikes left" in every.get_data(as_text=True)
    none_left = client.post(f"/admin/users/{buyer.id}/strikes/clear", data={"reason": "again"}, follow_redirects=True)
    assert "no strikes to clear" in none_left.get_data(as_text=True)
    assert [e.action for e in entries("user.clear_strikes")] == ["user.clear_strikes"] * 2
    unverified = client.post(f"/admin/users/{buyer.id}/verification", data={"verified": "0", "reason": "Forged"})
    assert unverified.status_code == 302 and not fresh(buyer).verified


def test_users_page_needs_a_reason_and_shows_the_error_by_the_account(app, client):
    admin = make_user(admin=True)
    buyer = struck(2)
    login(client, admin)
    response = client.post(f"/admin/users/{buyer.id}/strikes/clear", data={"reason": "  "})
    assert response.status_code == 400
    row = response.get_data(as_text=True).split(f'data-user-id="{buyer.id}"')[1].split("</tr>")[0]
    assert 'id="strike-reason-' in row and 'data-testid="field-error"' in row
    bad = client.post(f"/admin/users/{buyer.id}/verification", data={"verified": "maybe", "reason": "x"})
    assert bad.status_code == 400
    assert fresh(buyer).strikes == 2 and db.session.query(AuditEntry).count() == 0
    assert client.post("/admin/users/99999/verification", data={"verified": "1", "reason": "x"}).status_code == 404


def test_users_forms_need_the_csrf_token(app, client):
    admin = make_user(admin=True)
    buyer = struck(2)
    login(client, admin)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/admin/users/{buyer.id}/verification", data={"verified": "1", "reason": "x"}).status_code == 400
    assert client.post(f"/admin/users/{buyer.id}/strikes/clear", data={"reason": "x"}).status_code == 400
    assert fresh(buyer).strikes == 2 and not fresh(buyer).verified


def test_the_buyers_notices_page_says_what_was_decided(app, client):
    from marketplace.wiring import voids

    admin = make_user(admin=True)
    lot = make_auction(admin=admin)
    buyer = struck(3)
    buyer_standing().clear_strikes(admin, buyer.id, "Paid late", clear_all=True)
    buyer_standing().set_verified(admin, buyer.id, True, "ID checked")
    bidding().place(fresh(buyer), lot.id, 150_000)
    voids().void(admin, lot.id, buyer.alias, "Shill bidding")
    buyer_standing().set_verified(admin, buyer.id, False, "Forged ID")
    login(client, buyer)
    html = client.get("/account/notifications").get_data(as_text=True)
    assert "An admin cleared 3 strikes from your account: Paid late" in html
    assert "Your account is verified" in html and "Your account is no longer verified: Forged ID" in html
    assert f"An admin voided your bid on @{lot.handle_display}: Shill bidding" in html
    assert 'href="/lots"' in html and "Browse the market" in html
