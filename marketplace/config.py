"""Settings from environment variables, with safe defaults for the embedded run."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_dates(name: str) -> tuple:
    """Read a comma-separated list of ISO dates ("2026-12-25,2027-01-01"); a bad one stops the start."""
    from datetime import date

    text = os.environ.get(name) or ""
    try:
        return tuple(sorted({date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()}))
    except ValueError as exc:
        raise RuntimeError(f"{name} must be dates like 2026-12-25, separated by commas: {exc}") from None


def database_url_from_env() -> str:
    """The database URL: DATABASE_URL, or a SQLite file in instance/."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'marketplace.db'}"
    # Heroku-style URLs name the dialect "postgres"; SQLAlchemy wants "postgresql".
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url


class Config:
    """Defaults for development; every value can be overridden from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = database_url_from_env()
    # Few connections per process: more than ~8 contending for one hot lot's row lock lowers
    # throughput (the waiting greenlets hold connections, not work). SQLAlchemy's defaults: 5 + 10.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True,
                                 "pool_size": int(os.environ.get("DATABASE_POOL_SIZE") or "5"),
                                 "max_overflow": int(os.environ.get("DATABASE_MAX_OVERFLOW") or "10")}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    SOCKETIO_CHANNEL = os.environ.get("SOCKETIO_CHANNEL") or "flask-socketio"  # Redis pub/sub channel
    PORT = int(os.environ.get("PORT", "5000"))
    ADMIN_EMAIL = os.environ.get("MARKETPLACE_ADMIN_EMAIL", "admin@example.com")
    ADMIN_PASSWORD = os.environ.get("MARKETPLACE_ADMIN_PASSWORD", "admin-password")
    DEMO_DATA = _env_bool("MARKETPLACE_DEMO_DATA", True)
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY") or None
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY") or None
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None
    # The in-process worker closes due lots; production runs it as its own command.
    RUN_WORKER = _env_bool("MARKETPLACE_RUN_WORKER", True)
    WORKER_INTERVAL_SECONDS = float(os.environ.get("MARKETPLACE_WORKER_INTERVAL", "0.25"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # Security at the edge (marketplace/security.py). Production forces Secure cookies, HSTS and
    # HTTPS. Behind N reverse proxies set MARKETPLACE_PROXY_HOPS=N so the client's address and
    # scheme come from their X-Forwarded-* headers.
    PROXY_HOPS = int(os.environ.get("MARKETPLACE_PROXY_HOPS") or "0")
    # Rate limits (Flask-Limiter syntax), counted in Redis when REDIS_URL is set, else in memory.
    RATELIMIT_ENABLED = _env_bool("MARKETPLACE_RATELIMIT", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or None
    RATELIMIT_KEY_PREFIX = "hx"
    # Off: Flask-Limiter would put Retry-After on every answer of a limited route; a 429 has its own.
    RATELIMIT_HEADERS_ENABLED = False
    # Redis down: count in memory for a while rather than refuse every bid (bids must go on).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_SIGNIN = os.environ.get("MARKETPLACE_LIMIT_SIGNIN") or "10/minute;100/hour"  # per address
    RATELIMIT_REGISTER = os.environ.get("MARKETPLACE_LIMIT_REGISTER") or "5/minute;20/hour"  # per address
    RATELIMIT_BID = os.environ.get("MARKETPLACE_LIMIT_BID") or "30/minute;600/hour"  # per bidder
    RATELIMIT_INQUIRY = os.environ.get("MARKETPLACE_LIMIT_INQUIRY") or "10/minute;50/day"  # per user
    # Failed sign-ins: after this many in the window, each further try waits base * 2^n seconds.
    SIGNIN_FREE_FAILURES_PER_ACCOUNT = 5
    SIGNIN_FREE_FAILURES_PER_IP = 20
    SIGNIN_DELAY_BASE_SECONDS = 2
    SIGNIN_DELAY_MAX_SECONDS = 900
    SIGNIN_FAILURE_WINDOW_SECONDS = 3600
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ["en", "fr", "ar"]
    ENV_NAME = os.environ.get("MARKETPLACE_ENV", "development")
    DEFAULT_FIXED_PRICE_CENTS = 50_000_00
    # Lot lists count at most this many matches; beyond it they say "10,000+" (total_capped).
    CATALOG_COUNT_CAP = int(os.environ.get("MARKETPLACE_CATALOG_COUNT_CAP") or "10000")
    DEFAULT_SOFT_CLOSE_SECONDS = 300
    # Watchers of a lot are told once, this many minutes (or less) before it ends.
    WATCH_ENDING_NOTICE_MINUTES = float(os.environ.get("MARKETPLACE_WATCH_ENDING_NOTICE_MINUTES") or "15")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET") or None
    # Every bid is backed by an authorisation of the bidder's card (DESIGN.md section 5).
    CARD_HOLDS = _env_bool("MARKETPLACE_CARD_HOLDS", True)
    COMMISSION_BPS = int(os.environ.get("MARKETPLACE_COMMISSION_BPS", "1000"))  # 10%
    PAYMENT_WINDOW_HOURS = 48
    TRANSFER_WINDOW_HOURS = 48
    # Email: notices go to the outbox table; the worker sends them when SMTP is configured.
    PUBLIC_URL = (os.environ.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
    MAIL_SMTP_HOST = os.environ.get("MAIL_SMTP_HOST") or None
    MAIL_SMTP_PORT = int(os.environ.get("MAIL_SMTP_PORT") or "25")
    MAIL_SMTP_USER = os.environ.get("MAIL_SMTP_USER") or None
    MAIL_SMTP_PASSWORD = os.environ.get("MAIL_SMTP_PASSWORD") or None
    MAIL_SMTP_STARTTLS = _env_bool("MAIL_SMTP_STARTTLS", False)
    MAIL_FROM = os.environ.get("MAIL_FROM") or "Handle Exchange <no-reply@handle-exchange.invalid>"
    # /dev/mailbox shows the outbox; never in production, and by default only without SMTP.
    DEV_MAILBOX = _env_bool("MARKETPLACE_DEV_MAILBOX", MAIL_SMTP_HOST is None and ENV_NAME != "production")
    # /dev/platform/<handle> stands in for the platform's profile editor (the embedded registry is
    # our own database), so a seller can put an ownership code in a bio; never in production.
    DEV_PLATFORM = _env_bool("MARKETPLACE_DEV_PLATFORM", ENV_NAME != "production")
    # The release pipeline (DESIGN.md section 2): an account not active for RELEASE_INACTIVE_DAYS is
    # flagged; its handle is released RELEASE_GRACE_DAYS later unless its owner is active again; a
    # reminder goes out RELEASE_REMINDER_DAYS before release. The worker sweeps every
    # SWEEP_INTERVAL_SECONDS (0: never), SWEEP_BATCH_SIZE account ids per transaction.
    RELEASE_INACTIVE_DAYS = int(os.environ.get("MARKETPLACE_RELEASE_INACTIVE_DAYS", "30"))
    RELEASE_GRACE_DAYS = int(os.environ.get("MARKETPLACE_RELEASE_GRACE_DAYS", "30"))
    RELEASE_REMINDER_DAYS = int(os.environ.get("MARKETPLACE_RELEASE_REMINDER_DAYS", "7"))
    SWEEP_BATCH_SIZE = int(os.environ.get("MARKETPLACE_SWEEP_BATCH_SIZE", "10000"))
    SWEEP_INTERVAL_SECONDS = float(os.environ.get("MARKETPLACE_SWEEP_INTERVAL", "3600"))
    # Batches per worker pass, so one pass never holds the loop (closing lots) for long.
    SWEEP_BATCHES_PER_PASS = int(os.environ.get("MARKETPLACE_SWEEP_BATCHES_PER_PASS", "20"))
    BACKORDER_AUCTION_HOURS = 24
    # Days off for business-day deadlines (an inquiry is answered within 3 business days).
    HOLIDAYS = _env_dates("MARKETPLACE_HOLIDAYS")


def check_production(config: dict) -> None:
    """Refuse to start in production without real secrets."""
    if config.get("ENV_NAME") != "production":
        return
    problems = []
    if config.get("SECRET_KEY") in (None, "", "dev-only-not-secret"):
        problems.append("SECRET_KEY")
    if os.environ.get("MARKETPLACE_CRASH_AT"):
        problems.append("MARKETPLACE_CRASH_AT (a test-only fault injection) must not be set")
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        problems.append("DATABASE_URL (PostgreSQL)")
    if not config.get("STRIPE_SECRET_KEY"):
        problems.append("STRIPE_SECRET_KEY")
    if config.get("RATELIMIT_ENABLED", True) and not (config.get("REDIS_URL") or config.get("RATELIMIT_STORAGE_URI")):
        problems.append("REDIS_URL (rate limits must be counted in one place for every process)")
    if problems:
        raise RuntimeError("production needs these settings: " + ", ".join(problems))
