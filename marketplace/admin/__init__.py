"""Admin pages: create lots from released handles, edit reserves, read the audit log."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import inquiries, organisations, routes  # noqa: E402,F401
