"""JSON endpoints for admins' actions beyond creating and editing lots: voiding a bid, and a
buyer's standing (verification, strikes). Each is audited by its service."""
from flask import jsonify, request
from flask_login import current_user

from ..services.buyer_standing import admin_user_json
from ..validation import page_args
from ..wiring import buyer_standing, listings, voids
from . import bp
from .routes import admin_only, body


@bp.post("/admin/lots/<int:lot_id>/voids")
@admin_only
def admin_void_bid(lot_id: int):
    """Void one bidder's maximum on a live auction, with a reason; the price follows from the rest."""
    data = body()
    voids().void(current_user, lot_id, data.get("bidder_alias"), data.get("reason"))
    return jsonify(listings().view(lot_id, admin=True)), 200


@bp.get("/admin/users")
@admin_only
def admin_users():
    """Accounts, newest first: `q` in the email or alias, `standing` verified, unverified or strikes."""
    page, per_page = page_args(request.args)
    return jsonify(buyer_standing().search(request.args.get("q") or None, request.args.get("standing") or None,
                                           page, per_page))


@bp.post("/admin/users/<int:user_id>/verification")
@admin_only
def admin_set_verification(user_id: int):
    """Verify a buyer (`verified: true`) or take it away (`false`), with a reason the buyer reads."""
    data = body()
    user = buyer_standing().set_verified(current_user, user_id, data.get("verified"), data.get("reason"))
    return jsonify(admin_user_json(user)), 200


@bp.post("/admin/users/<int:user_id>/strikes/clear")
@admin_only
def admin_clear_strikes(user_id: int):
    """Clear one strike from a buyer (every strike with `all: true`), with a reason the buyer reads."""
    data = body()
    user = buyer_standing().clear_strikes(current_user, user_id, data.get("reason"), clear_all=data.get("all", False))
    return jsonify(admin_user_json(user)), 200
