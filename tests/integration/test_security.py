"""Security at the edge: headers and CSP, rate limits, sign-in slowdown, production cookies, sockets."""
from __future__ import annotations

import logging
import re
import time
from urllib.parse import urlsplit

import pytest

from marketplace.config import check_production
from marketplace.security import RedactSecrets
from marketplace.wiring import bidding
from tests.factories import PASSWORD, csrf_token, login, make_auction, make_user
from tests.support import make_app
from tests.support import socket_client as socket_for

STRIPE_BASE = "http://127.0.0.1:8420"


@pytest.fixture
def app_config():
    """Rate limits on, small enough to reach in a test; a development Stripe base for the CSP."""
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_SIGNIN": "3/minute", "RATELIMIT_REGISTER": "2/minute",
            "RATELIMIT_BID": "3/minute", "RATELIMIT_INQUIRY": "2/minute", "STRIPE_API_BASE": STRIPE_BASE, "STRIPE_SECRET_KEY": "sk_test_unused",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_unused"}


def csp(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def allowed(policy: dict, directive: str, url: str, page_origin: str = "http://localhost") -> bool:
    """Whether `url` (absolute or relative) may load under `directive` (falling back to default-src)."""
    sources = policy.get(directive, policy.get("default-src", []))
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else page_origin
    return ("'self'" in sources and origin == page_origin) or origin in sources


# Headers and the content security policy ------------------------------------------------------

def test_pages_and_api_answers_carry_the_security_headers(client, app):
    for path in ("/", "/login", "/api/v1/lots", "/api/v1/lots/999999", "/static/css/app.css"):
        response = client.get(path)
        response.close()  # the static file's handle
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        policy = csp(response)
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["script-src"] == ["'self'", STRIPE_BASE], path
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], path
        assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"], path
        assert policy["connect-src"][:2] == ["'self'", "ws://localhost"], path
        # HSTS and the HTTPS redirect are for production only (make run serves plain HTTP).
        assert "Strict-Transport-Security" not in response.headers, path
        assert response.status_code != 302, path


def test_every_page_loads_only_what_its_policy_allows_and_runs_nothing_inline(client, app):
    user = make_user()
    lot = make_auction(start_cents=100_000)
    login(client, user)
    for path in ("/", f"/lots/{lot.id}", "/me/bids", "/account/card"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        policy = csp(response)
        scripts = re.findall(r"<script\b([^>]*)>", html)
        assert scripts, path
        for attrs in scripts:
            src = re.search(r'src="([^"]+)"', attrs)
            assert src, f"inline <script> on {path}: {attrs}"
            assert allowed(policy, "script-src", src.group(1)), (path, src.group(1))
        for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
            assert allowed(policy, "style-src", href), (path, href)
        assert not re.search(r"\son[a-z]+\s*=", html), f"an on*= handler on {path}"
        assert not re.search(r"\sstyle\s*=", html), f"a style attribute on {path}"
        assert "javascript:" not in html, path
    # The card page loads Stripe.js from the configured origin, which it also calls back to.
    card_policy = csp(client.get("/account/card"))
    assert allowed(card_policy, "script-src", f"{STRIPE_BASE}/js.stripe.com/v3/")
    assert allowed(card_policy, "connect-src", f"{STRIPE_BASE}/v1/setup_intents/x/confirm")


def test_production_policy_names_stripe_and_not_a_development_server(backend, sqlite_url):
    application = make_app(sqlite_url, STRIPE_API_BASE=None)
    response = application.test_client().get("/login")
    policy = csp(response)
    assert "https://js.stripe.com" in policy["script-src"]
    assert "https://api.stripe.com" in policy["connect-src"]
    assert "https://hooks.stripe.com" in policy["frame-src"]


# Rate limits ------------------------------------------------------------------------------------

def assert_rate_limited_json(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    body = response.get_json()["error"]
    assert body["code"] == "rate_limited"
    assert "Wait" in body["message"] and "try again" in body["message"]


def test_sign_in_page_answers_429_with_a_form_error_after_the_limit(client, app):
    user = make_user()
    for _ in range(3):
        assert client.post("/login", data={"email": user.email, "password": "wrong-password"}).status_code == 400
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    html = response.get_data(as_text=True)
    assert "Too many attempts. Wait" in html and 'data-testid="login-form"' in html
    assert client.get("/login").status_code == 200  # showing the form is never limited


def test_api_sign_in_answers_429_rate_limited_after_the_limit(client, app):
    user = make_user()
    for _ in range(3):
        client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong-password"})
    assert_rate_limited_json(client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}))


