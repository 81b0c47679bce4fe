"""Offer pages: make an offer from a lot (with a confirmation step), and answer offers on /offers."""
import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import db
from ..models import Listing
from ..validation import dollars_to_cents, page_args
from ..web import usd
from ..wiring import offers
from . import bp
from .forms import ConfirmOfferForm, CounterForm, OfferActionForm, OfferForm

PER_PAGE = 25


@bp.app_context_processor
def _offer_globals():
    """For the lot page and the seller dashboard: helpers that ask only when a template calls them."""

    def seller_offers(limit: int = 20) -> list[dict]:
        """Offers waiting for the signed-in seller's answer, soonest to expire first."""
        if not current_user.is_authenticated:
            return []
        return offers().open_for_seller(current_user, limit)

    def lot_offer_box(lot_id: int) -> dict | None:
        """What the lot page shows about offers on this lot (None: no such lot)."""
        listing = db.session.get(Listing, lot_id)
        if listing is None:
            return None
        return offers().lot_box(current_user if current_user.is_authenticated else None, listing)

    return {"seller_offers": seller_offers, "lot_offer_box": lot_offer_box,
            "offer_action_form": OfferActionForm, "counter_form": CounterForm}


def _back(default: str) -> str:
    """Where to go after an action: the form's `next` when it is a path on this site, else `default`."""
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


def _refused(exc: ServiceError, lot_id: int | None = None):
    """A refused action: 404 stays a 404 page; anything else is said in a flash, back where it came from."""
    db.session.rollback()
    if exc.status == 404:
        abort(404)
    flash(exc.message, "error")
    action = getattr(exc, "action_url", None)
    back = _back(url_for("lots.lot", lot_id=lot_id) if lot_id else url_for("offers.index"))
    if action:  # save a card first, then come back
        return redirect(f"{action}?next={back}")
    return redirect(back)


@bp.get("/offers")
@login_required
def index():
    """My offers: those I made as a buyer, and those on my lots, each with what I may do now."""
    buyer_page, _per = page_args({"page": request.args.get("page", 1), "per_page": PER_PAGE})
    service = offers()
    return render_template("offers/index.html",
                           as_buyer=service.mine(current_user, "buyer", buyer_page, PER_PAGE),
                           as_seller=service.mine(current_user, "seller", buyer_page, PER_PAGE))


@bp.post("/lots/<int:lot_id>/offer/confirm")
@login_required
def confirm(lot_id: int):
    """Show exactly what an offer commits to (the card is charged if it is accepted) before sending it."""
    form = OfferForm()
    listing = db.session.get(Listing, lot_id)
    if listing is None:
        abort(404)
    try:
        if not form.validate_on_submit():
            problems = " ".join(e for errors in form.errors.values() for e in errors) or _("Enter an amount.")
            raise ServiceError("invalid_offer", problems, 400)
        amount = dollars_to_cents(form.amount.data)
    except ServiceError as exc:
        return _refused(exc, lot_id)
    confirmed = ConfirmOfferForm(formdata=None, amount_cents=amount, message=form.message.data or "",
                                 key=form.key.data or secrets.token_urlsafe(12))
    return render_template("offers/confirm.html", listing=listing, amount_cents=amount, form=confirmed,
                           message=form.message.data or "")


@bp.post("/lots/<int:lot_id>/offer")
@login_required
def make(lot_id: int):
    """Send a confirmed offer; a second press with the same key sends nothing more."""
    form = ConfirmOfferForm()
    if not form.validate_on_submit():
        flash(_("That offer could not be read; please make it again."), "error")
        return redirect(url_for("lots.lot", lot_id=lot_id))
    try:
        offer, made = offers().make(current_user, lot_id, form.amount_cents.data, form.message.data or None,
                                    form.key.data or None)
    except ServiceError as exc:
        return _refused(exc, lot_id)
    if made:
        flash(_("Your offer of %(amount)s is with the seller; it is open for 48 hours.",
                amount=usd(offer.amount_cents)), "success")
    return redirect(url_for("offers.index"))


@bp.post("/offers/<int:offer_id>/<any(accept, decline, withdraw):action>")
@login_required
def answer(offer_id: int, action: str):
    """Accept, decline or withdraw an offer."""
    if not OfferActionForm().validate_on_submit():
        flash(_("Your form expired; please try again."), "error")
        return redirect(url_for("offers.index"))
    service = offers()
    try:
        if action == "accept":
            offer, order = service.accept(current_user, offer_id)
        else:
            offer = getattr(service, action)(current_user, offer_id)
    except ServiceError as exc:
        return _refused(exc)
    if action == "accept":
        flash(_("Offer accepted at %(amount)s: the order is under way.", amount=usd(offer.amount_cents)), "success")
        return redirect(url_for("orders.order", order_id=order.id))
    flash(_("Offer declined.") if action == "decline" else _("Offer withdrawn."), "info")
    return redirect(_back(url_for("offers.index")))


@bp.post("/offers/<int:offer_id>/counter")
@login_required
def counter(offer_id: int):
    """Answer an offer with another amount."""
    form = CounterForm()
    try:
        if not form.validate_on_submit():
            problems = " ".join(e for errors in form.errors.values() for e in errors) or _("Enter an amount.")
            raise ServiceError("invalid_offer", problems, 400)
        made = offers().counter(current_user, offer_id, dollars_to_cents(form.amount.data), form.message.data or None)
    except ServiceError as exc:
        return _refused(exc)
    flash(_("Counter-offer of %(amount)s sent.", amount=usd(made.amount_cents)), "success")
    return redirect(_back(url_for("offers.index")))
