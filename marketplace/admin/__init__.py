"""Admin pages: create and edit lots, void bids, buyers' standing, the release console, orders, the audit log."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import inquiries, lots, organisations, routes, users  # noqa: E402,F401
