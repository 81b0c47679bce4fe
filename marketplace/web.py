"""App-wide page plumbing: the money filter, error pages, health check."""
from __future__ import annotations

from flask import g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .clock import iso
from .extensions import db


def usd(cents: int | None) -> str:
    """Format whole cents as dollars: 5000000 → "$50,000" (cents shown only when present)."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(int(cents)), 100)
    return f"{sign}${dollars:,}" + (f".{rest:02d}" if rest else "")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def setup(app) -> None:
    """Register filters, globals and error handlers."""
    app.add_template_filter(usd, "usd")
    app.add_template_filter(iso, "iso")
    app.jinja_env.globals["csrf_token"] = generate_csrf

    @app.context_processor
    def _server_time():
        return {"server_time": iso(app.extensions["clock"].now())}

    @app.get("/healthz")
    def healthz():
        """Liveness and database reachability."""
        try:
            db.session.execute(text("SELECT 1"))
        except OperationalError:
            return jsonify({"ok": False, "database": "unreachable"}), 503
        return jsonify({"ok": True})

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        if _wants_json():
            return jsonify({"error": {"code": "csrf_failed", "message": "The CSRF token is missing or wrong."}}), 400
        return render_template("errors/error.html", code=400,
                               message="Your form expired or came from another site. Go back, reload, and try again."), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if _wants_json():
            return jsonify({"error": {"code": exc.name.lower().replace(" ", "_"), "message": exc.description}}), exc.code
        return render_template("errors/error.html", code=exc.code, message=exc.description), exc.code

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        app.logger.error("database unavailable: %s", exc.__class__.__name__)
        db.session.rollback()
        message = "The marketplace is briefly unavailable; nothing was changed. Try again in a moment."
        if _wants_json():
            return jsonify({"error": {"code": "unavailable", "message": message}}), 503
        # The page must not ask the database who is signed in (it is the thing that is down):
        # Flask-Login's template context would load the user, so the request is anonymous now.
        g._login_user = app.login_manager.anonymous_user()
        return render_template("errors/error.html", code=503, message=message, plain=True), 503

    @app.errorhandler(Exception)
    def _unexpected(exc):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side; nothing was changed. Try again."
        if _wants_json():
            return jsonify({"error": {"code": "server_error", "message": message}}), 500
        return render_template("errors/error.html", code=500, message=message), 500
