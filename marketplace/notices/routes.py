"""The notifications centre, the nav's unread count, and /dev/mailbox (the outbox, in development)."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..extensions import db
from ..services import outbox
from ..services.notices import KINDS, NoticeService
from ..wiring import clock
from . import bp

PER_PAGE = 25


def _page() -> int:
    """The page asked for; anything unreadable is the first."""
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1


def notices() -> NoticeService:
    """The notice service on this request's session."""
    return NoticeService(db.session, clock())


def mailbox_enabled(config) -> bool:
    """The development mailbox: switched on, no SMTP server to send through, never in production."""
    return (bool(config.get("DEV_MAILBOX")) and not outbox.smtp_configured(config)
            and config.get("ENV_NAME") != "production")


@bp.app_context_processor
def _notice_globals():
    """For base.html: the unread count (asked for only by signed-in pages) and the mailbox link."""

    def unread_notices() -> int:
        return notices().unread_count(current_user.id)

    return {"unread_notices": unread_notices, "notice_kinds": KINDS,
            "dev_mailbox": mailbox_enabled(current_app.config)}


@bp.get("/account/notifications")
@login_required
def index():
    """My notices, newest first, each with a sentence and a link to its order or lot."""
    result = notices().page(current_user.id, page=_page(), per_page=PER_PAGE)
    unread = notices().unread_count(current_user.id)
    return render_template("notices/index.html", result=result, unread=unread)


@bp.post("/account/notifications/read")
@login_required
def mark_read():
    """Mark all my notices read (a form post, so CSRF-checked)."""
    count = notices().mark_all_read(current_user.id)
    db.session.commit()
    if count:
        flash(ngettext("Marked %(num)s notice as read.", "Marked %(num)s notices as read.", count), "success")
    return redirect(url_for("notices.index"))


@bp.get("/dev/mailbox")
def mailbox():
    """Every email the app wrote, newest first, for development without an SMTP server."""
    if not mailbox_enabled(current_app.config):
        abort(404)
    return render_template("notices/mailbox.html", result=outbox.recent(db.session, page=_page(), per_page=20))
