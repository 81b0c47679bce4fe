"""Runs localstripe (a fake Stripe server) on the loopback interface only, with Connect added.

localstripe's own command listens on every interface; a fake payment server has no business
being reachable from the network, so this starts its aiohttp app bound to 127.0.0.1.

localstripe has no Stripe Connect (accounts, account links and transfers answer 404), so
`add_connect_routes` gives it a small in-memory stand-in for the Connect calls the payment
gateway makes (separate charges and transfers). Answers are Stripe-shaped, so the same gateway
code runs against this server and against Stripe. Development and test support only.

Usage: python -m devsupport.fake_stripe [--port 8420]
"""
import argparse
import copy
import hashlib
import json
import logging
import time

from aiohttp import web
from localstripe import resources
from localstripe.resources import random_id, store
from localstripe.server import app, get_post_data, json_response, unflatten_data

# localstripe pickles its whole store to /tmp/localstripe.pickle after every write (and its own
# command reloads it at start). Here the store lives in memory only: each run starts empty, and
# runs never share data through /tmp (nor fail on a file another user owns). Importing this
# module therefore never reads or writes that file.
resources.Store.dump_to_disk = lambda self: None


class ConnectError(Exception):
    """A request the Connect stand-in refuses, answered with Stripe's error shape."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {k: v for k, v in {
            "type": "invalid_request_error", "message": message, "param": param, "code": code}.items() if v}}


# Connect records are plain dicts kept in localstripe's own store under "account:", "transfer:",
# "transfer_reversal:", "account_link:" and "idempotency:" keys, so DELETE /_config/data empties them along with the rest.
def _get(kind: str, record_id: str) -> dict | None:
    """A stored Connect record, or None."""
    record = store.get(f"{kind}:{record_id}")
    return record if isinstance(record, dict) else None


def _all(kind: str) -> list[dict]:
    """Every stored record of a kind, newest first (Stripe's list order)."""
    return [v for k, v in reversed(store.items()) if k.startswith(kind + ":") and isinstance(v, dict)]


def _put(kind: str, record: dict) -> dict:
    """Store a record under its id."""
    store[f"{kind}:{record['id']}"] = record
    return record


def _must_exist(kind: str, record_id, param: str | None = None, label: str | None = None) -> dict:
    """The record, or Stripe's "No such ..." error."""
    record = _get(kind, record_id) if isinstance(record_id, str) else None
    if record is None:
        raise ConnectError(404 if param is None else 400,
                           f"No such {label or kind}: '{record_id}'", param, "resource_missing")
    return record


def _only(data: dict, allowed: set[str]) -> None:
    """Refuse parameters the stand-in does not know (as localstripe does), so drift shows."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConnectError(400, f"Received unknown parameter: {unknown[0]}", unknown[0])


def _positive_int(data: dict, name: str) -> int:
    """A required positive integer parameter (form values arrive as text)."""
    try:
        value = int(str(data.get(name)))
    except ValueError:
        value = 0
    if value <= 0:
        raise ConnectError(400, f"Invalid positive integer: {name}", name)
    return value


def _page(url: str, records: list[dict], query: dict) -> dict:
    """One page of a Stripe list (limit, starting_after)."""
    limit = _positive_int(query, "limit") if "limit" in query else 10
    after = query.get("starting_after")
    ids = [r["id"] for r in records]
    start = ids.index(after) + 1 if after in ids else 0
    return {"object": "list", "url": url, "data": records[start:start + limit],
            "has_more": len(records) > start + limit}


def _handler(func, idempotent: bool = False):
    """Wrap a Connect handler: parse the form, answer JSON, replay idempotent POSTs like Stripe.

    As at Stripe, only a request that got past validation saves its answer under its key.
    """
    async def handle(request: web.Request) -> web.Response:
        if request.method == "POST":
            data = dict(await get_post_data(request) or {})
        else:
            data = dict(unflatten_data(request.query) or {})
        data.pop("expand", None)
        key = request.headers.get("Idempotency-Key") if idempotent else None
        fingerprint = hashlib.sha256(json.dumps([request.path, data], sort_keys=True).encode()).hexdigest()
        if key and (seen := store.get(f"idempotency:{key}")) is not None:
            if seen["fingerprint"] != fingerprint:
                return json_response({"error": {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same "
                               "parameters they were first used with."}}, status=400)
            return json_response(seen["body"])
        try:
            body = func(request, data)
        except ConnectError as exc:
            return json_response(exc.body, status=exc.status)
        if key:
            store[f"idempotency:{key}"] = {"fingerprint": fingerprint, "body": copy.deepcopy(body)}
        return json_response(body)
    return handle


def create_account(request, data):
    """POST /v1/accounts: a connected account that has not been through onboarding yet."""
    _only(data, {"type", "email", "country", "capabilities", "business_type", "metadata"})
    kind = data.get("type", "express")
    if kind not in ("express", "standard", "custom"):
        raise ConnectError(400, f"Invalid type: {kind}", "type")
    return _put("account", {
        "id": "acct_" + random_id(16), "object": "account", "type": kind,
        "email": data.get("email"), "country": data.get("country", "US"),
        "default_currency": "usd", "business_type": data.get("business_type"),
        "capabilities": {name: "inactive" for name in data.get("capabilities") or {}},
        "charges_enabled": False, "payouts_enabled": False, "details_submitted": False,
        "metadata": data.get("metadata") or {}, "created": int(time.time()), "livemode": False})


def list_accounts(request, data):
    """GET /v1/accounts."""
    _only(data, {"limit", "starting_after"})
    return _page("/v1/accounts", _all("account"), data)


def retrieve_account(request, data):
    """GET /v1/accounts/{id}."""
    return _must_exist("account", request.match_info["id"])


def create_account_link(request, data):
    """POST /v1/account_links: a link to this server's one-click onboarding page."""
    _only(data, {"account", "type", "return_url", "refresh_url", "collect"})
    _must_exist("account", data.get("account"), "account", "account")
    if data.get("type") not in ("account_onboarding", "account_update"):
        raise ConnectError(400, "Invalid type: must be account_onboarding or account_update", "type")
    for name in ("return_url", "refresh_url"):
        if not str(data.get(name, "")).startswith("http"):
            raise ConnectError(400, f"Invalid URL: {name}", name)
    link_id = "acctlink_" + random_id(16)
    now = int(time.time())
    _put("account_link", {"id": link_id, "account": data["account"], "return_url": data["return_url"],
                          "created": now})
    return {"object": "account_link", "created": now, "expires_at": now + 300,
            "url": f"{request.url.origin()}/_config/connect/onboarding/{link_id}"}


async def onboard(request: web.Request) -> web.Response:
    """GET /_config/connect/onboarding/{link}: the seller "completes" onboarding and goes back."""
    link = _get("account_link", request.match_info["link"])
    if link is None:
        return web.Response(status=404, text="unknown or expired onboarding link\n")
    account = _get("account", link["account"])
    account.update(details_submitted=True, charges_enabled=True, payouts_enabled=True,
                   capabilities=dict.fromkeys(account["capabilities"] or ["transfers"], "active"))
    raise web.HTTPSeeOther(link["return_url"])


def create_transfer(request, data):
    """POST /v1/transfers: move funds to a connected account, optionally tied to a charge."""
    _only(data, {"amount", "currency", "destination", "source_transaction", "transfer_group",
                 "description", "metadata"})
    amount = _positive_int(data, "amount")
    if not data.get("currency"):
        raise ConnectError(400, "Missing required param: currency.", "currency")
    _must_exist("account", data.get("destination"), "destination", "destination")
    source = data.get("source_transaction")
    if source is not None:
        charge = store.get(f"charge:{source}")
        if charge is None:
            raise ConnectError(400, f"No such charge: '{source}'", "source_transaction",
                               "resource_missing")
        if not (charge.captured and charge.status == "succeeded"):
            raise ConnectError(400, "The source_transaction charge has not been captured.",
                               "source_transaction")
        transferred = sum(t["amount"] for t in _all("transfer") if t["source_transaction"] == source)
        if transferred + amount > charge.amount - charge.amount_refunded:
            raise ConnectError(400, "Transfer amount exceeds the funds available from "
                               "source_transaction.", "amount", "amount_too_large")
    return _put("transfer", {
        "id": "tr_" + random_id(16), "object": "transfer", "amount": amount,
        "amount_reversed": 0, "currency": data["currency"], "destination": data["destination"],
        "source_transaction": source, "transfer_group": data.get("transfer_group"),
        "description": data.get("description"), "metadata": data.get("metadata") or {},
        "reversed": False, "created": int(time.time()), "livemode": False})


def list_transfers(request, data):
    """GET /v1/transfers, optionally for one destination."""
    _only(data, {"limit", "starting_after", "destination"})
    destination = data.get("destination")
    records = [t for t in _all("transfer") if destination in (None, t["destination"])]
    return _page("/v1/transfers", records, data)


def retrieve_transfer(request, data):
    """GET /v1/transfers/{id}."""
    return _must_exist("transfer", request.match_info["id"])


def create_transfer_reversal(request, data):
    """POST /v1/transfers/{id}/reversals: take back part or all of a transfer (a refund's payout)."""
    _only(data, {"amount", "description", "metadata", "refund_application_fee"})
    transfer = _must_exist("transfer", request.match_info["id"])
    left = transfer["amount"] - transfer["amount_reversed"]
    amount = _positive_int(data, "amount") if "amount" in data else left
    if left <= 0:
        raise ConnectError(400, f"Transfer {transfer['id']} has already been fully reversed.", None,
                           "transfer_already_reversed")
    if amount > left:
        raise ConnectError(400, f"Reversal amount exceeds the {left} left on the transfer.", "amount",
                           "amount_too_large")
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    return _put("transfer_reversal", {
        "id": "trr_" + random_id(16), "object": "transfer_reversal", "amount": amount,
        "currency": transfer["currency"], "transfer": transfer["id"],
        "metadata": data.get("metadata") or {}, "created": int(time.time())})


def list_transfer_reversals(request, data):
    """GET /v1/transfers/{id}/reversals."""
    _only(data, {"limit", "starting_after"})
    transfer = _must_exist("transfer", request.match_info["id"])
    records = [r for r in _all("transfer_reversal") if r["transfer"] == transfer["id"]]
    return _page(f"/v1/transfers/{transfer['id']}/reversals", records, data)


def add_connect_routes(application: web.Application) -> None:
    """Give localstripe's app the Connect routes it lacks (authenticated like the rest)."""
    routes = [
        ("POST", "/v1/accounts", _handler(create_account, idempotent=True)),
        ("GET", "/v1/accounts", _handler(list_accounts)),
        ("GET", "/v1/accounts/{id}", _handler(retrieve_account)),
        ("POST", "/v1/account_links", _handler(create_account_link, idempotent=True)),
        ("POST", "/v1/transfers", _handler(create_transfer, idempotent=True)),
        ("GET", "/v1/transfers", _handler(list_transfers)),
        ("GET", "/v1/transfers/{id}", _handler(retrieve_transfer)),
        ("POST", "/v1/transfers/{id}/reversals", _handler(create_transfer_reversal, idempotent=True)),
        ("GET", "/v1/transfers/{id}/reversals", _handler(list_transfer_reversals)),
        # Under /_config/ because localstripe lets a browser reach that prefix without an API key.
        ("GET", "/_config/connect/onboarding/{link}", onboard),
    ]
    for method, path, handler in routes:
        application.router.add_route(method, path, handler)


def main() -> None:
    """Start the fake Stripe server in the foreground."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    add_connect_routes(app)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
