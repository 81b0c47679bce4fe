"""Admin pages for inquiries: every inquiry with its due time (late ones flagged), answering a
handle by hand or overriding the assistant (audited), and paid orders whose transfer is late."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ServiceError
from ..extensions import db
from ..inquiries.forms import AnswerForm
from ..services.inquiries import inquiry_json
from ..validation import page_args
from ..wiring import clock, inquiries
from . import bp


@bp.route("/inquiries")
def inquiries_console():
    """Every inquiry, unanswered first by due time with late ones flagged, and late transfers."""
    try:
        page, per_page = page_args({"page": request.args.get("page", 1), "per_page": 50})
    except ServiceError as exc:
        abort(400, exc.message)
    late_only = request.args.get("late") == "1"
    service = inquiries()
    return render_template("admin/inquiries.html", result=service.admin_page(page, per_page, late_only),
                           late_transfers=service.late_transfers(), late_only=late_only)


@bp.route("/inquiries/<int:inquiry_id>")
def inquiry_detail(inquiry_id: int):
    """One inquiry, with a form per unaccepted handle to answer it by hand."""
    return _inquiry_page(inquiry_id, None, AnswerForm())


def _inquiry_page(inquiry_id: int, item_id: int | None, form: AnswerForm, status: int = 200):
    """Render the admin inquiry page (the submitted form goes back to its own handle)."""
    try:
        inquiry = inquiries().get_for(current_user, inquiry_id)
    except ServiceError:
        abort(404)
    return render_template("admin/inquiry.html", inquiry=inquiry_json(db.session, inquiry, clock().now()),
                           organisation=inquiry.organisation, form=form, form_item_id=item_id), status


@bp.post("/inquiries/<int:inquiry_id>/items/<int:item_id>/answer")
def answer_inquiry_item(inquiry_id: int, item_id: int):
    """Answer one handle by hand (e.g. quote a protected name for this organisation); audited."""
    form = AnswerForm()
    if not form.validate_on_submit():
        return _inquiry_page(inquiry_id, item_id, form, 400)
    data = {"status": form.status.data, "note": form.note.data}
    if form.status.data == "releasable":
        if form.price.cents is None:
            form.price.errors = [*form.price.errors, _("Give the list price of a releasable handle.")]
            return _inquiry_page(inquiry_id, item_id, form, 400)
        data["price_cents"] = form.price.cents
    try:
        item = inquiries().admin_answer(current_user, inquiry_id, item_id, data)
    except ServiceError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return _inquiry_page(inquiry_id, item_id, form, exc.status)
    flash(_("Answer saved for @%(handle)s.", handle=item.handle_display), "success")
    return redirect(url_for("admin.inquiry_detail", inquiry_id=inquiry_id))
