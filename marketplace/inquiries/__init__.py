"""Handle inquiries for organisations: ask about handles, read the answers, accept a quote."""
from flask import Blueprint

bp = Blueprint("inquiries", __name__)

from . import routes  # noqa: E402,F401
