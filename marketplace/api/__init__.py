"""The public JSON API, version 1 (API.md)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from . import organisations, routes  # noqa: E402,F401
from . import inquiries  # noqa: E402,F401
from . import sellers  # noqa: E402,F401
from . import offers  # noqa: E402,F401
from . import admin  # noqa: E402,F401
