"""Security at the edge: headers and content security policy, rate limits, sign-in slowdown.

- Flask-Talisman sets the headers on every page and API answer. Scripts come only from this
  site and the Stripe.js origin the app is configured with (localstripe in development and
  tests, js.stripe.com in production); nothing inline runs. HSTS and the HTTPS redirect are on in
  production only, so the embedded `make run` keeps working over plain HTTP.
- Flask-Limiter counts sign-ins, registrations and bids (HTTP API, the no-JavaScript form and
  the Socket.IO `bid` event share one bucket per bidder), in Redis in the production shape and
  in memory otherwise. A refusal is a 429 with Retry-After and a sentence saying when to retry.
- Failed sign-ins slow down per account and per address: after a few failures every further
  attempt waits, twice as long each time. The log line names the account by a keyed hash, never
  the email as typed and never the password.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import time
from urllib.parse import urlsplit

from flask import current_app, jsonify, render_template, request
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many

from .extensions import limiter

log = logging.getLogger(__name__)

STRIPE_PRODUCTION = {
    "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
    "img-src": ["https://*.stripe.com"],
}
BID_SCOPE = "bid"


def is_production(config) -> bool:
    """Whether this app runs with the production settings."""
    return config.get("ENV_NAME") == "production"


# Keys and limits -------------------------------------------------------------------------------

def client_ip() -> str:
    """The caller's address (behind a proxy, set MARKETPLACE_PROXY_HOPS so this is the client's)."""
    return get_remote_address() or "unknown"


def bidder_key() -> str:
    """Bids are counted per signed-in bidder (several bidders may share one address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{client_ip()}"


def _limit(name: str):
    """A limit string read from the config when the request is counted, so tests can change it."""
    return lambda: current_app.config[name]


def _post_only() -> bool:
    """Pages that show a form on GET count only their POSTs."""
    return request.method != "POST"


# Shared limits: the page and the API draw on one allowance per address.
signin_limit = limiter.shared_limit(_limit("RATELIMIT_SIGNIN"), scope="signin", key_func=client_ip,
                                    exempt_when=_post_only)
register_limit = limiter.shared_limit(_limit("RATELIMIT_REGISTER"), scope="register", key_func=client_ip,
                                      exempt_when=_post_only)
bid_limit = limiter.shared_limit(_limit("RATELIMIT_BID"), scope=BID_SCOPE, key_func=bidder_key)
# Inquiries: sending one and accepting a quote, per user (pages and API; MARKETPLACE_LIMIT_INQUIRY).
inquiry_limit = limiter.shared_limit(_limit("RATELIMIT_INQUIRY"), scope="inquiry", key_func=bidder_key)


def hit_bid_limit() -> int | None:
    """Count a bid outside an HTTP route (the Socket.IO `bid` event) in the same bucket.

    Returns None when the bid may go ahead, else the seconds to wait.
    """
    if not (limiter.enabled and limiter.initialized):
        return None
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    args = [prefix, bidder_key(), BID_SCOPE] if prefix else [bidder_key(), BID_SCOPE]
    strategy = limiter.limiter
    try:
        for item in sorted(parse_many(current_app.config["RATELIMIT_BID"])):
            if not strategy.hit(item, *args):
                reset = strategy.get_window_stats(item, *args).reset_time
                return max(1, math.ceil(reset - time.time()))
    except Exception as exc:  # noqa: BLE001 - limits storage down: bids must still go through
        log.warning("bid rate limit not counted: %s", exc.__class__.__name__)
    return None


def too_many_message(seconds: int) -> str:
    """The sentence every 429 carries."""
    return ngettext("Too many attempts. Wait %(num)s second and try again.",
                    "Too many attempts. Wait %(num)s seconds and try again.", seconds)


def _retry_after() -> int:
    """Seconds until the limit that refused this request lets it through again."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def too_many_response(seconds: int, form_page: tuple | None = None):
    """A 429: JSON for the API, the form with an error for sign-in pages, else the error page."""
    message = too_many_message(seconds)
    headers = {"Retry-After": str(seconds)}
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": {"code": "rate_limited", "message": message,
                                  "retry_after_seconds": seconds}}), 429, headers
    if form_page is not None:
        template, form = form_page
        form.password.errors = [message]
        return render_template(template, form=form), 429, headers
    return render_template("errors/error.html", code=429, message=message), 429, headers


def _form_page_for_endpoint():
    """The sign-in or registration form to show again when its POSTs are refused."""
    from .auth.forms import LoginForm, RegisterForm

    pages = {"auth.login": ("auth/login.html", LoginForm), "auth.register": ("auth/register.html", RegisterForm)}
    if request.endpoint in pages:
        template, form_class = pages[request.endpoint]
        return template, form_class()
    return None


# Failed sign-ins -------------------------------------------------------------------------------

def account_ref(email: object) -> str:
    """A keyed hash naming an account in logs and counters (the email itself is never written)."""
    normalised = email.strip().lower() if isinstance(email, str) else ""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, normalised.encode(), hashlib.sha256).hexdigest()[:16]


class SignInThrottle:
    """Counts failed sign-ins per account and per address; past a threshold each try waits longer.

    Counters live in the rate limiter's storage (Redis in production), so every process sees them.
    Refusals look the same whether or not the account exists.
    """

    def __init__(self, config):
        """Read the thresholds from the app's config."""
        self.free = {"account": config["SIGNIN_FREE_FAILURES_PER_ACCOUNT"],
                     "ip": config["SIGNIN_FREE_FAILURES_PER_IP"]}
        self.base = config["SIGNIN_DELAY_BASE_SECONDS"]
        self.cap = config["SIGNIN_DELAY_MAX_SECONDS"]
        self.window = config["SIGNIN_FAILURE_WINDOW_SECONDS"]

    @staticmethod
    def _keys(email: object) -> dict[str, str]:
        return {"account": f"signin/account/{account_ref(email)}", "ip": f"signin/ip/{client_ip()}"}

    @staticmethod
    def _storage():
        return limiter.storage if limiter.enabled and limiter.initialized else None

    def wait_seconds(self, email: object) -> int | None:
        """Seconds the caller must still wait before trying this account from this address, or None."""
        storage = self._storage()
        if storage is None:
            return None
        try:
            waits = [storage.get_expiry(key + "/wait") - time.time()
                     for key in self._keys(email).values() if storage.get(key + "/wait")]
        except Exception as exc:  # noqa: BLE001 - storage down: sign-in still works (limits fall back)
            log.warning("sign-in slowdown not checked: %s", exc.__class__.__name__)
            return None
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, email: object) -> None:
        """Count a failure; past the threshold, make the next try wait (and log it either way)."""
        storage = self._storage()
        ref = account_ref(email)
        if storage is None:
            log.warning("failed sign-in for account %s from %s", ref, client_ip())
            return
        delays = []
        counts = {"account": 0, "ip": 0}
        try:
            for kind, key in self._keys(email).items():
                counts[kind] = storage.incr(key, self.window)
                over = counts[kind] - self.free[kind]
                if over >= 0:
                    delay = max(1, int(min(self.cap, self.base * 2 ** min(over, 30))))
                    storage.clear(key + "/wait")
                    storage.incr(key + "/wait", delay)
                    delays.append(delay)
        except Exception as exc:  # noqa: BLE001 - storage down: still log the failure below
            log.warning("sign-in failure not counted: %s", exc.__class__.__name__)
        log.warning("failed sign-in for account %s from %s (%d for the account, %d from the address)%s",
                    ref, client_ip(), counts["account"], counts["ip"],
                    f"; next try waits {max(delays)}s" if delays else "")

    def succeeded(self, email: object) -> None:
        """A right password clears the account's count (the address's count stays)."""
        storage = self._storage()
        if storage is not None:
            key = self._keys(email)["account"]
            try:
                storage.clear(key)
                storage.clear(key + "/wait")
            except Exception as exc:  # noqa: BLE001 - storage down: nothing to clear that counts
                log.warning("sign-in count not cleared: %s", exc.__class__.__name__)


