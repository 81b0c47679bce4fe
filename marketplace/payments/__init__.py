"""Payments: the Stripe gateway (the only module that imports `stripe`) and what it returns."""
from marketplace.payments.gateway import Card, Intent, PaymentError, StripeGateway, WebhookInvalid

__all__ = ["Card", "Intent", "PaymentError", "StripeGateway", "WebhookInvalid"]
