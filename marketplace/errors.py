"""Errors services raise; the edges turn them into a status code and a sentence.

Every refusal, the engine's (`from_rule`) and the services', is an English template with named
parameters; `translate` puts it into the reader's language when it is read, so the `code` stays
stable for clients while the `message` follows the request's language.
"""
from datetime import UTC, date, datetime

from babel import dates as babel_dates
from flask import has_app_context
from flask_babel import format_date, gettext

from auctions import RuleViolation
from auctions.errors import N_, render  # noqa: F401  (N_ marks templates chosen before raising)

from .clock import iso
from .i18n import datetime_text, usd

# Engine rule codes and the HTTP status each maps to: 409 conflicts with the lot's current
# state, 422 a rule refused it, 400 bad input, 403 not allowed.
RULE_STATUS = {
    "invalid_amount": 400,
    "below_minimum": 409,
    "not_above_own_max": 409,
    "ended": 409,
    "not_started": 409,
    "held_by_other": 409,
    "price_changed": 409,
    "buy_now_unavailable": 409,
    "seller_cannot_bid": 403,
}


def translate(template: str, params: dict) -> str:
    """`template` (an English msgid with %(name)s placeholders) in the current language, filled
    from `params`: `x_cents` amounts fill %(x)s as money and datetimes as dates, the locale's way.

    The one translation point of every refusal, the engine's and the services'. Without a request
    (the worker) or without a translation, gettext gives the English back.
    """
    return render(gettext(template), {name: _shown(value) for name, value in params.items()}, money=usd)


def _shown(value):
    """A parameter as the reader's locale writes it: datetimes and days as dates, else as is
    (English, in UTC, outside any app, where Flask-Babel has no settings to read)."""
    if isinstance(value, datetime):
        return datetime_text(value) if has_app_context() else babel_dates.format_datetime(
            value, "medium", tzinfo=UTC, locale="en")
    if isinstance(value, date):
        return format_date(value, "medium") if has_app_context() else babel_dates.format_date(
            value, "medium", locale="en")
    return value


class ServiceError(Exception):
    """A refused use case: nothing was changed.

    `code` is stable for clients; `message` is `template` in the reader's language, rendered with
    `params`. Raise sites pass the English template as a literal, which `make translations`
    extracts (the error classes are extraction keywords in the Makefile):
    `raise Conflict("handle_released", "@%(handle)s is already released.", handle=name)`.
    """

    status = 422

    def __init__(self, code: str, message: str, status: int | None = None, /, **params):
        super().__init__(code, message)
        self.code = code
        self.template = message
        self.params = params
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The sentence in the language of whoever reads it now: an error made while serving one
        request (a batch leader placing others' bids) still reaches each bidder in their own."""
        return translate(self.template, self.params)

    def __str__(self) -> str:
        return self.message

    @property
    def details(self) -> dict:
        """The refusal's data for programs, beside its sentence for people (API.md): amounts in
        cents, times in ISO 8601, names as text; e.g. `below_minimum` gives `minimum_cents`."""
        shown = {}
        for name, value in self.params.items():
            if isinstance(value, datetime):
                shown[name] = iso(value)
            elif isinstance(value, date):
                shown[name] = value.isoformat()
            elif isinstance(value, (int, str)):  # bool is an int: sent as true/false
                shown[name] = value
        return shown

    def to_dict(self) -> dict:
        """The API's error body (`details` only when the refusal has data)."""
        body = {"code": self.code, "message": self.message}
        if details := self.details:
            body["details"] = details
        return {"error": body}


class BadRequest(ServiceError):
    """Malformed input."""

    status = 400


class NotFound(ServiceError):
    """No such thing (or not yours to see)."""

    status = 404


class Forbidden(ServiceError):
    """Signed in, but not allowed."""

    status = 403


class Conflict(ServiceError):
    """Conflicts with the current state."""

    status = 409


def from_rule(violation: RuleViolation, statuses: dict[str, int] = RULE_STATUS) -> ServiceError:
    """An engine refusal as a service error with its status (from `statuses`, else 422), its
    message in the reader's language (the engine marks its English templates with N_; the `code`
    stays the engine's)."""
    return ServiceError(violation.code, violation.template, statuses.get(violation.code, 422),
                        **violation.params)
