"""Accounts: register, sign in, sign out; session cookie and bearer-token users."""
from flask import Blueprint

bp = Blueprint("auth", __name__)


def setup_login(login_manager) -> None:
    """Teach Flask-Login to load users from the session and from bearer tokens."""
    from ..extensions import db
    from ..i18n import remember_locale
    from ..models import User
    from ..wiring import accounts

    @login_manager.user_loader
    def load_user(user_id: str):
        """A user from the session cookie."""
        try:
            return _remembered(db.session.get(User, int(user_id)))
        except (TypeError, ValueError):
            return None

    @login_manager.request_loader
    def load_user_from_token(request):
        """A user from `Authorization: Bearer <token>`."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and len(header) < 200:
            return _remembered(accounts().user_for_token(header[len("Bearer "):].strip()))
        return None

    def _remembered(user):
        """The loaded user, their language noted for the request (i18n.remember_locale)."""
        if user is not None:
            remember_locale(user)
        return user


from . import routes  # noqa: E402,F401
