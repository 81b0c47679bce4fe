"""Refusals in the reader's language: engine rules and service errors, on the API, pages and sockets.

The `code` never changes with the language; the `message` follows the lang cookie, else
Accept-Language, else English, with its amounts and dates formatted the locale's way.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import force_locale

from auctions import RuleViolation, check_amount
from marketplace.errors import Conflict, NotFound, from_rule
from marketplace.i18n import LANG_COOKIE, usd
from tests.factories import PASSWORD, login, make_auction, make_user, released_handle
from tests.support import socket_client


def _token(client, user) -> dict:
    """Bearer headers for `user`."""
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _usd_in(app, lang: str, cents: int) -> str:
    """`cents` as the `lang` reader sees money."""
    with app.test_request_context(), force_locale(lang):
        return usd(cents)


def test_a_below_minimum_bid_through_the_api_is_refused_in_french_with_a_french_amount(client, app):
    lot = make_auction(start_cents=100_000)
    headers = {**_token(client, make_user()), "Accept-Language": "fr-FR,fr;q=0.9"}
    response = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 50_000}, headers=headers)
    error = response.get_json()["error"]
    assert response.status_code == 409 and error["code"] == "below_minimum"
    amount = _usd_in(app, "fr", 100_000)
    assert re.search(r"\d\D\d{3}", amount) and "$" in amount  # "1 000 $US": French grouping, not "$1,000"
    assert error["message"] == f"Votre maximum doit être d'au moins {amount}."


def test_the_same_refusal_in_english_keeps_the_code_and_english_money(client, app):
    lot = make_auction(start_cents=100_000)
    headers = _token(client, make_user())
    response = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 50_000}, headers=headers)
    error = response.get_json()["error"]
    assert error == {"code": "below_minimum", "message": "Your maximum must be at least $1,000.",
                     "details": {"minimum_cents": 100_000}}


def test_a_service_not_found_is_in_french(client, app):
    headers = {**_token(client, make_user()), "Accept-Language": "fr"}
    response = client.get("/api/v1/orders/987654", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "order_not_found", "message": "Cette commande n'existe pas."}


def test_a_service_conflict_names_the_handle_in_the_cookie_language(client, app):
    handle = released_handle()
    headers = _token(client, make_user())
    client.set_cookie(LANG_COOKIE, "fr")  # the cookie outranks Accept-Language
    response = client.post("/api/v1/backorders", json={"handle": handle.display},
                           headers={**headers, "Accept-Language": "en"})
    error = response.get_json()["error"]
    assert response.status_code == 409 and error["code"] == "handle_released"
    assert error["message"] == (f"@{handle.display} est déjà libéré ; seuls les handles pas encore libérés "
                                "peuvent être réservés.")


def test_a_refused_bid_on_the_page_is_flashed_in_arabic(client, app):
    lot = make_auction(start_cents=100_000)
    login(client, make_user())
    client.set_cookie(LANG_COOKIE, "ar")
    page = client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "50000", "key": "ar-1"},
                       follow_redirects=True).get_data(as_text=True)
    assert 'lang="ar"' in page
    assert f"يجب ألا يقل حدّك الأقصى عن {_usd_in(app, 'ar', 100_000)}." in page
    assert "Your maximum must be at least" not in page


def test_a_socket_error_event_is_in_french(client, app):
    lot = make_auction(start_cents=100_000)
    login(client, make_user())
    client.set_cookie(LANG_COOKIE, "fr")  # a signed-in reader's choice (the socket shares the cookies)
    sock = socket_client(app, client)
    try:
        ack = sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 50_000, "key": "fr-1"}, callback=True)
        errors = [e["args"][0] for e in sock.get_received() if e["name"] == "error"]
    finally:
        sock.disconnect()
    expected = f"Votre maximum doit être d'au moins {_usd_in(app, 'fr', 100_000)}."
    assert ack["error"]["code"] == "below_minimum" and ack["error"]["message"] == expected
    assert errors and errors[0]["code"] == "below_minimum" and errors[0]["message"] == expected


def test_a_socket_payload_refusal_is_in_french(app):
    sock = socket_client(app, headers={"Accept-Language": "fr"})
    try:
        ack = sock.emit("watch", {"lot_id": 987654}, callback=True)
    finally:
        sock.disconnect()
    assert ack["error"]["code"] == "lot_not_found" and ack["error"]["message"] == "Ce lot n'existe pas."


def _refusal() -> RuleViolation:
    """The engine refusing an amount above its ceiling."""
    try:
        check_amount(10**15)
    except RuleViolation as exc:
        return exc
    raise AssertionError("check_amount took an absurd amount")


def test_in_the_worker_refusals_are_english(app):
    """The worker has an app context but no request: English."""
    violation = _refusal()
    assert violation.params == {"max_cents": 100_000_000_00}
    assert violation.message == "The amount must be at most $100,000,000.00."  # the engine's own English
    error = from_rule(violation)
    assert (error.code, error.status, error.message) == ("invalid_amount", 400,
                                                         "The amount must be at most $100,000,000.")
    assert NotFound("lot_not_found", "There is no such lot.").message == "There is no such lot."


def test_outside_any_app_refusals_are_english_and_do_not_crash():
    """No app context at all (a script, a thread): English, dates included."""
    held = Conflict("handle_held", "@%(handle)s is held for its previous owner until %(until)s.",
                    handle="aurora", until=date(2026, 7, 1))
    assert held.message == str(held) == "@aurora is held for its previous owner until Jul 1, 2026."
    assert from_rule(_refusal()).message == "The amount must be at most $100,000,000."


def test_a_message_follows_the_language_of_whoever_reads_it(app):
    """An error made while serving one reader (a batch leader placing others' bids) reaches each
    bidder in their own language, with the same code."""
    # Each request has its own app context (the locale is kept on it), as when served.
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "ar"}):
        error = NotFound("lot_not_found", "There is no such lot.")
        assert error.message == "لا توجد قطعة كهذه."
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "fr"}):
        assert (error.code, error.message) == ("lot_not_found", "Ce lot n'existe pas.")


def test_a_refusal_carries_its_data_for_programs_whatever_the_language(app, client):
    """`details` beside the sentence: the minimum a below-minimum bid needed, in cents."""
    from marketplace.wiring import accounts
    lot = make_auction(start_cents=100_000)
    user = make_user()
    token = accounts().issue_token(user)
    for language in ("en", "fr"):
        refused = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 50_000},
                              headers={"Authorization": f"Bearer {token}", "Accept-Language": language})
        assert refused.status_code == 409
        assert refused.get_json()["error"]["code"] == "below_minimum"
        assert refused.get_json()["error"]["details"] == {"minimum_cents": 100_000}
