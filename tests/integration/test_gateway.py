"""The payment gateway against the development Stripe server (localstripe with Connect).

These run the real gateway module and the real SDK; no app or database is needed. What the
browser's Stripe.js would do, and checks of the server's records, go over plain HTTP.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from marketplace.payments import PaymentError, StripeGateway, WebhookInvalid
from tests.procs import free_port
from tests.support import (FAKE_STRIPE_PUBLISHABLE_KEY, FAKE_STRIPE_WEBHOOK_SECRET,
                           fake_stripe_call, fake_stripe_card)

DECLINES_WHEN_CHARGED = "4000000000000341"
NEEDS_AUTHENTICATION = "4000000000003220"


@pytest.fixture
def customer(gateway) -> str:
    """A customer with no card yet."""
    return gateway.create_customer("buyer@example.com", "Buyer", "customer-1")


@pytest.fixture
def visa(gateway, customer):
    """The customer's saved Visa card (the default)."""
    return gateway.attach_card(customer, "pm_card_visa", "card-1")


def signed(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload`, made with Stripe's scheme."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def test_attaching_a_test_card_saves_brand_and_last4_as_default(gateway, fake_stripe, customer):
    card = gateway.attach_card(customer, "pm_card_visa", "attach-1")

    assert (card.brand, card.last4) == ("visa", "4242")
    assert card.payment_method_id.startswith("pm_") and card.payment_method_id != "pm_card_visa"
    _, record = fake_stripe_call(fake_stripe, "GET", f"/v1/customers/{customer}")
    assert record["invoice_settings"]["default_payment_method"] == card.payment_method_id


def test_a_card_declined_when_attached_is_refused(gateway, customer):
    with pytest.raises(PaymentError) as caught:
        gateway.attach_card(customer, "pm_card_visa_chargeDeclined", "attach-1")

    assert caught.value.code == "card_declined"


def test_setup_intent_gives_a_client_secret_and_the_confirmed_card(gateway, fake_stripe, customer):
    setup_id, client_secret = gateway.create_setup_intent(customer, "setup-1")
    assert setup_id.startswith("seti_") and client_secret.startswith(setup_id + "_secret_")
    assert gateway.card_from_setup_intent(setup_id, customer) is None

    # What confirmCardSetup does in the page, with the publishable key.
    status, _ = fake_stripe_call(fake_stripe, "POST", f"/v1/setup_intents/{setup_id}/confirm",
                                 {"client_secret": client_secret, "payment_method": "pm_card_visa"},
                                 key=FAKE_STRIPE_PUBLISHABLE_KEY)
    assert status == 200

    card = gateway.card_from_setup_intent(setup_id, customer)
    assert (card.brand, card.last4) == ("visa", "4242")
    # Another customer cannot take this setup's card.
    assert gateway.card_from_setup_intent(setup_id, gateway.create_customer("m@example.com", "M", "cust-m")) is None
    assert gateway.attach_card(customer, card.payment_method_id, "attach-1") == card


def test_a_hold_captured_in_part_receives_only_the_part(gateway, customer, visa):
    hold = gateway.authorize(customer, visa.payment_method_id, 10_000, "hold-1", {"lot": "7"})
    assert (hold.status, hold.amount_capturable_cents, hold.amount_received_cents) == (
        "requires_capture", 10_000, 0)
    assert hold.charge_id.startswith("ch_") and hold.metadata["lot"] == "7"

    paid = gateway.capture(hold.id, 7_500, "capture-1")

    assert (paid.status, paid.amount_capturable_cents, paid.amount_received_cents) == (
        "succeeded", 0, 7_500)
    assert gateway.retrieve(hold.id) == paid


def test_capturing_again_after_a_crash_returns_the_captured_intent(gateway, customer, visa):
    hold = gateway.authorize(customer, visa.payment_method_id, 10_000, "hold-1", {})
    first = gateway.capture(hold.id, 6_000, "capture-1")

    assert gateway.capture(hold.id, 6_000, "capture-1") == first
    with pytest.raises(PaymentError) as caught:
        gateway.capture(hold.id, 9_000, "capture-2")
    assert caught.value.code == "invalid_request"


def test_cancelling_a_hold_twice_is_fine(gateway, customer, visa):
    hold = gateway.authorize(customer, visa.payment_method_id, 5_000, "hold-1", {})

    assert gateway.cancel(hold.id, "cancel-1").status == "canceled"
    again = gateway.cancel(hold.id, "cancel-1")

    assert (again.status, again.amount_capturable_cents) == ("canceled", 0)


def test_cancelling_a_captured_intent_is_refused(gateway, customer, visa):
    hold = gateway.authorize(customer, visa.payment_method_id, 5_000, "hold-1", {})
    gateway.capture(hold.id, 5_000, "capture-1")

    with pytest.raises(PaymentError) as caught:
        gateway.cancel(hold.id, "cancel-1")
    assert caught.value.code == "invalid_request"


@pytest.mark.parametrize("operation", ["authorize", "charge"])
def test_a_card_declining_at_charge_time_raises_card_declined(gateway, fake_stripe, customer,
                                                              operation):
    card = gateway.attach_card(customer, fake_stripe_card(fake_stripe, DECLINES_WHEN_CHARGED), "a-1")

    with pytest.raises(PaymentError) as caught:
        getattr(gateway, operation)(customer, card.payment_method_id, 5_000, "pay-1", {})

    assert caught.value.code == "card_declined"


def test_a_card_needing_authentication_raises_with_the_intent_to_authenticate(
        gateway, fake_stripe, customer):
    card = gateway.attach_card(customer, fake_stripe_card(fake_stripe, NEEDS_AUTHENTICATION), "a-1")

    with pytest.raises(PaymentError) as caught:
        gateway.authorize(customer, card.payment_method_id, 5_000, "hold-1", {})

    assert caught.value.code == "authentication_required"
    pending = gateway.retrieve(caught.value.intent_id)
    assert pending.status == "requires_action"
    # The buyer completes the bank's check in the page (what localstripe's Stripe.js sends).
    status, _ = fake_stripe_call(fake_stripe, "POST", f"/v1/payment_intents/{pending.id}/_authenticate",
                                 {"client_secret": pending.client_secret, "success": "true"},
                                 key=FAKE_STRIPE_PUBLISHABLE_KEY)
    assert status == 200
    assert gateway.retrieve(pending.id).status == "requires_capture"


def test_an_off_session_charge_is_received_and_refunds_stay_within_it(gateway, customer, visa):
    paid = gateway.charge(customer, visa.payment_method_id, 5_000, "charge-1", {"order": "3"})
    assert (paid.status, paid.amount_received_cents) == ("succeeded", 5_000)

    refund_id = gateway.refund(paid.id, 2_000, "refund-1")
    assert refund_id.startswith("re_")
    assert gateway.refund(paid.id, 2_000, "refund-1") == refund_id  # re-run after a crash
    with pytest.raises(PaymentError) as caught:
        gateway.refund(paid.id, 3_001, "refund-2")
    assert caught.value.code == "invalid_request"
    gateway.refund(paid.id, 3_000, "refund-3")

    assert gateway.retrieve(paid.id).amount_received_cents == 5_000


def test_a_refund_of_a_partial_capture_is_bounded_by_the_capture(gateway, customer, visa):
    hold = gateway.authorize(customer, visa.payment_method_id, 10_000, "hold-1", {})
    gateway.capture(hold.id, 4_000, "capture-1")

    with pytest.raises(PaymentError):
        gateway.refund(hold.id, 4_001, "refund-1")
    gateway.refund(hold.id, 4_000, "refund-2")


def test_intents_are_listed_per_customer_with_their_idempotency_key(gateway, customer, visa):
    other = gateway.create_customer("other@example.com", "Other", "customer-2")
    other_card = gateway.attach_card(other, "pm_card_visa", "card-2")
    mine = gateway.authorize(customer, visa.payment_method_id, 1_000, "hold-1", {})
    theirs = gateway.authorize(other, other_card.payment_method_id, 2_000, "hold-2", {})

    assert [i.id for i in gateway.list_intents(customer)] == [mine.id]
    assert gateway.list_intents(other)[0].metadata["idempotency_key"] == "hold-2"
    assert {i.id for i in gateway.list_intents()} == {mine.id, theirs.id}


def test_a_seller_is_paid_from_the_captured_charge_minus_commission(gateway, fake_stripe, customer,
                                                                     visa):
    seller = gateway.create_connected_account("seller@example.com", "account-1")
    onboarding = gateway.account_onboarding_url(seller, "http://app.test/done", "http://app.test/again")
    assert seller.startswith("acct_") and onboarding.startswith(fake_stripe)
    hold = gateway.authorize(customer, visa.payment_method_id, 10_000, "hold-1", {})
    charge_id = gateway.capture(hold.id, 8_000, "capture-1").charge_id

    transfer_id = gateway.transfer(7_200, seller, charge_id, "payout-1", {"order": "9"})

    assert transfer_id.startswith("tr_")
    assert gateway.transfer(7_200, seller, charge_id, "payout-1", {"order": "9"}) == transfer_id
    assert gateway.list_transfers(seller) == [{
        "id": transfer_id, "amount_cents": 7_200, "destination": seller,
        "source_transaction": charge_id, "metadata": {"order": "9"}}]
    other = gateway.create_connected_account("other@example.com", "account-2")
    assert gateway.list_transfers(other) == []
    assert len(gateway.list_transfers()) == 1


def test_a_transfer_beyond_what_the_charge_kept_is_refused(gateway, customer, visa):
    seller = gateway.create_connected_account("seller@example.com", "account-1")
    hold = gateway.authorize(customer, visa.payment_method_id, 10_000, "hold-1", {})
    charge_id = gateway.capture(hold.id, 8_000, "capture-1").charge_id

    with pytest.raises(PaymentError) as caught:
        gateway.transfer(8_001, seller, charge_id, "payout-1", {})
    assert caught.value.code == "invalid_request"


def test_a_transfer_to_an_unknown_account_is_an_invalid_request(gateway, customer, visa):
    paid = gateway.charge(customer, visa.payment_method_id, 5_000, "charge-1", {})

    with pytest.raises(PaymentError) as caught:
        gateway.transfer(4_000, "acct_doesnotexist", paid.charge_id, "payout-1", {})

    assert caught.value.code == "invalid_request"
    assert "acct_doesnotexist" in caught.value.message


def test_onboarding_link_enables_payouts_and_returns_to_the_app(gateway, fake_stripe):
    seller = gateway.create_connected_account("seller@example.com", "account-1")
    url = gateway.account_onboarding_url(seller, "http://app.test/done", "http://app.test/again")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.build_opener(NoRedirect).open(url, timeout=10)
    with caught.value as response:
        assert (response.code, response.headers["Location"]) == (303, "http://app.test/done")
    _, account = fake_stripe_call(fake_stripe, "GET", f"/v1/accounts/{seller}")
    assert account["payouts_enabled"] and account["capabilities"] == {"transfers": "active"}


def test_connect_records_are_emptied_with_the_rest(gateway, fake_stripe):
    gateway.create_connected_account("seller@example.com", "account-1")

    gateway.reset_dev_data()

    assert fake_stripe_call(fake_stripe, "GET", "/v1/accounts")[1]["data"] == []


def test_a_correctly_signed_webhook_parses(gateway):
    payload = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded",
                          "data": {"object": {"id": "pi_1"}}}).encode()

    event = gateway.parse_webhook(payload, signed(payload, FAKE_STRIPE_WEBHOOK_SECRET))

    assert (event["type"], event["data"]["object"]["id"]) == ("payment_intent.succeeded", "pi_1")


@pytest.mark.parametrize("case", ["wrong secret", "tampered", "stale", "no header", "garbage"])
def test_a_badly_signed_webhook_is_invalid(gateway, case):
    payload = b'{"id": "evt_1", "type": "charge.refunded"}'
    header = {
        "wrong secret": signed(payload, "whsec_other"),
        "tampered": signed(b'{"id": "evt_2", "type": "charge.refunded"}', FAKE_STRIPE_WEBHOOK_SECRET),
        "stale": signed(payload, FAKE_STRIPE_WEBHOOK_SECRET, int(time.time()) - 3600),
        "no header": "",
        "garbage": "not a signature",
    }[case]

    with pytest.raises(WebhookInvalid):
        gateway.parse_webhook(payload, header)


def test_the_dev_server_delivers_signed_events_the_gateway_accepts(gateway):
    deliveries: list[tuple[bytes, str]] = []

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self):
            deliveries.append((self.rfile.read(int(self.headers["Content-Length"])),
                               self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    def customer_created(customer_id: str) -> bool:
        events = [gateway.parse_webhook(body, header) for body, header in list(deliveries)]
        return any(e["type"] == "customer.created" and e["data"]["object"]["id"] == customer_id
                   for e in events)

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        gateway.register_dev_webhook(f"http://127.0.0.1:{server.server_port}/stripe/webhook",
                                     FAKE_STRIPE_WEBHOOK_SECRET)
        customer = gateway.create_customer("hook@example.com", "Hook", "customer-1")
        # localstripe sends each event about a second later (earlier tests' events may come first).
        deadline = time.monotonic() + 10
        while not customer_created(customer) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

    assert customer_created(customer), f"{len(deliveries)} deliveries, none for {customer}"


def test_an_unreachable_server_is_unavailable():
    gateway = StripeGateway("sk_test_12345", api_base=f"http://127.0.0.1:{free_port()}",
                            max_network_retries=0)
    try:
        with pytest.raises(PaymentError) as caught:
            gateway.create_customer("a@example.com", "A", "customer-1")
    finally:
        gateway.close()

    assert caught.value.code == "unavailable"


def test_every_state_changing_call_needs_an_idempotency_key(gateway, customer):
    with pytest.raises(ValueError):
        gateway.attach_card(customer, "pm_card_visa", "")


def test_dev_only_calls_refuse_to_run_against_stripe():
    gateway = StripeGateway("sk_live_not_used")
    try:
        with pytest.raises(RuntimeError):
            gateway.reset_dev_data()
        assert gateway.stripe_js_url == "https://js.stripe.com/v3/"
        assert "sk_live" not in repr(gateway)
    finally:
        gateway.close()


def test_only_the_gateway_imports_stripe():
    root = Path(__file__).resolve().parents[2]
    importing = re.compile(r"^\s*(import|from)\s+stripe\b", re.MULTILINE)
    found = sorted(str(path.relative_to(root))
                   for folder in ("marketplace", "devsupport", "tests", "auctions")
                   for path in (root / folder).rglob("*.py") if importing.search(path.read_text()))

    assert found == ["marketplace/payments/gateway.py"]


def test_the_fake_server_pages_transfer_lists_like_stripe(gateway, fake_stripe, customer, visa):
    seller = gateway.create_connected_account("seller@example.com", "account-1")
    charge_id = gateway.charge(customer, visa.payment_method_id, 9_000, "charge-1", {}).charge_id
    made = [gateway.transfer(1_000, seller, charge_id, f"payout-{n}", {}) for n in range(3)]

    _, first = fake_stripe_call(fake_stripe, "GET", "/v1/transfers", {"limit": "2"})
    _, rest = fake_stripe_call(fake_stripe, "GET", "/v1/transfers",
                               {"limit": "2", "starting_after": first["data"][-1]["id"]})

    assert first["has_more"] and not rest["has_more"]
    assert [t["id"] for t in first["data"] + rest["data"]] == made[::-1]
