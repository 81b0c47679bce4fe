"""Order pages: a buyer's receipt and progress, a seller's sale, and the user's orders list."""
from flask import Blueprint

bp = Blueprint("orders", __name__)

from . import routes  # noqa: E402,F401
