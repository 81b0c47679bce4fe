"""The admin lot page: a lot's terms (reserve, buy-now price, end time), its bidders with the void
action, its bid history. Every change goes through the same services as the API, and is audited."""
from datetime import UTC

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ServiceError
from ..extensions import db
from ..models import ListingKind
from ..web import usd
from ..wiring import bidding, clock, listings, voids
from . import bp
from .forms import LotTermsForm, VoidForm
from .routes import _dollars

# Which terms field a service refusal is about, so the page shows it beside that field.
TERMS_ERRORS = {"invalid_buy_now": "buy_now", "buy_now_unavailable": "buy_now", "invalid_time": "ends_at",
                "invalid_lot": "ends_at"}


def _minute(moment):
    """A stored time as the page's datetime input shows it: naive UTC, to the minute."""
    return moment.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0) if moment else None


def _terms_form(listing) -> LotTermsForm:
    """The terms form filled from the lot as it is now (never from the request)."""
    return LotTermsForm(formdata=None, data={"reserve": _dollars(listing.reserve_cents),
                                             "buy_now": _dollars(listing.buy_now_price_cents),
                                             "ends_at": _minute(listing.ends_at)})


def _terms_changes(form: LotTermsForm, listing) -> dict:
    """The PATCH body for what the admin changed: fields the form sent (a disabled input sends
    nothing) whose value differs from the lot's; the end time is compared to the minute."""
    sent = request.form
    changes = {}
    if "reserve" in sent and form.reserve.cents != listing.reserve_cents:
        changes["reserve_cents"] = form.reserve.cents
    if "buy_now" in sent and form.buy_now.cents != listing.buy_now_price_cents:
        changes["buy_now_price_cents"] = form.buy_now.cents
    if "ends_at" in sent and form.ends_at.data and form.ends_at.data != _minute(listing.ends_at):
        changes["ends_at"] = form.ends_at.data.replace(tzinfo=UTC).isoformat()
    return changes


def _lot_page(lot_id: int, terms_form: LotTermsForm | None = None, void_form: VoidForm | None = None,
              status: int = 200):
    """Render the admin lot page, with the forms as submitted when they were refused."""
    service = listings()
    try:
        listing = service.get(lot_id)
    except ServiceError:
        abort(404)
    lot = service.views([listing], admin=True)[0]
    auction = listing.kind == ListingKind.AUCTION
    void_service, now = voids(), clock().now()
    return render_template(
        "admin/lot.html", lot=lot, listing=listing, terms_form=terms_form or _terms_form(listing),
        void_form=void_form or VoidForm(formdata=None), void_alias=void_form.bidder_alias.data if void_form else None,
        bidders=void_service.bidders(lot_id) if auction else [], voided=void_service.voided(lot_id) if auction else [],
        history=bidding().history(lot_id, 1, 50) if auction else None, now=now,
        is_open=not listing.closed_status and (listing.ends_at is None or listing.ends_at > now),
    ), status


def _refused(exc: ServiceError, lot_id: int, **forms):
    """A refused admin action: 404 for no such lot, else the page again with the reason."""
    db.session.rollback()
    if exc.code == "lot_not_found":
        abort(404)
    flash(exc.message, "error")
    return _lot_page(lot_id, status=exc.status if exc.status < 500 else 400, **forms)


@bp.get("/lots/<int:lot_id>")
def lot(lot_id: int):
    """One lot for admins: its terms to edit, its bidders to void, its history, the public page."""
    return _lot_page(lot_id)


@bp.post("/lots/<int:lot_id>")
def edit_lot(lot_id: int):
    """Save the changed terms of an open lot (reserve, buy-now price, end time); audited."""
    form = LotTermsForm()
    if not form.validate_on_submit():
        return _lot_page(lot_id, terms_form=form, status=400)
    try:
        changes = _terms_changes(form, listings().get(lot_id))
        if changes:
            listings().update(current_user, lot_id, changes)
    except ServiceError as exc:
        db.session.rollback()
        field = TERMS_ERRORS.get(exc.code)
        if field is None:
            return _refused(exc, lot_id, terms_form=form)
        getattr(form, field).errors = [exc.message]
        return _lot_page(lot_id, terms_form=form, status=exc.status)
    if changes:
        flash(_("Changes saved; watchers see them at once."), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("admin.lot", lot_id=lot_id))


@bp.route("/lots/<int:lot_id>/reserve", methods=["GET", "POST"])
def edit_reserve(lot_id: int):
    """The old reserve page's address: the admin lot page now edits the reserve (307 keeps a POST
    a POST, so an old form still saves; it sends only the reserve, so nothing else changes)."""
    return redirect(url_for("admin.lot", lot_id=lot_id), code=307)


@bp.post("/lots/<int:lot_id>/voids/confirm")
def confirm_void(lot_id: int):
    """Before voiding: say what the void does to the price and the lead, and ask again."""
    form = VoidForm()
    if not form.validate_on_submit():
        return _lot_page(lot_id, void_form=form, status=400)
    try:
        effect = voids().preview(lot_id, form.bidder_alias.data)
    except ServiceError as exc:
        return _refused(exc, lot_id)
    return render_template("admin/void_confirm.html", lot=listings().view(lot_id, admin=True), effect=effect,
                           form=form)


@bp.post("/lots/<int:lot_id>/voids")
def void_bid(lot_id: int):
    """Void one bidder's maximum, with a reason (audited; the bidder and the watchers are told)."""
    form = VoidForm()
    if not form.validate_on_submit():
        return _lot_page(lot_id, void_form=form, status=400)
    alias = form.bidder_alias.data
    try:
        voids().void(current_user, lot_id, alias, form.reason.data)
    except ServiceError as exc:
        return _refused(exc, lot_id)
    lot = listings().view(lot_id)
    if lot["leader_alias"]:
        flash(_("%(alias)s's bid is void. The price is now %(price)s and %(leader)s leads.", alias=alias,
                price=usd(lot["current_price_cents"]), leader=lot["leader_alias"]), "success")
    else:
        flash(_("%(alias)s's bid is void. No bid stands now: the price is back to %(price)s.", alias=alias,
                price=usd(lot["current_price_cents"])), "success")
    return redirect(url_for("admin.lot", lot_id=lot_id))
