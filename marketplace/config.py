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
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
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
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ["en"]
    ENV_NAME = os.environ.get("MARKETPLACE_ENV", "development")
    DEFAULT_FIXED_PRICE_CENTS = 50_000_00
    DEFAULT_SOFT_CLOSE_SECONDS = 300
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
    if problems:
        raise RuntimeError("production needs these settings: " + ", ".join(problems))