def signin_throttle() -> SignInThrottle:
    """The failed sign-in counter for this app."""
    return SignInThrottle(current_app.config)


# Same-origin sockets ---------------------------------------------------------------------------

def origin_allowed(origin: str | None) -> bool:
    """Whether a Socket.IO connection from this Origin may use the signed-in session.

    Browsers always send Origin on a WebSocket; a connection without one comes from a program
    (a bot with a bearer token, a test), which no other site can make with our cookie.
    """
    if not origin:
        return True
    allowed = current_app.config.get("SOCKETIO_CORS_ORIGINS")
    if allowed == "*":
        return True
    if isinstance(allowed, str):
        allowed = [allowed]
    own = request.host_url.rstrip("/")
    return origin.rstrip("/") in {own, *[a.rstrip("/") for a in (allowed or [])]}


# Headers ---------------------------------------------------------------------------------------

class _SocketSources:
    """connect-src entries computed per request: this host's ws:// or wss:// for Socket.IO."""

    def __init__(self, fixed: list[str]):
        self.fixed = fixed

    def __iter__(self):
        scheme = "wss" if request.is_secure else "ws"
        return iter(["'self'", f"{scheme}://{request.host}", *self.fixed])


def content_security_policy(config) -> dict:
    """The policy: this site, the Stripe.js origin in use, and nothing inline."""
    base = config.get("STRIPE_API_BASE")
    if base:
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}"
        stripe = {"script-src": [origin], "frame-src": [origin], "connect-src": [origin], "img-src": [origin]}
    else:
        stripe = STRIPE_PRODUCTION
    return {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *stripe["script-src"]]),
        "style-src": "'self'",
        "img-src": " ".join(["'self'", "data:", *stripe["img-src"]]),
        "font-src": "'self'",
        "connect-src": _SocketSources(stripe["connect-src"]),
        "frame-src": " ".join(stripe["frame-src"]),
        "frame-ancestors": "'none'",
        "form-action": "'self'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }


