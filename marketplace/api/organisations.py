"""JSON endpoints for the caller's organisation (DESIGN.md section 6)."""
from flask import jsonify
from flask_login import current_user

from ..extensions import db
from ..services.organisations import organisation_json
from ..wiring import clock, organisations
from . import bp
from .routes import body, signed_in


@bp.get("/organisation")
@signed_in
def get_organisation():
    """The organisation I act for, its verification, subscription and standing; 404 when none."""
    org = organisations().mine(current_user)
    return jsonify(organisation_json(org, current_user, clock().now(), db.session))


@bp.post("/organisation")
@signed_in
def create_organisation():
    """Create an organisation (I become its owner); an admin verifies it next."""
    org = organisations().create(current_user, body())
    return jsonify(organisation_json(org, current_user, clock().now(), db.session)), 201
