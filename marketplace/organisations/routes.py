"""/organisation: thin views over OrganisationService (services/organisations.py)."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import db
from ..services.organisations import cancel_scheduled, standing_problem, verification_state
from ..services.payments import PaymentRequired
from ..wiring import clock, organisations
from . import bp
from .forms import CancelForm, OrganisationForm, SubscribeForm


def _page(create_form=None, subscribe_form=None, cancel_form=None, status: int = 200):
    """The create form when the user has no organisation, else its status page."""
    org = None
    if current_user.organisation_id:
        try:
            org = organisations().mine(current_user)
        except ServiceError:
            org = None
    if org is None:
        return render_template("organisation/new.html", form=create_form or OrganisationForm()), status
    now = clock().now()
    return render_template(
        "organisation/status.html", org=org, state=verification_state(org),
        is_owner=org.owner_id == current_user.id, problem=standing_problem(db.session, current_user, now),
        ends_at_period_end=cancel_scheduled(db.session, org), has_card=current_user.has_payment_method,
        subscribe_form=subscribe_form or SubscribeForm(), cancel_form=cancel_form or CancelForm()), status


@bp.get("/organisation")
@login_required
def organisation():
    """Your organisation: create one, or see its verification and subscription."""
    return _page()


@bp.post("/organisation")
@login_required
def create():
    """Create an organisation; an admin checks it next."""
    form = OrganisationForm()
    if not form.validate_on_submit():
        return _page(create_form=form, status=400)
    try:
        organisations().create(current_user, {"name": form.name.data, "website": form.website.data})
    except ServiceError as exc:
        db.session.rollback()
        (form.website if "website" in exc.message.lower() else form.name).errors = [exc.message]
        return _page(create_form=form, status=exc.status)
    flash(_("Organisation created. An admin checks it next; we email you when it is verified."), "success")
    return redirect(url_for("organisations.organisation"))


@bp.post("/organisation/subscribe")
@login_required
def subscribe():
    """Start the $1,000 monthly subscription with the saved card."""
    form = SubscribeForm()
    if not form.validate_on_submit():
        return _page(subscribe_form=form, status=400)
    try:
        organisations().subscribe(current_user)
    except PaymentRequired as exc:
        db.session.rollback()
        flash(exc.message, "error")
        if exc.code == "payment_method_required":
            return redirect(exc.action_url)
        return _page(subscribe_form=form, status=exc.status)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _page(subscribe_form=form, status=exc.status)
    flash(_("Subscribed: your organisation may now send inquiries and buy lots open to organisations."), "success")
    return redirect(url_for("organisations.organisation"))


@bp.post("/organisation/cancel")
@login_required
def cancel():
    """Cancel the subscription at the end of the paid month (now, if a payment is outstanding)."""
    form = CancelForm()
    if not form.validate_on_submit():
        return _page(cancel_form=form, status=400)
    try:
        org = organisations().cancel(current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _page(cancel_form=form, status=exc.status)
    if org.subscription_status == "canceled":
        flash(_("Subscription cancelled."), "success")
    else:
        flash(_("Subscription cancelled: it stays active until the end of the month you paid for."), "success")
    return redirect(url_for("organisations.organisation"))
