"""The admin users page: find accounts by email, verify a buyer or take it away, clear strikes.
Each action needs a reason, is audited by the service, and the buyer is told."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..errors import ServiceError
from ..extensions import db
from ..services.buyer_standing import MAX_QUERY, STANDINGS
from ..services.lots import MAX_STRIKES
from ..wiring import buyer_standing
from . import bp
from .forms import StrikeForm, VerificationForm


def _list_args() -> dict:
    """The list's search, filter and page from the query string (the forms post back with them)."""
    return {"q": (request.args.get("q") or "").strip()[:MAX_QUERY] or None,
            "standing": request.args.get("standing") or None, "page": request.args.get("page") or None}


def _users_page(failed=None, failed_for: tuple | None = None, status: int = 200):
    """Render the users list, with a refused form shown again beside its account."""
    from .routes import _page_or_400

    args = _list_args()
    if args["standing"] is not None and args["standing"] not in STANDINGS:
        abort(400, _("Unknown filter: choose verified, unverified or strikes."))
    page, per_page = _page_or_400(request.args)
    result = buyer_standing().search(args["q"], args["standing"], page, per_page)
    return render_template("admin/users.html", result=result, q=args["q"] or "", standing=args["standing"] or "",
                           list_args=args, verify_form=VerificationForm(formdata=None),
                           strike_form=StrikeForm(formdata=None), failed=failed, failed_for=failed_for,
                           max_strikes=MAX_STRIKES), status


def _back():
    """Back to the list as it was (search, filter, page)."""
    return redirect(url_for("admin.users", **_list_args()))


def _refused(exc: ServiceError):
    """A refused action: 404 for no such account, else say why on the list."""
    db.session.rollback()
    if exc.status == 404:
        abort(404)
    flash(exc.message, "error")
    return _back()


@bp.get("/users")
def users():
    """Accounts by email, newest first, with their roles, verification and strikes."""
    return _users_page()


@bp.post("/users/<int:user_id>/verification")
def set_verification(user_id: int):
    """Verify a buyer, or take the verification away, with a reason (audited; the buyer is told)."""
    form = VerificationForm()
    if not form.validate_on_submit():
        return _users_page(form, (user_id, "verify"), 400)
    try:
        user = buyer_standing().set_verified(current_user, user_id, form.verified.data == "1", form.reason.data)
    except ServiceError as exc:
        return _refused(exc)
    if user.verified:
        flash(_("%(email)s is verified: lots open to verified buyers only now take their bids.", email=user.email),
              "success")
    else:
        flash(_("%(email)s is no longer verified.", email=user.email), "success")
    return _back()


@bp.post("/users/<int:user_id>/strikes/clear")
def clear_strikes(user_id: int):
    """Clear one strike (or all) from a buyer, with a reason (audited; the buyer is told)."""
    form = StrikeForm()
    if not form.validate_on_submit():
        return _users_page(form, (user_id, "strikes"), 400)
    try:
        user = buyer_standing().clear_strikes(current_user, user_id, form.reason.data, clear_all=form.all.data)
    except ServiceError as exc:
        return _refused(exc)
    flash(ngettext("Strikes cleared: %(email)s has %(num)s strike left.", "Strikes cleared: %(email)s has %(num)s strikes left.",
                   user.strikes, email=user.email), "success")
    return _back()
