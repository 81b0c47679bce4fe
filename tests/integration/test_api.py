"""The JSON API v1: shapes, auth, errors, pagination, admin endpoints."""
from datetime import timedelta

import pytest

from tests.factories import PASSWORD, login, make_auction, make_user, released_handle


def token_for(client, user) -> dict:
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_register_then_token_then_me(client):
    created = client.post("/api/v1/users", json={"email": "New@Example.com", "password": "long-enough-pw",
                                                 "display_name": "New"})
    assert created.status_code == 201
    assert created.get_json()["email"] == "new@example.com"
    token = client.post("/api/v1/tokens", json={"email": "new@example.com", "password": "long-enough-pw"})
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert me.status_code == 200
    body = me.get_json()
    assert body["roles"] == ["buyer"] and body["has_payment_method"] is False and body["verified"] is False


def test_duplicate_email_is_409(client):
    data = {"email": "x@example.com", "password": "long-enough-pw", "display_name": "X"}
    assert client.post("/api/v1/users", json=data).status_code == 201
    again = client.post("/api/v1/users", json=data)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize("body", [None, [], "text", {"email": "bad", "password": "long-enough-pw",
                                                     "display_name": "X"},
                                  {"email": "a@example.com", "password": "short", "display_name": "X"}])
def test_bad_registration_is_400_with_message(client, body):
    response = client.post("/api/v1/users", json=body) if body is not None else client.post(
        "/api/v1/users", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]


def test_wrong_password_is_401(client, app):
    user = make_user()
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong-password"})
    assert response.status_code == 401


def test_me_without_auth_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_signed_in"


def test_bid_through_api_and_history(client, app):
    lot = make_auction(start_cents=100_000)
    headers = token_for(client, make_user())
    placed = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 120_000}, headers=headers)
    assert placed.status_code == 201
    body = placed.get_json()
    assert body["leading"] is True and body["your_max_cents"] == 120_000
    assert body["lot"]["min_next_bid_cents"] == 110_000
    history = client.get(f"/api/v1/lots/{lot.id}/bids").get_json()
    assert history["total"] == 1 and history["items"][0]["amount_cents"] == 100_000
    assert "max_cents" not in history["items"][0]


def test_bid_retry_with_idempotency_header_counts_once(client, app):
    lot = make_auction(start_cents=100_000)
    headers = {**token_for(client, make_user()), "Idempotency-Key": "retry-1"}
    first = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 120_000}, headers=headers)
    second = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 120_000}, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["bid_count"] == 1


@pytest.mark.parametrize("payload,status", [({"max_amount_cents": 1.5}, 400), ({"max_amount_cents": "9"}, 400),
                                            ({}, 400), ({"max_amount_cents": 50}, 409)])
def test_bad_bids_get_clear_errors(client, app, payload, status):
    lot = make_auction(start_cents=100_000)
    response = client.post(f"/api/v1/lots/{lot.id}/bids", json=payload, headers=token_for(client, make_user()))
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_bid_on_unknown_lot_is_404(client, app):
    response = client.post("/api/v1/lots/424242/bids", json={"max_amount_cents": 100_000},
                           headers=token_for(client, make_user()))
    assert response.status_code == 404


def test_unauthenticated_bid_is_401(client, app):
    lot = make_auction()
    assert client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 200_000}).status_code == 401


def test_lots_list_filters_sorts_and_paginates(client, app, clock):
    admin = make_user(admin=True)
    for minutes in (30, 10, 20):
        make_auction(admin=admin, minutes=minutes)
    page = client.get("/api/v1/lots?status=live&sort=ending_soon&per_page=2").get_json()
    assert page["total"] == 3 and page["per_page"] == 2 and len(page["items"]) == 2
    ends = [item["ends_at"] for item in page["items"]]
    assert ends == sorted(ends)
    assert client.get("/api/v1/lots?status=bogus").status_code == 400
    assert client.get("/api/v1/lots?per_page=1000").status_code == 400
    assert client.get("/api/v1/lots?kind=fixed").get_json()["total"] == 0


def test_search_by_handle_is_case_insensitive(client, app):
    make_auction(handle=released_handle("CryptoKing").display)
    make_auction()
    found = client.get("/api/v1/lots?q=cryptok").get_json()
    assert [i["handle"] for i in found["items"]] == ["CryptoKing"]


