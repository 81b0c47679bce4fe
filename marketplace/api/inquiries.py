"""JSON endpoints for handle inquiries: ask, list, read, accept a quote."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from ..extensions import db
from ..security import inquiry_limit
from ..services.inquiries import inquiry_json
from ..validation import page_args
from ..wiring import clock, inquiries
from . import bp
from .routes import body, signed_in


@bp.post("/inquiries")
@signed_in
@inquiry_limit
def create_inquiry():
    """Ask about 1 to 50 handles (a pasted list or a list of strings) with a reason."""
    data = body()
    service = inquiries()
    inquiry = service.submit(current_user, data.get("handles"), data.get("reason"))
    return jsonify(inquiry_json(db.session, inquiry, clock().now())), 201


@bp.get("/inquiries")
@signed_in
def list_inquiries():
    """My organisation's inquiries, newest first."""
    page, per_page = page_args(request.args)
    return jsonify(inquiries().mine(current_user, page, per_page))


@bp.get("/inquiries/<int:inquiry_id>")
@signed_in
def get_inquiry(inquiry_id: int):
    """One inquiry with its answers and quote (its organisation's users and admins)."""
    inquiry = inquiries().get_for(current_user, inquiry_id)
    return jsonify(inquiry_json(db.session, inquiry, clock().now()))


@bp.post("/inquiries/<int:inquiry_id>/accept")
@signed_in
@inquiry_limit
def accept_inquiry(inquiry_id: int):
    """Accept all or part of the quote: each handle becomes an order charged to the saved card."""
    return jsonify(inquiries().accept(current_user, inquiry_id, body().get("item_ids"))), 200
