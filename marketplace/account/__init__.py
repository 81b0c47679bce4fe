"""The buyer's account: saved card, and confirming a card hold with the bank."""
from flask import Blueprint

bp = Blueprint("account", __name__)

from . import routes  # noqa: E402,F401