def test_registration_answers_429_after_the_limit(client, app):
    for i in range(2):
        response = client.post("/api/v1/users", json={"email": f"new{i}@example.com", "password": "long-password-1",
                                                      "display_name": f"New {i}"})
        assert response.status_code == 201
    assert_rate_limited_json(client.post("/api/v1/users", json={
        "email": "new9@example.com", "password": "long-password-1", "display_name": "New 9"}))
    page = client.post("/register", data={"email": "page@example.com", "display_name": "Page",
                                          "password": "long-password-1", "confirm": "long-password-1"})
    assert page.status_code == 429 and "Too many attempts" in page.get_data(as_text=True)
    assert page.headers["Retry-After"]


def test_bids_share_one_limit_across_api_form_and_socket(client, app):
    lot = make_auction(start_cents=100_000)
    bidder = make_user()
    login(client, bidder)
    csrf = {"X-CSRFToken": csrf_token(client)}
    for amount in (110_000, 120_000):
        assert client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": amount},
                           headers=csrf).status_code == 201
    form = client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "130000", "key": "form-1"})
    assert form.status_code == 302  # the third bid, through the no-JavaScript form
    assert_rate_limited_json(client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 140_000},
                                         headers=csrf))
    page = client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "150000", "key": "form-2"})
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "Too many attempts" in page.get_data(as_text=True)
    sock = socket_for(app, client)
    try:
        ack = sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 160_000, "key": "sock-1"}, callback=True)
        errors = [e["args"][0] for e in sock.get_received() if e["name"] == "error"]
    finally:
        sock.disconnect()
    assert ack["error"]["code"] == "rate_limited" and ack["error"]["retry_after_seconds"] >= 1
    assert errors and errors[0]["code"] == "rate_limited" and "Wait" in errors[0]["message"]
    assert bidding().history(lot.id)["total"] == 3
    # Another bidder has their own allowance.
    other = app.test_client()
    login(other, make_user())
    assert other.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 200_000},
                      headers={"X-CSRFToken": csrf_token(other)}).status_code == 201


def test_inquiries_share_one_limit_across_api_and_form(client, app):
    from datetime import timedelta

    from marketplace.extensions import db
    from marketplace.models import Inquiry, Organisation, SubscriptionStatus, User
    from marketplace.wiring import clock

    user = make_user()
    now = clock().now()
    org = Organisation(name="Acme", owner_id=user.id, created_at=now, verified_at=now,
                       subscription_status=SubscriptionStatus.ACTIVE, current_period_end=now + timedelta(days=30))
    db.session.add(org)
    db.session.flush()
    db.session.get(User, user.id).organisation_id = org.id
    db.session.commit()
    login(client, user)
    csrf = {"X-CSRFToken": csrf_token(client)}
    for name in ("first", "second"):
        made = client.post("/api/v1/inquiries", json={"handles": name, "reason": "Launch."}, headers=csrf)
        assert made.status_code == 201, made.get_json()
    assert_rate_limited_json(client.post("/api/v1/inquiries", json={"handles": "third", "reason": "Launch."},
                                         headers=csrf))
    page = client.post("/inquiries/new", data={"handles": "fourth", "reason": "Launch."})
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert db.session.query(Inquiry).count() == 2


def test_socket_bids_are_limited_like_http_bids(client, app):
    lot = make_auction(start_cents=100_000)
    login(client, make_user())
    sock = socket_for(app, client)
    try:
        acks = [sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 110_000 + i * 10_000, "key": f"s{i}"},
                          callback=True) for i in range(4)]
    finally:
        sock.disconnect()
    assert [a.get("ok") for a in acks[:3]] == [True, True, True], acks
    assert acks[3]["error"]["code"] == "rate_limited"


