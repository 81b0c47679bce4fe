"""Admin pages for organisations: the list by verification state, verify, reject with a reason."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ServiceError
from ..extensions import db
from ..organisations.forms import RejectForm, VerifyForm
from ..services.organisations import VERIFICATION_STATES
from ..wiring import organisations as organisation_service
from . import bp


def _list_page(reject_form=None, reject_id: int | None = None, status: int = 200):
    """The organisations list, filtered by ?state=, with the verify and reject forms."""
    from .routes import _page_or_400

    state = request.args.get("state") or None
    if state is not None and state not in VERIFICATION_STATES:
        abort(400, _("Unknown state: choose pending, verified or rejected."))
    page, per_page = _page_or_400(request.args)
    result = organisation_service().admin_list(state, page, per_page)
    return render_template("admin/organisations.html", result=result, state=state or "",
                           verify_form=VerifyForm(), reject_form=reject_form or RejectForm(),
                           reject_id=reject_id), status


@bp.get("/organisations")
def organisations():
    """Organisations waiting for a check, verified, or rejected, with their subscriptions."""
    return _list_page()


@bp.post("/organisations/<int:org_id>/verify")
def verify_organisation(org_id: int):
    """Verify an organisation (audited; its owner is told by email)."""
    if not VerifyForm().validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    try:
        org = organisation_service().verify(current_user, org_id)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        flash(_("%(name)s is verified; its owner may now subscribe.", name=org.name), "success")
    return redirect(url_for("admin.organisations", state=request.args.get("state") or None))


@bp.post("/organisations/<int:org_id>/reject")
def reject_organisation(org_id: int):
    """Reject an organisation with a reason its owner reads (audited)."""
    form = RejectForm()
    if not form.validate_on_submit():
        return _list_page(form, org_id, 400)
    try:
        org = organisation_service().reject(current_user, org_id, form.reason.data)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        flash(_("%(name)s was rejected; its owner is told why.", name=org.name), "success")
    return redirect(url_for("admin.organisations", state=request.args.get("state") or None))