def test_admin_creates_lot_and_sets_reserve(client, app):
    admin = make_user(admin=True)
    released_handle("rocket")
    headers = token_for(client, admin)
    created = client.post("/api/v1/admin/lots", headers=headers, json={
        "handle": "@Rocket", "kind": "auction", "start_price_cents": 1_000_000, "reserve_cents": 2_500_000})
    assert created.status_code == 201, created.get_json()
    lot = created.get_json()
    assert lot["reserve_cents"] == 2_500_000 and lot["reserve_met"] is False
    public = client.get(f"/api/v1/lots/{lot['id']}").get_json()
    assert "reserve_cents" not in public and public["reserve_met"] is False
    patched = client.patch(f"/api/v1/admin/lots/{lot['id']}", headers=headers, json={"reserve_cents": 1_200_000})
    assert patched.status_code == 200 and patched.get_json()["reserve_cents"] == 1_200_000


def test_admin_create_is_idempotent_with_key(client, app):
    admin = make_user(admin=True)
    released_handle("comet")
    headers = {**token_for(client, admin), "Idempotency-Key": "create-comet"}
    body = {"handle": "comet", "kind": "fixed", "price_cents": 5_000_000}
    first = client.post("/api/v1/admin/lots", headers=headers, json=body)
    second = client.post("/api/v1/admin/lots", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]


def test_non_admin_cannot_create_lots(client, app):
    released_handle("nope")
    response = client.post("/api/v1/admin/lots", headers=token_for(client, make_user()),
                           json={"handle": "nope", "kind": "fixed"})
    assert response.status_code == 403


@pytest.mark.parametrize("body,code", [
    ({"handle": "has space", "kind": "fixed"}, "invalid_handle"),
    ({"handle": "ｆｕｌｌwidth", "kind": "fixed"}, "invalid_handle"),
    ({"handle": "zero\u200bwidth", "kind": "fixed"}, "invalid_handle"),
    ({"handle": "sixteen_chars_xx", "kind": "fixed"}, "invalid_handle"),
    ({"handle": "ghost", "kind": "fixed"}, "unknown_handle"),
    ({"handle": "free1", "kind": "auction"}, "missing_field"),
    ({"handle": "free1", "kind": "auction", "start_price_cents": 100, "ends_at": "yesterday"}, "invalid_time"),
    ({"handle": "free1", "kind": "dutch", "start_price_cents": 100, "floor_price_cents": 200}, "invalid_floor"),
    ({"handle": "free1", "kind": "lottery"}, "invalid_field"),
])
def test_admin_create_refuses_bad_input(client, app, body, code):
    released_handle("free1")
    response = client.post("/api/v1/admin/lots", headers=token_for(client, make_user(admin=True)), json=body)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["code"] == code


def test_protected_handle_is_for_organisations_only(client, app):
    released_handle("brand", protected=True)
    headers = token_for(client, make_user(admin=True))
    open_lot = client.post("/api/v1/admin/lots", headers=headers, json={"handle": "brand", "kind": "fixed"})
    assert open_lot.status_code == 422
    org_lot = client.post("/api/v1/admin/lots", headers=headers,
                          json={"handle": "brand", "kind": "fixed", "eligibility": "organisations"})
    assert org_lot.status_code == 201


def test_handle_cannot_be_listed_twice(client, app):
    released_handle("twice")
    headers = token_for(client, make_user(admin=True))
    assert client.post("/api/v1/admin/lots", headers=headers, json={"handle": "twice", "kind": "fixed"}).status_code == 201
    again = client.post("/api/v1/admin/lots", headers=headers, json={"handle": "TWICE", "kind": "fixed"})
    assert again.status_code == 409


def test_reserve_cannot_change_after_end(client, app, clock):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, minutes=5)
    clock.advance(minutes=6)
    response = client.patch(f"/api/v1/admin/lots/{lot.id}", headers=token_for(client, admin),
                            json={"reserve_cents": 1})
    assert response.status_code == 409


def test_my_bids_lists_my_lots(client, app):
    lot = make_auction(start_cents=100_000)
    user = make_user()
    headers = token_for(client, user)
    client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 150_000}, headers=headers)
    mine = client.get("/api/v1/me/bids", headers=headers).get_json()
    assert mine["total"] == 1
    assert mine["items"][0]["your_max_cents"] == 150_000 and mine["items"][0]["leading"] is True


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_simultaneous_registrations_of_one_email_give_one_account(app):
    import threading

    from marketplace.errors import Conflict
    from marketplace.wiring import accounts

    outcomes = []
    barrier = threading.Barrier(4)

    def register():
        with app.app_context():
            barrier.wait()
            try:
                accounts().register("race@example.com", "long-enough-pw", "Racer")
                outcomes.append("created")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
