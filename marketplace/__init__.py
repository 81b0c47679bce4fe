"""Handle Exchange: the marketplace where released social-media handles are sold."""
from __future__ import annotations

import logging


def create_app(config: dict | None = None):
    """Build the app; `config` overrides settings (tests pass theirs here)."""
    # Imported here, not at the top, so `python -m marketplace` can monkey-patch for gevent
    # before Flask, Socket.IO or Redis import the socket and ssl modules.
    from flask import Flask

    from .config import INSTANCE, ROOT, Config, check_production
    from .extensions import babel, csrf, db, login_manager, migrate, socketio

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE),
    )
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    check_production(app.config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        INSTANCE.mkdir(parents=True, exist_ok=True)
        # SQLite has no pre-ping worth having; it also needs check_same_thread off for the pool.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"check_same_thread": False}}

    from .clock import SystemClock
    from .live import PublishFirstRedisManager, SocketIOSink

    app.extensions["clock"] = app.config.get("CLOCK") or SystemClock()

    db.init_app(app)
    from . import db as _db_settings  # noqa: F401 - registers the SQLite pragmas
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    from .i18n import select_locale
    babel.init_app(app, locale_selector=select_locale)
    # Blueprints (and their Socket.IO handlers) are imported before socketio.init_app: handlers
    # declared before the first init_app are kept and bound to every app's server (tests build many).
    from . import auth, web
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .lots import bp as lots_bp
    from .notices import bp as notices_bp
    from .webhooks import bp as webhooks_bp
    from .orders import bp as orders_bp
    from .offers import bp as offers_bp
    from .sellers import bp as sellers_bp
    from .inquiries import bp as inquiries_bp
    from .organisations import bp as organisations_bp

    socketio.init_app(
        app,
        # Redis as the message queue when configured (None: this process alone); deployments (or
        # benchmarks) sharing one Redis keep apart by channel.
        client_manager=PublishFirstRedisManager(
            app.config["REDIS_URL"], channel=app.config.get("SOCKETIO_CHANNEL") or "flask-socketio")
        if app.config.get("REDIS_URL") else None,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE"),
        # Same-origin only: a page on another site cannot open a bidding socket with our cookie.
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS"),
        # Browsers ask for permessage-deflate; it roughly doubles CPU per message on fan-out.
        websocket_compression=False,
        http_compression=False,
        logger=False,
        engineio_logger=False,
    )
    app.extensions["live_sink"] = app.config.get("LIVE_SINK") or SocketIOSink(socketio)

    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(lots_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(offers_bp)
    app.register_blueprint(sellers_bp)
    app.register_blueprint(inquiries_bp)
    app.register_blueprint(organisations_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # the API checks CSRF itself, only for cookie-authenticated writes
    app.register_blueprint(webhooks_bp)
    csrf.exempt(webhooks_bp)  # Stripe signs its deliveries; there is no session to forge
    auth.setup_login(login_manager)
    web.setup(app)
    from . import i18n
    i18n.setup(app)
    from . import security
    security.setup(app)  # headers, Secure cookies in production, rate limits

    from . import cli
    cli.register(app)

    logging.basicConfig(level=app.config.get("LOG_LEVEL", logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    security.install_log_redaction()
    return app
