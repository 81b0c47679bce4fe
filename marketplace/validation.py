"""Strict parsing of JSON and form input: wrong types are refused, never coerced."""
from __future__ import annotations

from datetime import UTC, datetime

from .errors import BadRequest

MAX_CENTS = 100_000_000_00
# Beyond this, OFFSET overflows the databases' integers; no list is that long.
MAX_PAGE = 1_000_000
# An admin's reason for an audited action: long enough to explain, short enough to read in a list.
MAX_REASON = 500


def require_object(data: object) -> dict:
    """The body must be a JSON object."""
    if not isinstance(data, dict):
        raise BadRequest("invalid_body", "Send a JSON object.")
    return data


def cents(data: dict, name: str, required: bool = True, minimum: int = 1) -> int | None:
    """A whole number of cents: an int (not a float, string or bool) within bounds."""
    value = data.get(name)
    if value is None:
        if required:
            raise BadRequest("missing_field", "'%(name)s' is required (whole cents).", name=name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("invalid_amount", "'%(name)s' must be a whole number of cents, e.g. 150000 for $1,500.",
                                           name=name)
    if value < minimum or value > MAX_CENTS:
        raise BadRequest("invalid_amount", "'%(name)s' must be between %(minimum)s and %(max)s cents.",
                                           name=name, minimum=minimum, max=MAX_CENTS)
    return value


def integer(data: dict, name: str, default: int | None = None, minimum: int = 0,
            maximum: int = 10**9) -> int | None:
    """A bounded whole number."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise BadRequest("invalid_field", "'%(name)s' must be a whole number from %(minimum)s to %(maximum)s.",
                                          name=name, minimum=minimum, maximum=maximum)
    return value


def timestamp(data: dict, name: str, default: datetime | None = None) -> datetime | None:
    """An ISO 8601 time with a timezone (a trailing Z is fine)."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise BadRequest("invalid_time", "'%(name)s' must be an ISO 8601 time, e.g. 2026-12-01T18:00:00Z.", name=name)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("invalid_time", "'%(name)s' must be an ISO 8601 time, e.g. 2026-12-01T18:00:00Z.",
                                         name=name) from None
    if parsed.tzinfo is None:
        raise BadRequest("invalid_time", "'%(name)s' needs a timezone, e.g. a trailing Z for UTC.", name=name)
    return parsed.astimezone(UTC)


def reason(value: object, maximum: int = MAX_REASON) -> str:
    """A required reason for an audited admin action: text, its spaces collapsed, 1 to `maximum`
    characters (a 400 otherwise; never silently cut, since the person it is about may read it)."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("reason_required", "Give a reason; it is kept in the audit log.")
    value = " ".join(value.split())
    if len(value) > maximum:
        raise BadRequest("reason_too_long", "The reason must be at most %(max)s characters.", max=maximum)
    return value


def choice(data: dict, name: str, options, default=None) -> str:
    """One of a fixed set of strings."""
    value = data.get(name, default)
    allowed = [str(o) for o in options]
    if value not in allowed:
        raise BadRequest("invalid_field", "'%(name)s' must be one of: %(choices)s.",
                                          name=name, choices=', '.join(allowed))
    return value


def page_args(args) -> tuple[int, int]:
    """Page and page size from a query string, bounded."""
    try:
        page = int(args.get("page", 1))
        per_page = int(args.get("per_page", 50))
    except (TypeError, ValueError):
        raise BadRequest("invalid_page", "'page' and 'per_page' must be whole numbers.") from None
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= 100:
        raise BadRequest("invalid_page", "'page' is 1 to %(max)s; 'per_page' is 1 to 100.", max=MAX_PAGE)
    return page, per_page


def dollars_to_cents(text: object) -> int:
    """Parse what a person types ("1,025", "$1025.50") into whole cents, without floats."""
    from decimal import Decimal, InvalidOperation

    if not isinstance(text, str) or not text.strip():
        raise BadRequest("invalid_amount", "Enter an amount in dollars, e.g. 1,250.")
    cleaned = text.strip().replace(",", "").replace("$", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadRequest("invalid_amount", "Enter an amount in dollars, e.g. 1,250.") from None
    if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -2:
        raise BadRequest("invalid_amount", "Enter a positive amount with at most two decimals.")
    cents_value = int(value * 100)
    if cents_value > MAX_CENTS:
        raise BadRequest("invalid_amount", "That amount is above the largest bid we accept.")
    return cents_value
