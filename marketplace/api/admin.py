"""JSON endpoints for admins' actions beyond creating and editing lots: voiding a bid, and a
buyer's standing (verification, strikes). Each is audited by its service."""
from flask import jsonify
from flask_login import current_user

from ..wiring import listings, voids
from . import bp
from .routes import admin_only, body


@bp.post("/admin/lots/<int:lot_id>/voids")
@admin_only
def admin_void_bid(lot_id: int):
    """Void one bidder's maximum on a live auction, with a reason; the price follows from the rest."""
    data = body()
    voids().void(current_user, lot_id, data.get("bidder_alias"), data.get("reason"))
    return jsonify(listings().view(lot_id, admin=True)), 200
