"""CSRF: cookie-authenticated writes need the token; bearer-token writes do not."""
import pytest

from tests.factories import PASSWORD, make_auction, make_user


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def sign_in_cookie(client, user):
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


def test_cookie_write_without_csrf_token_is_refused(client, app):
    lot = make_auction()
    sign_in_cookie(client, make_user())
    response = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 200_000})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["bid_count"] == 0


def test_cookie_write_with_csrf_header_is_accepted(client, app):
    lot = make_auction(start_cents=100_000)
    sign_in_cookie(client, make_user())
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 200_000},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_bearer_write_needs_no_csrf_token(client, app):
    lot = make_auction(start_cents=100_000)
    user = make_user()
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}).get_json()["token"]
    response = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 200_000},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201


def test_sign_in_form_without_csrf_token_is_refused(client, app):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400


def test_cookie_watch_without_csrf_token_is_refused(client, app):
    from marketplace.extensions import db
    from marketplace.models import Watch

    lot = make_auction()
    sign_in_cookie(client, make_user())
    response = client.put(f"/api/v1/lots/{lot.id}/watch")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
    assert client.post(f"/lots/{lot.id}/watch", data={"watch": "1"}).status_code == 400  # the form, too
    assert db.session.query(Watch).count() == 0
