"""Offers on fixed-price lots: the lot page's offer form, /offers, and the seller's open offers."""
from flask import Blueprint

bp = Blueprint("offers", __name__)

from . import routes  # noqa: E402,F401
