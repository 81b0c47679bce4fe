"""JSON endpoints for offers on fixed-price lots (docs/API.md): make, list, read, answer."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from ..extensions import db
from ..services.offers import offer_for
from ..services.purchases import order_json
from ..validation import page_args
from ..wiring import offers
from . import bp
from .routes import body, signed_in


@bp.post("/lots/<int:lot_id>/offers")
@signed_in
def make_offer(lot_id: int):
    """Offer below a fixed-price lot's price; a retried Idempotency-Key (or `key`) returns the first offer."""
    data = body()
    service = offers()
    offer, made = service.make(current_user, lot_id, data.get("amount_cents"), data.get("message"),
                               request.headers.get("Idempotency-Key") or data.get("key"))
    return jsonify(service.view(offer, current_user)), 201 if made else 200


@bp.get("/offers")
@signed_in
def my_offers():
    """My offers as buyer and as seller (`role`), newest first."""
    page, per_page = page_args(request.args)
    return jsonify(offers().mine(current_user, request.args.get("role", "all"), page, per_page))


@bp.get("/offers/<int:offer_id>")
@signed_in
def get_offer(offer_id: int):
    """An offer, for its buyer, its seller and admins (404 for anyone else)."""
    service = offers()
    return jsonify(service.view(offer_for(db.session, current_user, offer_id), current_user))


@bp.post("/offers/<int:offer_id>/accept")
@signed_in
def offer_accept(offer_id: int):
    """Accept the other side's offer: an order opens at its amount and the buyer's card is charged."""
    service = offers()
    offer, order = service.accept(current_user, offer_id)
    return jsonify({"offer": service.view(offer, current_user), "order": order_json(order)})


@bp.post("/offers/<int:offer_id>/decline")
@signed_in
def offer_decline(offer_id: int):
    """Turn the other side's offer down."""
    service = offers()
    return jsonify(service.view(service.decline(current_user, offer_id), current_user))


@bp.post("/offers/<int:offer_id>/counter")
@signed_in
def offer_counter(offer_id: int):
    """Answer the other side's offer with another amount; 201 with the new offer."""
    data = body()
    service = offers()
    made = service.counter(current_user, offer_id, data.get("amount_cents"), data.get("message"))
    return jsonify(service.view(made, current_user)), 201


@bp.post("/offers/<int:offer_id>/withdraw")
@signed_in
def offer_withdraw(offer_id: int):
    """Take back an open offer you made."""
    service = offers()
    return jsonify(service.view(service.withdraw(current_user, offer_id), current_user))