# Stripe secret and restricted keys, webhook secrets, intents' client secrets, our API tokens
# (hx_ and 43 characters), and whatever follows "Bearer".
_SECRET_PATTERN = re.compile(
    r"\b((?:sk|rk)_(?:test|live)_|whsec_|Bearer\s+)[A-Za-z0-9_\-.]{6,}"
    r"|\b((?:pi|seti)_[A-Za-z0-9]+_secret_)[A-Za-z0-9]{8,}|\b(hx_)[A-Za-z0-9_\-]{20,}")


class RedactSecrets(logging.Filter):
    """A last line of defence: secrets that reach a log line anyway are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with secrets masked; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's problem, not ours
            return True
        cleaned = _SECRET_PATTERN.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "[redacted]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction() -> None:
    """Put the filter on every root handler (once), so any logger's lines pass through it."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


# Wiring ----------------------------------------------------------------------------------------

def setup(app) -> None:
    """Headers, cookies, proxies, rate limits and their error answers for this app."""
    from flask_talisman import Talisman
    from werkzeug.middleware.proxy_fix import ProxyFix

    config = app.config
    production = is_production(config)
    hops = int(config.get("PROXY_HOPS") or 0)
    if hops:
        # Behind N reverse proxies: trust their X-Forwarded-For/-Proto/-Host for the client's
        # address (rate limits) and scheme (HTTPS redirect, HSTS, Secure cookies).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if production:
        config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True,
                      SESSION_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_HTTPONLY=True)

    # One Talisman per app: it keeps a reference to its app, and tests build many apps.
    talisman = Talisman(
        app,
        force_https=production,
        strict_transport_security=production,
        strict_transport_security_max_age=config.get("HSTS_MAX_AGE_SECONDS", 31_536_000),
        session_cookie_secure=production,
        session_cookie_http_only=True,
        session_cookie_samesite=config.get("SESSION_COOKIE_SAMESITE") or "Lax",
        frame_options="DENY",
        content_security_policy=content_security_policy(config),
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()", "browsing-topics": "()"},
    )
    app.extensions["talisman"] = talisman
    # Health checks come over plain HTTP from inside the deployment.
    app.view_functions["healthz"].talisman_view_options = {"force_https": False}

    config.setdefault("RATELIMIT_STORAGE_URI", None)
    if not config["RATELIMIT_STORAGE_URI"]:
        config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc):
        seconds = _retry_after()
        log.warning("rate limit %s reached on %s %s by %s", exc.limit.limit, request.method, request.path,
                    client_ip())
        return too_many_response(seconds, _form_page_for_endpoint())

