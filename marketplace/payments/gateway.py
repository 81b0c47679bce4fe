"""The payment gateway: the one module that talks to Stripe (through the official SDK).

Everything else in the app goes through `StripeGateway` and sees small dataclasses and
`PaymentError`, never a Stripe object. Money is int cents in US dollars. Every call that
changes something at Stripe takes the caller's idempotency key; a method that makes several
calls derives one key per call from it ("<key>:attach", "<key>:default").

In development and tests `api_base` points the SDK at localstripe (devsupport/fake_stripe.py),
which differs from Stripe in ways this module absorbs, each marked "localstripe:" below.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import sha256

import stripe

log = logging.getLogger(__name__)
CURRENCY = "usd"
STRIPE_JS_URL = "https://js.stripe.com/v3/"
WEBHOOK_TOLERANCE_SECONDS = 300
# The organisations' subscription (DESIGN.md section 6): one product, one monthly plan.
ORG_PRODUCT_ID = "hx_organisations"
ORG_PRODUCT_NAME = "Handle Exchange for organisations"
ORG_PLAN_ID = "hx_organisations_monthly"
ORG_PRICE_CENTS = 100_000


class PaymentError(Exception):
    """A payment call failed, with a code the caller can act on.

    card_declined, authentication_required (`intent_id` is the intent the buyer must
    authenticate in the browser), invalid_request (a bug or a bad id: do not retry as is),
    unavailable (network trouble, Stripe 5xx or rate limit: retry later with the same key).
    """

    def __init__(self, code: str, message: str, decline_code: str | None = None,
                 intent_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.decline_code = decline_code
        self.intent_id = intent_id


class WebhookInvalid(Exception):
    """A webhook whose signature does not verify (answer 400)."""


@dataclass(frozen=True)
class Card:
    """A saved card as the app shows it."""

    payment_method_id: str
    brand: str
    last4: str


@dataclass(frozen=True)
class Subscription:
    """A Stripe Billing subscription as the app needs it (times are Unix seconds)."""

    id: str
    status: str
    customer_id: str | None
    current_period_end: int | None
    cancel_at_period_end: bool
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent: a hold (requires_capture) or a charge (succeeded), or on its way."""

    id: str
    status: str
    amount_cents: int
    amount_capturable_cents: int
    amount_received_cents: int
    charge_id: str | None
    client_secret: str | None
    metadata: dict[str, str] = field(default_factory=dict)


