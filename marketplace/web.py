"""App-wide page plumbing: error pages, health check (money and dates are formatted in i18n.py)."""
from __future__ import annotations

from flask import g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, NotFound

from .clock import iso
from .extensions import db
from .i18n import usd  # noqa: F401 - the money filter (registered by i18n.setup); views import it from here


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# Ids are 32-bit integer columns (PostgreSQL INTEGER); a larger id in a path names nothing.
MAX_ID = 2**31 - 1
NUL_MESSAGE = "Text may not contain NUL (\\u0000) characters."  # translated where shown (same msgid as the page)


def _has_nul(value) -> bool:
    """Whether a JSON value holds a NUL character anywhere (PostgreSQL refuses one in text)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def setup(app) -> None:
    """Register filters, globals and error handlers."""

    @app.url_value_preprocessor
    def _ids_in_range(endpoint, values):
        """An id beyond the id columns' range: 404 before the database refuses the number."""
        if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
            raise NotFound()

    @app.before_request
    def _refuse_nul():
        """No text field holds a NUL: 400 (JSON for the API, the error page otherwise) before any view runs."""
        fields = [*request.args.values(), *request.form.values()]
        if any("\x00" in v for v in fields) or (request.is_json and _has_nul(request.get_json(silent=True))):
            if _wants_json():
                return jsonify({"error": {"code": "invalid_text", "message": _(NUL_MESSAGE)}}), 400
            return render_template("errors/error.html", code=400, plain=True,
                                   message=_("Text may not contain NUL (\\u0000) characters.")), 400
        return None

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
            return jsonify({"error": {"code": "csrf_failed", "message": _("The CSRF token is missing or wrong.")}}), 400
        return render_template("errors/error.html", code=400,
                               message=_("Your form expired or came from another site. Go back, reload, and try again.")), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if _wants_json():
            return jsonify({"error": {"code": exc.name.lower().replace(" ", "_"), "message": exc.description}}), exc.code
        # A page says our sentence for the code; the view's own (abort(400, "...")) when it gave one,
        # never Werkzeug's stock description ("The requested URL was not found on the server...").
        own = exc.description if exc.description != type(exc).description else None
        template = "errors/404.html" if exc.code == 404 else "errors/error.html"
        return render_template(template, code=exc.code, message=own), exc.code

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        app.logger.error("database unavailable: %s", exc.__class__.__name__)
        db.session.rollback()
        message = _("The marketplace is briefly unavailable; nothing was changed. Try again in a moment.")
        if _wants_json():
            return jsonify({"error": {"code": "unavailable", "message": message}}), 503
        # The page must not ask the database who is signed in (it is the thing that is down):
        # Flask-Login's template context would load the user, so the request is anonymous now.
        g._login_user = app.login_manager.anonymous_user()
        return render_template("errors/error.html", code=503, message=message, plain=True), 503

    @app.errorhandler(Exception)
    def _unexpected(exc):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        message = _("Something went wrong on our side; nothing was changed. Try again.")
        if _wants_json():
            return jsonify({"error": {"code": "server_error", "message": message}}), 500
        return render_template("errors/error.html", code=500,
                               message=_("Something went wrong on our side; nothing was changed. Try again.")), 500
