"""Inquiry pages: the organisation's list, asking, and one inquiry with its quote."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import db
from ..i18n import datetime_text
from ..security import inquiry_limit
from ..services.inquiries import inquiry_json
from ..services.organisations import standing_problem
from ..validation import page_args
from ..web import usd
from ..wiring import clock, inquiries
from . import bp
from .forms import AcceptForm, InquiryForm

PER_PAGE = 25


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    """A refusal not handled in the view: the error page with its status (404 outside the organisation)."""
    return render_template("errors/error.html", code=exc.status, message=exc.message), exc.status


@bp.get("/inquiries")
@login_required
def index():
    """The organisation's inquiries, newest first, each with its due time and answers."""
    page, _per = page_args({"page": request.args.get("page", 1), "per_page": PER_PAGE})
    problem = standing_problem(db.session, current_user, clock().now())
    result = inquiries().mine(current_user, page, PER_PAGE) if current_user.organisation_id else None
    return render_template("inquiries/index.html", result=result, problem=problem)


@bp.get("/inquiries/new")
@login_required
def new():
    """The form: paste handles, say why."""
    problem = standing_problem(db.session, current_user, clock().now())
    return render_template("inquiries/new.html", form=InquiryForm(), problem=problem), 403 if problem else 200


@bp.post("/inquiries/new")
@login_required
@inquiry_limit
def create():
    """Send an inquiry; a refused list or reason comes back on the form, naming what is wrong."""
    form = InquiryForm()
    problem = standing_problem(db.session, current_user, clock().now())
    if problem is not None:
        return render_template("inquiries/new.html", form=form, problem=problem), 403
    if form.validate_on_submit():
        try:
            inquiry = inquiries().submit(current_user, form.handles.data, form.reason.data)
        except ServiceError as exc:
            field = form.reason if exc.code.startswith("reason") else form.handles
            field.errors = [*field.errors, exc.message]
        else:
            flash(_("Inquiry sent: the answers are due by %(due)s UTC.",
                    due=datetime_text(inquiry.due_at)), "success")
            return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id))
    return render_template("inquiries/new.html", form=form, problem=None), 400


@bp.get("/inquiries/<int:inquiry_id>")
@login_required
def detail(inquiry_id: int):
    """One inquiry: each handle's answer, the quote with its discount, and accepting it."""
    return _detail_page(inquiry_id, AcceptForm())


def _detail_page(inquiry_id: int, form: AcceptForm, status: int = 200, picked: set[int] | None = None):
    """Render an inquiry's page (404 for anyone outside its organisation but admins); `picked`: the
    handles ticked in a refused submission, which stay as the person left them (None: all ticked)."""
    inquiry = inquiries().get_for(current_user, inquiry_id)
    return render_template("inquiries/detail.html", inquiry=inquiry_json(db.session, inquiry, clock().now()),
                           form=form, picked=picked), status


def _ticked() -> set[int]:
    """The quote's handles ticked in the submitted form (ids that are not numbers are dropped)."""
    return {int(x) for x in request.form.getlist("item_id") if x.isdigit() and len(x) < 10}


@bp.post("/inquiries/<int:inquiry_id>/accept")
@login_required
@inquiry_limit
def accept(inquiry_id: int):
    """Accept the ticked handles of the quote, after the buyer confirmed the charge."""
    form = AcceptForm()
    if not form.validate_on_submit():
        return _detail_page(inquiry_id, form, 400, _ticked())
    ids = sorted(_ticked())
    if not ids:
        form.confirm.errors = [*form.confirm.errors, _("Tick at least one handle of the quote.")]
        return _detail_page(inquiry_id, form, 400, set())
    try:
        result = inquiries().accept(current_user, inquiry_id, ids)
    except ServiceError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        action = getattr(exc, "action_url", None)
        if action:
            return redirect(f"{action}?next={url_for('inquiries.detail', inquiry_id=inquiry_id)}")
        return redirect(url_for("inquiries.detail", inquiry_id=inquiry_id))
    accepted = [i for i in result["inquiry"]["items"] if i["id"] in result["accepted_item_ids"]]
    flash(_("Accepted: %(handles)s, %(total)s in all. Each handle has its order below.",
            handles=", ".join("@" + i["handle"] for i in accepted),
            total=usd(sum(i["price_cents"] or 0 for i in accepted))), "success")
    for refused in result["refused"]:
        flash(refused["message"], "warning")
    return redirect(url_for("inquiries.detail", inquiry_id=inquiry_id))