class StripeGateway:
    """Stripe behind a small interface; one instance per set of keys, no global SDK state."""

    def __init__(self, secret_key: str, api_base: str | None = None,
                 publishable_key: str | None = None, webhook_secret: str | None = None,
                 *, timeout: float = 20.0, max_network_retries: int = 2):
        """Configure a client for these keys; `api_base` points it at a development server."""
        if not secret_key:
            raise ValueError("StripeGateway needs a secret key")
        self.api_base = api_base.rstrip("/") if api_base else None
        self.publishable_key = publishable_key
        self.stripe_js_url = f"{self.api_base}/js.stripe.com/v3/" if self.api_base else STRIPE_JS_URL
        self._webhook_secret = webhook_secret
        self._http = stripe.RequestsClient(timeout=timeout)
        bases = {"api": self.api_base, "connect": self.api_base, "files": self.api_base}
        self._client = stripe.StripeClient(
            secret_key, http_client=self._http, max_network_retries=max_network_retries,
            base_addresses={k: v for k, v in bases.items() if v} or None)
        self._v1 = self._client.v1

    def __repr__(self) -> str:
        """Name the server, never the keys."""
        return f"StripeGateway({self.api_base or 'stripe'})"

    @property
    def is_dev_server(self) -> bool:
        """Whether this gateway talks to the development server rather than Stripe."""
        return self.api_base is not None

    def close(self) -> None:
        """Close this thread's pooled HTTP connections."""
        self._http.close()

    # Customers and cards

    def create_customer(self, email: str, name: str, idempotency_key: str) -> str:
        """Create a Stripe customer and return its id."""
        with _translated():
            return self._v1.customers.create({"email": email, "name": name},
                                             _options(idempotency_key)).id

    def create_setup_intent(self, customer_id: str, idempotency_key: str) -> tuple[str, str]:
        """Start saving a card for off-session use; return (id, client_secret) for the page."""
        with _translated():
            setup = self._v1.setup_intents.create(
                {"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]},
                _options(idempotency_key))
        return setup.id, setup.client_secret

    def card_from_setup_intent(self, setup_intent_id: str, customer_id: str) -> Card | None:
        """The card a confirmed SetupIntent of this customer saved, or None while it is not
        confirmed or when it is another customer's."""
        with _translated():
            setup = self._v1.setup_intents.retrieve(setup_intent_id)
            if _id(setup.customer) != customer_id or setup.status != "succeeded" or not setup.payment_method:
                return None
            return _card(self._v1.payment_methods.retrieve(_id(setup.payment_method)).to_dict())

    def attach_card(self, customer_id: str, payment_method_id: str, idempotency_key: str) -> Card:
        """Attach a card to the customer and make it their default (a declined card raises)."""
        with _translated():
            # Test ids such as pm_card_visa become a new payment method: use the id returned.
            method = self._v1.payment_methods.attach(
                payment_method_id, {"customer": customer_id}, _options(idempotency_key, "attach"))
            self._v1.customers.update(
                customer_id, {"invoice_settings": {"default_payment_method": method.id}},
                _options(idempotency_key, "default"))
        return _card(method.to_dict())

    # Holds and charges

    def authorize(self, customer_id: str, payment_method_id: str, amount_cents: int,
                  idempotency_key: str, metadata: dict[str, str]) -> Intent:
        """Hold `amount_cents` on the saved card (manual capture, off-session, confirmed now)."""
        return self._pay(customer_id, payment_method_id, amount_cents, idempotency_key, metadata,
                         capture_method="manual", expected="requires_capture")

    def charge(self, customer_id: str, payment_method_id: str, amount_cents: int,
               idempotency_key: str, metadata: dict[str, str]) -> Intent:
        """Charge the saved card off-session (automatic capture)."""
        return self._pay(customer_id, payment_method_id, amount_cents, idempotency_key, metadata,
                         capture_method="automatic", expected="succeeded")

    def pay_with_buyer(self, customer_id: str, payment_method_id: str, amount_cents: int,
                       idempotency_key: str, metadata: dict[str, str]) -> Intent:
        """Charge the saved card with the buyer present (on the payment page): an intent the
        bank wants confirmed comes back as `requires_action` for Stripe.js; a decline raises."""
        try:
            return self._pay(customer_id, payment_method_id, amount_cents, idempotency_key, metadata,
                             capture_method="automatic", expected="succeeded", off_session=False)
        except PaymentError as exc:
            if exc.code == "authentication_required" and exc.intent_id:
                return self.retrieve(exc.intent_id)
            raise

    def _pay(self, customer_id, payment_method_id, amount_cents, idempotency_key, metadata, *,
             capture_method, expected, off_session: bool = True) -> Intent:
        """Create and confirm a PaymentIntent (off-session unless told); anything but `expected` raises."""
        _check_amount(amount_cents)
        params = {
            "amount": amount_cents, "currency": CURRENCY, "customer": customer_id,
            "payment_method": payment_method_id, "payment_method_types": ["card"],
            "capture_method": capture_method, "confirm": True, "off_session": off_session,
            # localstripe ignores idempotency keys: the key in the metadata lets reconciliation
            # find the intent a crashed attempt made (list_intents).
            "metadata": {**metadata, "idempotency_key": idempotency_key},
        }
        with _translated():
            intent = _intent(self._v1.payment_intents.create(params, _options(idempotency_key)))
        if intent.status == expected or (expected == "succeeded" and intent.status == "processing"):
            return intent
        if intent.status == "requires_action":
            # localstripe: an off-session payment needing authentication does not raise (Stripe
            # answers 402 authentication_required); it leaves the intent waiting for the buyer.
            raise PaymentError("authentication_required", "the bank asks the cardholder to "
                               "authenticate this payment", "authentication_required", intent.id)
        raise PaymentError("card_declined", f"payment ended as {intent.status}", intent_id=intent.id)

    def capture(self, intent_id: str, amount_cents: int, idempotency_key: str) -> Intent:
        """Capture `amount_cents` of a hold (at most the amount held); the rest is released."""
        _check_amount(amount_cents)
        try:
            with _translated():
                return _intent(self._v1.payment_intents.capture(
                    intent_id, {"amount_to_capture": amount_cents}, _options(idempotency_key)))
        except PaymentError as exc:
            # Re-running a step after a crash: an intent already captured for this amount is
            # the outcome wanted (localstripe ignores idempotency keys, so it refuses instead).
            current = self.retrieve(intent_id) if exc.code == "invalid_request" else None
            if current and current.status == "succeeded" and current.amount_received_cents == amount_cents:
                return current
            raise

    def cancel(self, intent_id: str, idempotency_key: str) -> Intent:
        """Release a hold; cancelling an intent already cancelled is not an error."""
        try:
            with _translated():
                return _intent(self._v1.payment_intents.cancel(intent_id, None,
                                                               _options(idempotency_key)))
        except PaymentError as exc:
            current = self.retrieve(intent_id) if exc.code == "invalid_request" else None
            if current and current.status == "canceled":
                return current
            raise

    def retrieve(self, intent_id: str) -> Intent:
        """The current state of a PaymentIntent."""
        with _translated():
            return _intent(self._v1.payment_intents.retrieve(intent_id))

    def list_intents(self, customer_id: str | None = None) -> list[Intent]:
        """Every PaymentIntent (of one customer), for reconciliation."""
        params = {"limit": 100}
        if customer_id and not self.is_dev_server:
            params["customer"] = customer_id  # localstripe: refuses this filter (400)
        with _translated():
            found = list(self._v1.payment_intents.list(params).auto_paging_iter())
        return [_intent(pi) for pi in found if customer_id in (None, _id(pi.customer))]

    def intents_of(self, customer_ids, created_after: int | None = None) -> dict[str, list[Intent]]:
        """The PaymentIntents of several customers (made after a Unix time), by customer, for reconciliation."""
        wanted = set(customer_ids)
        with _translated():
            if self.is_dev_server:  # localstripe: no customer or created filter; one listing serves all
                found = list(self._v1.payment_intents.list({"limit": 100}).auto_paging_iter())
            else:
                since = {"created": {"gte": created_after}} if created_after else {}
                found = [pi for customer in sorted(wanted) for pi in self._v1.payment_intents.list(
                    {"limit": 100, "customer": customer, **since}).auto_paging_iter()]
        by_customer: dict[str, list[Intent]] = {}
        for pi in found:
            if _id(pi.customer) in wanted:
                by_customer.setdefault(_id(pi.customer), []).append(_intent(pi))
        return by_customer

    def refund(self, intent_id: str, amount_cents: int, idempotency_key: str) -> str:
        """Refund part or all of what an intent received; return the refund id."""
        _check_amount(amount_cents)
        received = self.retrieve(intent_id).amount_received_cents
        with _translated():
            listed = self._v1.refunds.list({"payment_intent": intent_id, "limit": 100})
            refunds = [r.to_dict() for r in listed.auto_paging_iter()]
        refunds = [r for r in refunds if r.get("payment_intent") == intent_id
                   and r.get("status") in ("succeeded", "pending")]
        # localstripe ignores idempotency keys and does not check refunds against the amount
        # charged: a re-run finds its refund by the key in the metadata, and the amount is checked here.
        for done in refunds:
            if (done.get("metadata") or {}).get("idempotency_key") == idempotency_key:
                return done["id"]
        left = received - sum(r["amount"] for r in refunds)
        if amount_cents > left:
            raise PaymentError("invalid_request", f"a refund of {amount_cents} cents exceeds the "
                               f"{left} cents left to refund")
        with _translated():
            return self._v1.refunds.create(
                {"payment_intent": intent_id, "amount": amount_cents,
                 "metadata": {"idempotency_key": idempotency_key}}, _options(idempotency_key)).id

    # Seller payouts (Connect: separate charges and transfers)

    def create_connected_account(self, email: str, idempotency_key: str) -> str:
        """Create an Express connected account for a seller; return its id."""
        with _translated():
            return self._v1.accounts.create(
                {"type": "express", "email": email,
                 "capabilities": {"transfers": {"requested": True}}},
                _options(idempotency_key)).id

    def account_onboarding_url(self, account_id: str, return_url: str, refresh_url: str) -> str:
        """A one-time link where the seller completes Stripe's onboarding."""
        with _translated():
            return self._v1.account_links.create(
                {"account": account_id, "type": "account_onboarding",
                 "return_url": return_url, "refresh_url": refresh_url}).url

    def account_status(self, account_id: str) -> dict[str, bool]:
        """Where a seller's onboarding stands: details submitted, payouts enabled."""
        with _translated():
            account = self._v1.accounts.retrieve(account_id).to_dict()
        return {"details_submitted": bool(account.get("details_submitted")),
                "payouts_enabled": bool(account.get("payouts_enabled"))}

    def transfer(self, amount_cents: int, destination: str, source_charge_id: str,
                 idempotency_key: str, metadata: dict[str, str]) -> str:
        """Pay a seller from the funds of a captured charge; return the transfer id."""
        _check_amount(amount_cents)
        with _translated():
            return self._v1.transfers.create(
                {"amount": amount_cents, "currency": CURRENCY, "destination": destination,
                 "source_transaction": source_charge_id, "metadata": metadata},
                _options(idempotency_key)).id

    def list_transfers(self, destination: str | None = None) -> list[dict]:
        """Transfers (to one connected account), newest first."""
        params = {"limit": 100, **({"destination": destination} if destination else {})}
        with _translated():
            found = [t.to_dict() for t in self._v1.transfers.list(params).auto_paging_iter()]
        return [{"id": t["id"], "amount_cents": t["amount"], "destination": _id(t["destination"]),
                 "source_transaction": _id(t.get("source_transaction")),
                 "metadata": t.get("metadata") or {}} for t in found]

    def reverse_transfer(self, transfer_id: str, amount_cents: int, idempotency_key: str) -> str:
        """Take back part or all of a seller's payout (after a refund); return the reversal id."""
        _check_amount(amount_cents)
        with _translated():
            return self._v1.transfers.reversals.create(
                transfer_id, {"amount": amount_cents, "metadata": {"idempotency_key": idempotency_key}},
                _options(idempotency_key)).id

    # Billing: the organisations' monthly subscription

    def ensure_organisation_plan(self) -> str:
        """The organisations' plan ($1,000 a month), made once at Stripe; its id.

        localstripe: has no Prices API (nor lookup keys), only the older Plans API, so the
        product and its plan are found and made under fixed ids. Stripe accepts a plan's id
        wherever a price's id goes, so the same plan serves both.
        """
        plan = self._find(self._v1.plans, ORG_PLAN_ID)
        if plan is None:
            if self._find(self._v1.products, ORG_PRODUCT_ID) is None:
                self._create_once(self._v1.products, ORG_PRODUCT_ID, {
                    "id": ORG_PRODUCT_ID, "name": ORG_PRODUCT_NAME, "metadata": {"app": "handle_exchange"}})
            plan = self._create_once(self._v1.plans, ORG_PLAN_ID, {
                "id": ORG_PLAN_ID, "product": ORG_PRODUCT_ID, "amount": ORG_PRICE_CENTS,
                "currency": CURRENCY, "interval": "month", "nickname": "Organisations, monthly"})
        data = plan.to_dict()
        if (data.get("amount"), data.get("currency"), data.get("interval")) != (ORG_PRICE_CENTS, CURRENCY, "month"):
            raise PaymentError("invalid_request", f"plan {ORG_PLAN_ID} at Stripe is not "
                               f"{ORG_PRICE_CENTS} {CURRENCY} a month; fix it at Stripe")
        return plan.id

    def _find(self, resource, object_id: str):
        """An object by id, or None when Stripe has no such object."""
        with _translated():
            try:
                return resource.retrieve(object_id)
            except stripe.InvalidRequestError as exc:
                if exc.http_status == 404:
                    return None
                raise

    def _create_once(self, resource, object_id: str, params: dict):
        """Create an object under a fixed id; when a concurrent caller made it first, that one."""
        try:
            with _translated():
                return resource.create(params, _options(f"create:{object_id}"))
        except PaymentError as exc:
            found = self._find(resource, object_id) if exc.code == "invalid_request" else None
            if found is None:
                raise
            return found

    def create_subscription(self, customer_id: str, payment_method_id: str, plan_id: str,
                            idempotency_key: str, metadata: dict[str, str]) -> Subscription:
        """Subscribe a customer to a plan, paid by this card; the first invoice is paid now.

        A first payment that does not go through raises (card_declined, authentication_required)
        and leaves no subscription behind.
        """
        # localstripe ignores idempotency keys: a retry finds the subscription by the key kept in
        # its metadata (one that ended does not count: a new attempt may follow a failed one).
        for sub in self.subscriptions_of(customer_id):
            if sub.metadata.get("idempotency_key") == idempotency_key and sub.status not in (
                    "canceled", "incomplete_expired"):
                return sub
        # The card becomes the customer's default for invoices rather than the subscription's own
        # (which localstripe refuses anyway): a card saved later then pays the next renewal too.
        # localstripe: no items[].price; it takes the plan's id as items[].plan.
        item = {"plan": plan_id} if self.is_dev_server else {"price": plan_id}
        params = {"customer": customer_id, "items": [item], "payment_behavior": "error_if_incomplete",
                  "metadata": {**metadata, "idempotency_key": idempotency_key}}
        with _translated():
            self._v1.customers.update(
                customer_id, {"invoice_settings": {"default_payment_method": payment_method_id}},
                _options(idempotency_key, "default"))
            sub = _subscription(self._v1.subscriptions.create(params, _options(idempotency_key)))
        if sub.status == "incomplete":
            # localstripe: a declined first payment leaves the subscription incomplete even with
            # error_if_incomplete (Stripe answers 402 and keeps none); end it and refuse the same way.
            self.cancel_subscription(sub.id, f"{idempotency_key}:abandon", at_period_end=False)
            raise PaymentError("card_declined", "the first payment of the subscription did not go through")
        return sub

    def retrieve_subscription(self, subscription_id: str) -> Subscription:
        """The current state of a subscription."""
        with _translated():
            return _subscription(self._v1.subscriptions.retrieve(subscription_id))

    def subscriptions_of(self, customer_id: str) -> list[Subscription]:
        """Every subscription of a customer, ended ones too."""
        with _translated():
            found = self._v1.subscriptions.list({"customer": customer_id, "status": "all", "limit": 100})
            return [_subscription(s) for s in found.auto_paging_iter()]

    def cancel_subscription(self, subscription_id: str, idempotency_key: str,
                            at_period_end: bool = True) -> Subscription:
        """End a subscription when its paid period ends (the default) or now; ending one already ended is not an error."""
        try:
            with _translated():
                if at_period_end:
                    return _subscription(self._v1.subscriptions.update(
                        subscription_id, {"cancel_at_period_end": True}, _options(idempotency_key)))
                return _subscription(self._v1.subscriptions.cancel(subscription_id, None, _options(idempotency_key)))
        except PaymentError as exc:
            current = self.retrieve_subscription(subscription_id) if exc.code == "invalid_request" else None
            if current and current.status in ("canceled", "incomplete_expired"):
                return current
            raise

    # Webhooks and the development server

    def parse_webhook(self, payload: bytes, signature_header: str) -> dict:
        """Verify a webhook's Stripe-Signature and return the event as a dict."""
        if not self._webhook_secret:
            raise WebhookInvalid("no webhook secret is configured")
        try:
            stripe.WebhookSignature.verify_header(payload, signature_header, self._webhook_secret,
                                                  WEBHOOK_TOLERANCE_SECONDS)
            event = json.loads(payload)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise WebhookInvalid(str(exc).split("\n")[0]) from None
        if not isinstance(event, dict) or "type" not in event:
            raise WebhookInvalid("the payload is not an event")
        return event

    def register_dev_webhook(self, url: str, secret: str) -> None:
        """Ask the development server to send its events to `url`, signed with `secret`."""
        hook_id = "hx_" + sha256(url.encode()).hexdigest()[:12]
        self._dev_config("POST", f"/_config/webhooks/{hook_id}", {"url": url, "secret": secret})

    def reset_dev_data(self) -> None:
        """Empty the development server (customers, intents, accounts, transfers...)."""
        self._dev_config("DELETE", "/_config/data")

    def _dev_config(self, method: str, path: str, form: dict | None = None) -> None:
        """Call one of localstripe's /_config endpoints (they exist on no real Stripe)."""
        if not self.is_dev_server:
            raise RuntimeError("only the development Stripe server has /_config endpoints")
        data = urllib.parse.urlencode(form).encode() if form else None
        request = urllib.request.Request(self.api_base + path, data=data, method=method)
        try:
            # api_base is the operator's configured development server (http://127.0.0.1:...), not input.
            with urllib.request.urlopen(request, timeout=10):  # nosec B310
                pass
        except urllib.error.HTTPError as exc:
            exc.close()
            raise PaymentError("invalid_request", f"{method} {path} answered {exc.code}") from None
        except OSError as exc:
            raise PaymentError("unavailable", f"{method} {path}: {exc}") from None


def _options(idempotency_key: str, step: str | None = None) -> dict:
    """Request options carrying the idempotency key (one key per distinct call)."""
    if not isinstance(idempotency_key, str) or not idempotency_key:
        raise ValueError("an idempotency key is required")
    return {"idempotency_key": f"{idempotency_key}:{step}" if step else idempotency_key}


def _check_amount(amount_cents: int) -> None:
    """Refuse a non-positive or non-integer amount before calling Stripe."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise PaymentError("invalid_request", f"amount must be a positive number of cents, "
                           f"not {amount_cents!r}")


def _id(value) -> str | None:
    """The id of a field that is an id or (expanded) an object."""
    return value if value is None or isinstance(value, str) else value["id"]


def _card(method: dict) -> Card:
    """A Card from a payment method's fields."""
    card = method.get("card") or {}
    return Card(payment_method_id=method["id"], brand=card.get("brand", "card"),
                last4=card.get("last4", ""))


def _subscription(sub) -> Subscription:
    """A Subscription from Stripe's object."""
    data = sub.to_dict()
    period_end = data.get("current_period_end")
    if period_end is None:  # Stripe's newer API versions keep the period on the items
        items = (data.get("items") or {}).get("data") or []
        period_end = items[0].get("current_period_end") if items else None
    return Subscription(id=data["id"], status=data["status"], customer_id=_id(data.get("customer")),
                        current_period_end=period_end,
                        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
                        metadata=dict(data.get("metadata") or {}))


def _intent(pi) -> Intent:
    """An Intent from a PaymentIntent."""
    data = pi.to_dict()
    charge = data.get("latest_charge")  # localstripe: a whole object, Stripe: an id
    capturable = data.get("amount_capturable")
    received = data.get("amount_received")
    if capturable is None:  # localstripe has neither field: work them out from the charge
        capturable = data["amount"] if data["status"] == "requires_capture" else 0
    if received is None:
        received = 0
        if isinstance(charge, dict) and charge.get("captured") and charge.get("status") == "succeeded":
            # localstripe books the released part of a partial capture as a refund without a
            # payment_intent; refunds made through refund() carry one.
            released = sum(r["amount"] for r in (charge.get("refunds") or {}).get("data", [])
                           if not r.get("payment_intent"))
            received = charge["amount"] - released
    return Intent(id=data["id"], status=data["status"], amount_cents=data["amount"],
                  amount_capturable_cents=capturable, amount_received_cents=received,
                  charge_id=_id(charge), client_secret=data.get("client_secret"),
                  metadata=dict(data.get("metadata") or {}))


@contextmanager
def _translated():
    """Turn the SDK's exceptions into PaymentError (messages carry no keys)."""
    try:
        yield
    except stripe.CardError as exc:
        error = (exc.json_body or {}).get("error") or {}
        decline_code = error.get("decline_code")
        intent_id = _id(error.get("payment_intent"))
        if "authentication_required" in (exc.code, decline_code):
            raise PaymentError("authentication_required", exc.user_message or "authentication "
                               "required", decline_code, intent_id) from None
        raise PaymentError("card_declined", exc.user_message or "the card was declined",
                           decline_code or exc.code, intent_id) from None
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        log.warning("Stripe unreachable: %s", exc.__class__.__name__)
        raise PaymentError("unavailable", exc.user_message or "Stripe is unreachable") from None
    except stripe.StripeError as exc:
        if exc.http_status is None or exc.http_status >= 500:
            log.warning("Stripe failed: %s %s", exc.http_status, exc.__class__.__name__)
            raise PaymentError("unavailable", exc.user_message or "Stripe failed") from None
        raise PaymentError("invalid_request", exc.user_message or exc.__class__.__name__) from None
