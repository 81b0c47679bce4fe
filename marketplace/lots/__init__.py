"""Lots for everyone: the market list, lot pages, bidding pages and live socket events."""
from flask import Blueprint

bp = Blueprint("lots", __name__)

from . import events, routes  # noqa: E402,F401
