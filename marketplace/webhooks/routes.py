"""POST /webhooks/stripe: verify the signature, hand the event to the webhook service, answer JSON."""
from __future__ import annotations

from flask import jsonify, request

from ..errors import ServiceError
from ..extensions import db
from ..payments.gateway import WebhookInvalid
from ..wiring import clock, gateway, settlement
from . import bp


def _service():
    """The webhook service with the app's collaborators."""
    from ..services.webhooks import WebhookService
    return WebhookService(db.session, clock(), gateway(), settlement())


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    """A refused or failed event: its status (400 never retried usefully, 503 retried by Stripe)."""
    return jsonify(exc.to_dict()), exc.status


@bp.post("/webhooks/stripe")
def stripe_event():
    """Stripe delivers an event; 200 once handled (or already, or of no concern), 400 when unsigned."""
    try:
        event = gateway().parse_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
    except WebhookInvalid as exc:
        return jsonify({"error": {"code": "invalid_signature", "message": f"The signature does not verify: {exc}"}}), 400
    return jsonify({"received": True, "outcome": _service().handle(event)})
