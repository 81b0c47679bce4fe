"""The sellers' JSON endpoints: ownership claims, their lots, and the fees a sale pays."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from ..services.sellers import claim_json
from ..validation import page_args
from ..wiring import clock, listings, sellers
from . import bp
from .routes import body, idempotent, signed_in


@bp.get("/seller/claims")
@signed_in
def seller_claims():
    """My ownership claims, newest first."""
    now = clock().now()
    return jsonify({"items": [claim_json(c, now) for c in sellers().claims(current_user)]})


@bp.post("/seller/claims")
@signed_in
def create_claim():
    """Start proving I hold a handle's account: 201 a new claim with its code, 200 my open one."""
    claim, created = sellers().start_claim(current_user, body().get("handle"))
    return jsonify(claim_json(claim, clock().now())), 201 if created else 200


@bp.get("/seller/claims/<int:claim_id>")
@signed_in
def get_claim(claim_id: int):
    """One of my claims."""
    return jsonify(claim_json(sellers().claim(current_user, claim_id), clock().now()))


@bp.post("/seller/claims/<int:claim_id>/check")
@signed_in
def check_claim(claim_id: int):
    """Ask the platform whether the code is in the bio; verified links the account to me."""
    return jsonify(claim_json(sellers().check_claim(current_user, claim_id), clock().now()))


@bp.get("/seller/fees")
@signed_in
def seller_fees():
    """What a sale at `price_cents` pays: the buyer, the commission, the seller."""
    raw = request.args.get("price_cents", "")
    price = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else raw
    return jsonify(sellers().fees(price))


@bp.get("/seller/listings")
@signed_in
def seller_listings():
    """My lots as a seller, newest first."""
    page, per_page = page_args(request.args)
    return jsonify(sellers().lots(current_user, page, per_page))


@bp.post("/seller/listings")
@signed_in
@idempotent
def create_seller_listing():
    """List a handle of my linked account; `preview: true` answers what it pays and lists nothing."""
    service = sellers()
    result = service.list_handle(current_user, body())
    if isinstance(result, dict):
        return jsonify(result), 200
    return jsonify(service.lot_json(result, listings().view(result.id))), 201


@bp.post("/seller/listings/<int:lot_id>/cancel")
@signed_in
def cancel_seller_listing(lot_id: int):
    """Withdraw my lot while it has no bids and no orders."""
    service = sellers()
    listing = service.cancel(current_user, lot_id)
    return jsonify(service.lot_json(listing, listings().view(listing.id)))
