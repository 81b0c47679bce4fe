"""Errors services raise; the edges turn them into a status code and a sentence."""
from auctions import RuleViolation

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


class ServiceError(Exception):
    """A refused use case: nothing was changed."""

    status = 422

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status

    def to_dict(self) -> dict:
        """The API's error body."""
        return {"error": {"code": self.code, "message": self.message}}


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


def from_rule(violation: RuleViolation) -> ServiceError:
    """Translate an engine refusal into a service error with its status."""
    return ServiceError(violation.code, violation.message, RULE_STATUS.get(violation.code, 422))