def test_limits_can_be_switched_off(client, app):
    app.config["RATELIMIT_ENABLED"] = False
    from marketplace.extensions import limiter

    limiter.enabled = False  # what RATELIMIT_ENABLED=False at start-up does
    try:
        user = make_user()
        for _ in range(6):
            response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
            assert response.status_code == 201
    finally:
        limiter.enabled = True


# Failed sign-ins slow down ----------------------------------------------------------------------

@pytest.fixture
def generous_limits(app):
    """Limits out of the way, so only the failed sign-in slowdown acts."""
    app.config.update(RATELIMIT_SIGNIN="1000/minute", SIGNIN_DELAY_BASE_SECONDS=1)


def test_repeated_failed_sign_ins_slow_down_and_are_logged_without_the_password(client, app, generous_limits,
                                                                                 caplog):
    user = make_user()
    caplog.set_level(logging.WARNING, logger="marketplace.security")
    for _ in range(4):
        assert client.post("/api/v1/tokens", json={"email": user.email, "password": "guess-Secret-42"}).status_code == 401
    # The fifth failure makes the next try wait, even with the right password.
    assert client.post("/api/v1/tokens", json={"email": user.email, "password": "guess-Secret-42"}).status_code == 401
    refused = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert_rate_limited_json(refused)
    assert refused.headers["Retry-After"] == "1"
    page = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert page.status_code == 429 and "Too many attempts" in page.get_data(as_text=True)
    # The wait doubles with each further failure.
    time.sleep(1.1)
    assert client.post("/api/v1/tokens", json={"email": user.email, "password": "guess-Secret-42"}).status_code == 401
    assert client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}).headers["Retry-After"] == "2"
    lines = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert len(lines) == 6
    assert "6 for the account" in lines[-1] and "next try waits 2s" in lines[-1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "guess-Secret-42" not in logged and PASSWORD not in logged
    assert user.email not in logged and user.email.split("@")[0] not in logged


def test_slowdown_looks_the_same_for_an_unknown_email(client, app, generous_limits):
    known, unknown = make_user().email, "nobody-here@example.com"
    answers = {}
    for email in (known, unknown):
        for _ in range(5):
            client.post("/api/v1/tokens", json={"email": email, "password": "wrong-password"})
        answers[email] = client.post("/api/v1/tokens", json={"email": email, "password": "wrong-password"})
    assert answers[known].status_code == answers[unknown].status_code == 429
    assert answers[known].get_json() == answers[unknown].get_json()


def test_failures_across_accounts_slow_down_the_address(client, app, generous_limits):
    app.config["SIGNIN_FREE_FAILURES_PER_IP"] = 3
    victims = [make_user() for _ in range(3)]
    for victim in victims:
        assert client.post("/api/v1/tokens", json={"email": victim.email, "password": "wrong"}).status_code == 401
    fresh = make_user()
    assert_rate_limited_json(client.post("/api/v1/tokens", json={"email": fresh.email, "password": PASSWORD}))
    # Another address is not slowed down.
    other = client.post("/api/v1/tokens", json={"email": fresh.email, "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 201


def test_a_right_password_clears_the_account_count(client, app, generous_limits):
    user = make_user()
    for _ in range(4):
        client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong"})
    assert client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 201
    for _ in range(4):
        assert client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong"}).status_code == 401
    assert client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 201


# Secrets never logged ---------------------------------------------------------------------------

@pytest.mark.parametrize("secret, kept", [
    ("sk_live_51Habcdefghijklmnop", "sk_live_"),
    ("whsec_abcdefghijklmnop", "whsec_"),
    ("pi_3Nabc123_secret_XYZxyz0987654321", "pi_3Nabc123_secret_"),
    ("Bearer hx_" + "a" * 43, "Bearer "),
    ("hx_" + "b" * 43, "hx_"),
])
def test_log_lines_with_secrets_are_masked(secret, kept):
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "call failed: %s (retrying)", (secret,), None)
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert secret not in message and kept + "[redacted]" in message and message.endswith("(retrying)")


# Production settings ----------------------------------------------------------------------------

PRODUCTION = {"ENV_NAME": "production", "TESTING": False, "SECRET_KEY": "a-real-secret-" + "x" * 32,
              "SQLALCHEMY_DATABASE_URI": "postgresql://nobody@127.0.0.1:9/unused",
              "STRIPE_SECRET_KEY": "sk_test_unused", "STRIPE_API_BASE": None,
              "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": True}


@pytest.fixture
def production_app():
    return make_app(PRODUCTION["SQLALCHEMY_DATABASE_URI"], **PRODUCTION)


def test_production_cookies_are_secure_httponly_and_samesite(production_app):
    config = production_app.config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax" and config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    response = production_app.test_client().get("/login", base_url="https://handles.example")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_sends_hsts_and_redirects_plain_http(production_app):
    client = production_app.test_client()
    secure = client.get("/login", base_url="https://handles.example")
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert csp(secure)["connect-src"][:2] == ["'self'", "wss://handles.example"]
    plain = client.get("/login", base_url="http://handles.example")
    assert plain.status_code == 302 and plain.headers["Location"].startswith("https://handles.example/login")
    # Health checks come over plain HTTP from inside the deployment (here the database is absent: 503).
    assert client.get("/healthz", base_url="http://10.0.0.5:8000").status_code in (200, 503)


def test_development_sets_no_secure_cookie_and_no_hsts(backend, sqlite_url):
    application = make_app(sqlite_url, TESTING=False)
    response = application.test_client().get("/login")
    assert response.status_code == 200 and "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_production_refuses_to_start_without_shared_rate_limit_storage():
    config = {**PRODUCTION, "RATELIMIT_STORAGE_URI": None}
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        check_production(config)
    check_production({**config, "REDIS_URL": "redis://127.0.0.1:6379/0"})


# Sockets: same origin, signed in ----------------------------------------------------------------

def test_socket_handshake_from_a_foreign_origin_is_refused(client, app):
    foreign = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400
    own = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://localhost"})
    assert own.status_code == 200


def test_signed_in_socket_from_a_foreign_origin_is_not_connected(client, app):
    login(client, make_user())
    sock = socket_for(app, client, headers={"Origin": "https://evil.example"})
    assert not sock.is_connected()
    same = socket_for(app, client, headers={"Origin": "http://localhost"})
    try:
        assert same.is_connected()
    finally:
        same.disconnect()


def test_anonymous_socket_bid_gets_an_error_event_and_changes_nothing(app):
    lot = make_auction()
    sock = socket_for(app)
    try:
        sock.get_received()
        sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 200_000, "key": "anon"})
        errors = [e["args"][0] for e in sock.get_received() if e["name"] == "error"]
    finally:
        sock.disconnect()
    assert errors == [{"code": "not_signed_in", "message": "Sign in to bid."}]
    assert bidding().history(lot.id)["total"] == 0


@pytest.mark.redis
def test_limits_are_counted_in_redis_in_the_production_shape(sqlite_url):
    import random

    from tests.support import REDIS_URL, need, redis_problem

    need("Redis", redis_problem())
    # Two apps on one Redis (like two server processes) share one allowance per address; each
    # app's start-up makes a new storage object, so only Redis can carry the count across.
    config = {"RATELIMIT_ENABLED": True, "REDIS_URL": None, "RATELIMIT_STORAGE_URI": REDIS_URL,
              "RATELIMIT_REGISTER": "1/minute"}
    first, second = make_app(sqlite_url, **config), make_app(sqlite_url, **config)
    from marketplace.extensions import limiter

    assert type(limiter.storage).__name__ == "RedisStorage"
    address = {"REMOTE_ADDR": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"}
    body = {"email": "x@example.com", "display_name": "X", "password": "short", "confirm": "short"}
    assert first.test_client().post("/register", data=body, environ_base=address).status_code == 400  # counted
    assert second.test_client().post("/register", data=body, environ_base=address).status_code == 429
