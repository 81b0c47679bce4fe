"""Sellers: linking a handle by ownership proof, listing it, the seller dashboard and payouts,
and the development stand-in for the platform's profile editor."""
from flask import Blueprint

bp = Blueprint("sellers", __name__)

from . import routes  # noqa: E402,F401
