"""Saving a card with Stripe.js (SetupIntent), for bidding and buying."""
from flask import flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import BadRequest, ServiceError
from ..extensions import db
from ..services.payments import HoldAuthentication
from ..wiring import buyer_orders, cards, clock, gateway
from . import bp


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    if request.method == "GET":
        return render_template("errors/error.html", code=exc.status, message=exc.message), exc.status
    return jsonify(exc.to_dict()), exc.status


@bp.get("/account/card")
@login_required
def card():
    """The saved card, and a form to save or replace it."""
    gw = gateway()
    return render_template("account/card.html", stripe_js_url=gw.stripe_js_url,
                           publishable_key=gw.publishable_key or "", next_url=request.args.get("next") or "")


@bp.post("/account/card/setup")
@login_required
def start_setup():
    """Begin saving a card: a SetupIntent's client secret for Stripe.js."""
    return jsonify(cards().start_setup(current_user))


@bp.post("/account/card/confirm")
@login_required
def confirm_setup():
    """Remember the card Stripe.js confirmed."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("invalid_json", "Send a JSON object.")
    return jsonify(cards().finish_setup(current_user, data.get("setup_intent")))


@bp.get("/holds/<int:hold_id>/authenticate")
@login_required
def authenticate_hold(hold_id: int):
    """Confirm a card authorisation the bank asked about (the 402 answer links here)."""
    details = HoldAuthentication(db.session, clock(), gateway()).details(current_user, hold_id)
    return render_template("account/authenticate.html", hold=details)


@bp.post("/holds/<int:hold_id>/refresh")
@login_required
def refresh_hold(hold_id: int):
    """After Stripe.js's confirmation: the hold's status as Stripe now sees it."""
    return jsonify(HoldAuthentication(db.session, clock(), gateway()).refresh(current_user, hold_id))


@bp.get("/orders/<int:order_id>/pay")
@login_required
def pay_order(order_id: int):
    """Pay for an order whose card payment failed or needs the bank's check, before its deadline."""
    return render_template("account/pay.html", pay=buyer_orders().page(current_user, order_id))


@bp.post("/orders/<int:order_id>/pay")
@login_required
def start_payment(order_id: int):
    """Charge the saved card now (JSON): paid, or a client secret for the bank's check."""
    return jsonify(buyer_orders().pay(current_user, order_id))


@bp.post("/orders/<int:order_id>/pay/confirm")
@login_required
def confirm_payment(order_id: int):
    """After Stripe.js's check: the order's status as it now stands."""
    return jsonify(buyer_orders().confirm(current_user, order_id))


@bp.post("/orders/<int:order_id>/accept")
@login_required
def accept_offer(order_id: int):
    """Take a second-chance offer (form post); the order page shows what follows."""
    try:
        result = buyer_orders().accept_offer(current_user, order_id)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(f"/orders/{order_id}")
    if result["status"] == "action_required":
        return redirect(f"/orders/{order_id}/pay")
    flash(_("The lot is yours: your card has been charged."), "success")
    return redirect(f"/orders/{order_id}")


@bp.post("/orders/<int:order_id>/decline")
@login_required
def decline_offer(order_id: int):
    """Turn a second-chance offer down (form post)."""
    try:
        buyer_orders().decline_offer(current_user, order_id)
        flash(_("You declined the offer."), "success")
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(f"/orders/{order_id}")


# ---- my handles, and the previous one kept for 30 days (DESIGN.md section 5) -----------------
@bp.get("/account/handles")
@login_required
def my_handles():
    """The handles in my accounts, and previous ones kept for me after a purchase."""
    from ..wiring import handles

    service = handles()
    return render_template("account/handles.html", owned=service.linked_handles(current_user),
                           kept=service.kept(current_user))


@bp.post("/account/handles/<handle>/take-back")
@login_required
def take_back(handle: str):
    """Take a kept handle back into an account of mine (form post)."""
    from flask import url_for

    from ..wiring import handles

    try:
        row = handles().take_back(current_user, handle)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("@%(handle)s is yours again, in an account of its own.", handle=row.display), "success")
    return redirect(url_for("account.my_handles"))


# ---- backorders (DESIGN.md section 2) -------------------------------------------------------
def _backorders_page(form, status: int = 200):
    """Render my backorders with the backorder form (as submitted)."""
    from ..validation import page_args
    from ..wiring import backorders

    try:
        page, per_page = page_args({"page": request.args.get("page", 1), "per_page": 50})
    except ServiceError as exc:
        return render_template("errors/error.html", code=400, message=exc.message), 400
    result = backorders().mine(current_user, page=page, per_page=per_page)
    return render_template("account/backorders.html", form=form, result=result), status


@bp.get("/backorders")
@login_required
def my_backorders():
    """My backorders, and a form to backorder a handle not yet released."""
    from .forms import BackorderForm

    return _backorders_page(BackorderForm(handle=request.args.get("handle", "")[:40]))


@bp.post("/backorders")
@login_required
def place_backorder():
    """Backorder a handle; the reason is shown next to the field when it cannot be backordered."""
    from flask import url_for

    from ..wiring import backorders
    from .forms import BackorderForm

    form = BackorderForm()
    if not form.validate_on_submit():
        return _backorders_page(form, 400)
    try:
        backorder, created = backorders().place(current_user, form.handle.data)
    except ServiceError as exc:
        db.session.rollback()
        form.handle.errors = [exc.message]
        return _backorders_page(form, exc.status if exc.status < 500 else 400)
    if created:
        flash(_("Backordered @%(handle)s. We will tell you when it is released.", handle=backorder.handle_display),
              "success")
    else:
        flash(_("You already backordered @%(handle)s.", handle=backorder.handle_display), "info")
    return redirect(url_for("account.my_backorders"))


@bp.post("/backorders/<int:backorder_id>/cancel")
@login_required
def cancel_backorder(backorder_id: int):
    """Cancel one of my backorders (only mine, and only while the handle is not released)."""
    from flask import url_for

    from ..wiring import backorders

    try:
        backorders().cancel(current_user, backorder_id)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            return render_template("errors/error.html", code=404, message=exc.message), 404
        flash(exc.message, "error")
    else:
        flash(_("Backorder cancelled."), "success")
    return redirect(url_for("account.my_backorders"))


# ---- watchlist (issue 6) ----------------------------------------------------------------------
@bp.get("/account/watchlist")
@login_required
def watchlist():
    """The lots I watch, with their live prices and countdowns."""
    from ..validation import page_args
    from ..wiring import watchlist as watchlist_service

    try:
        page, per_page = page_args({"page": request.args.get("page", 1), "per_page": 48})
    except ServiceError as exc:
        return render_template("errors/error.html", code=400, message=exc.message), 400
    result = watchlist_service().mine(current_user, page=page, per_page=per_page)
    return render_template("account/watchlist.html", result=result,
                           watched_ids={item["lot"]["id"] for item in result["items"]})
