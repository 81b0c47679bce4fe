"""Saving a card with Stripe.js (SetupIntent), for bidding and buying."""
from flask import jsonify, render_template, request
from flask_login import current_user, login_required

from ..errors import BadRequest, ServiceError
from ..extensions import db
from ..services.payments import HoldAuthentication
from ..wiring import cards, clock, gateway
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
