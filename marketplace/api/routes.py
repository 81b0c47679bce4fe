"""JSON endpoints: parse, call a service, answer. Errors share one shape."""
from __future__ import annotations

import functools
import hashlib
import json

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ..db import transaction
from ..errors import BadRequest, Forbidden, ServiceError
from ..extensions import csrf, db
from ..i18n import current_language, supported
from ..models import IdempotentResponse
from ..validation import page_args, require_object
from ..security import bid_limit, register_limit, signin_limit, signin_throttle, too_many_response
from ..services.purchases import order_for, order_json
from ..services.standing import standing
from ..wiring import accounts, bidding, buyer_orders, cards, clock, listings, purchases
from . import bp

# Endpoints anyone may call without a session, so CSRF does not apply to them.
_NO_SESSION_ENDPOINTS = {"api.create_user", "api.create_token"}


def error(status: int, code: str, message: str):
    """The API's error answer."""
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    return jsonify(exc.to_dict()), exc.status


@bp.errorhandler(CSRFError)
def _csrf_error(exc):
    return error(400, "csrf_failed", _("The CSRF token is missing or wrong; reload the page, or use a bearer token."))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}
    return error(exc.code or 500, code.get(exc.code, "http_error"), exc.description or exc.name)


@bp.before_request
def _check_csrf():
    """Cookie-authenticated writes need the CSRF token; bearer-token requests do not."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in _NO_SESSION_ENDPOINTS:
        return None
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    if not current_user.is_authenticated:
        return None  # the view answers 401; there is no session to forge
    csrf.protect()
    return None


def body() -> dict:
    """The request's JSON object, or a 400 saying what is wrong."""
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("invalid_json", "Send a JSON object with Content-Type: application/json.")
    return require_object(data)


def signed_in(view):
    """401 unless a user is signed in (cookie or bearer token)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return error(401, "not_signed_in", _("Sign in, or send Authorization: Bearer <token>."))
        return view(*args, **kwargs)
    return wrapper


def admin_only(view):
    """403 unless the signed-in user is an admin."""
    @functools.wraps(view)
    @signed_in
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            raise Forbidden("admins_only", "Only admins may do this.")
        return view(*args, **kwargs)
    return wrapper


def idempotent(view):
    """Replay the first answer to a write retried with the same Idempotency-Key."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 100:
            raise BadRequest("invalid_key", "The Idempotency-Key is at most 100 characters.")
        fingerprint = hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()
        seen = db.session.execute(select(IdempotentResponse).where(
            IdempotentResponse.user_id == current_user.id, IdempotentResponse.key == key)).scalar_one_or_none()
        if seen is not None:
            if seen.request_fingerprint != fingerprint:
                return error(422, "idempotency_key_reused", _("This Idempotency-Key was used for a different request."))
            return jsonify(json.loads(seen.body_json)), seen.status_code
        response, status = view(*args, **kwargs)
        if status < 500:
            with transaction():
                db.session.add(IdempotentResponse(
                    user_id=current_user.id, key=key, request_fingerprint=fingerprint, status_code=status,
                    body_json=json.dumps(response.get_json()), created_at=clock().now()))
        return response, status
    return wrapper


def user_json(user) -> dict:
    """The public shape of the signed-in user."""
    return {"id": user.id, "email": user.email, "display_name": user.display_name, "alias": user.alias,
            "roles": user.roles, "has_payment_method": user.has_payment_method, "verified": user.verified,
            "card": {"brand": user.card_brand, "last4": user.card_last4} if user.has_payment_method else None,
            "locale": user.locale}


@bp.post("/users")
@register_limit
def create_user():
    """Register."""
    data = body()
    user = accounts().register(data.get("email"), data.get("password"), data.get("display_name"),
                               locale=current_language())
    return jsonify({"id": user.id, "email": user.email, "display_name": user.display_name,
                    "alias": user.alias}), 201


@bp.post("/tokens")
@signin_limit
def create_token():
    """Exchange email and password for a bearer token."""
    data = body()
    throttle = signin_throttle()
    wait = throttle.wait_seconds(data.get("email"))
    if wait:  # refused before the password is checked, the same whether the account exists or not
        return too_many_response(wait)
    user = accounts().authenticate(data.get("email"), data.get("password"))
    if user is None:
        throttle.failed(data.get("email"))
        return error(401, "invalid_credentials", _("Wrong email or password."))
    throttle.succeeded(data.get("email"))
    from ..wiring import release
    release().record_sign_in(user)  # signing in is activity: it keeps handles in grace
    return jsonify({"token": accounts().issue_token(user)}), 201


@bp.get("/me")
@signed_in
def me():
    """Who am I."""
    return jsonify(user_json(current_user))


@bp.patch("/me")
@signed_in
def update_me():
    """Change my settings: `locale`, the language of my emails (and of pages without a cookie)."""
    # Missing or not one of ours, it is refused alike: 400 unsupported_language naming the choices.
    user = accounts().set_locale(current_user, body().get("locale"), supported())
    return jsonify(user_json(user))


@bp.post("/me/payment-method")
@signed_in
def save_payment_method():
    """Save a card from a Stripe PaymentMethod id (test mode: pm_card_visa and friends)."""
    return jsonify(cards().save_payment_method(current_user, body().get("payment_method"))), 200


@bp.get("/me/handles")
@signed_in
def my_handles():
    """My handles: in my accounts, and previous ones kept for me for 30 days after a purchase."""
    from ..wiring import handles
    return jsonify(handles().mine(current_user))


@bp.post("/me/handles/take-back")
@signed_in
def take_back_handle():
    """Take back a handle kept for me (`{handle}`), into an account of my own; my handles after."""
    from ..wiring import handles
    service = handles()
    service.take_back(current_user, body().get("handle"))
    return jsonify(service.mine(current_user))


@bp.get("/me/bids")
@signed_in
def my_bids():
    """Lots I bid on."""
    page, per_page = page_args(request.args)
    return jsonify(bidding().my_bids(current_user, page, per_page))


@bp.get("/lots")
def list_lots():
    """A page of lots, filtered and sorted."""
    page, per_page = page_args(request.args)
    args = request.args
    return jsonify(listings().search(status=args.get("status") or None, kind=args.get("kind") or None,
                                     q=args.get("q") or None, sort=args.get("sort") or "ending_soon",
                                     page=page, per_page=per_page))


@bp.get("/lots/<int:lot_id>")
def get_lot(lot_id: int):
    """One lot (a private lot, made for one buyer, is 404 for anyone but its buyer and admins)."""
    listing = listings().get_for(lot_id, current_user)
    view = listings().view(lot_id, admin=current_user.is_authenticated and current_user.is_admin)
    if current_user.is_authenticated:
        view["you"] = standing(db.session, current_user, listing, view)
    return jsonify(view)


@bp.post("/lots/<int:lot_id>/bids")
@signed_in
@bid_limit
def place_bid(lot_id: int):
    """Bid a proxy maximum; the Idempotency-Key header (or `key`) makes retries count once."""
    data = body()
    key = request.headers.get("Idempotency-Key") or data.get("key")
    result = bidding().place(current_user, lot_id, data.get("max_amount_cents"), key)
    return jsonify(result.to_dict()), 200 if result.replayed else 201


@bp.post("/lots/<int:lot_id>/buy")
@signed_in
def buy(lot_id: int):
    """Buy at the price (fixed, Dutch) or at buy-now; one order per buyer however often it is sent."""
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise BadRequest("invalid_body", "Send a JSON object.")
    order = purchases().buy(current_user, lot_id, data.get("max_price_cents"),
                            request.headers.get("Idempotency-Key") or data.get("key"))
    return jsonify(order_json(order)), 201


@bp.get("/orders/<int:order_id>")
@signed_in
def get_order(order_id: int):
    """An order, for its buyer, its seller and admins."""
    return jsonify(order_json(order_for(db.session, current_user, order_id)))


@bp.post("/orders/<int:order_id>/pay")
@signed_in
def pay_order(order_id: int):
    """Pay a waiting order with the saved card; `requires_action` carries a client secret for Stripe.js."""
    return jsonify(buyer_orders().pay(current_user, order_id))


@bp.post("/orders/<int:order_id>/accept")
@signed_in
def accept_offer(order_id: int):
    """Take a second-chance offer: the lot at your own highest bid, charged to the saved card."""
    return jsonify(buyer_orders().accept_offer(current_user, order_id))


@bp.post("/orders/<int:order_id>/decline")
@signed_in
def decline_offer(order_id: int):
    """Turn a second-chance offer down."""
    return jsonify(buyer_orders().decline_offer(current_user, order_id))


@bp.get("/me/orders")
@signed_in
def my_orders():
    """My orders, as buyer and as seller, newest first."""
    from sqlalchemy import func, or_

    from ..models import Order
    page, per_page = page_args(request.args)
    mine = select(Order).where(or_(Order.buyer_id == current_user.id, Order.seller_id == current_user.id))
    total = db.session.execute(select(func.count()).select_from(mine.subquery())).scalar_one()
    rows = db.session.execute(mine.order_by(Order.id.desc()).offset((page - 1) * per_page).limit(per_page)).scalars()
    return jsonify({"items": [order_json(o) for o in rows], "page": page, "per_page": per_page, "total": total})


@bp.get("/lots/<int:lot_id>/bids")
def bid_history(lot_id: int):
    """The lot's public bid history with its hash chain."""
    listings().get(lot_id)
    page, per_page = page_args(request.args)
    return jsonify(bidding().history(lot_id, page, per_page))


@bp.post("/admin/lots")
@admin_only
@idempotent
def admin_create_lot():
    """An admin lists a released handle."""
    listing = listings().create(current_user, body())
    return jsonify(listings().view(listing.id, admin=True)), 201


@bp.patch("/admin/lots/<int:lot_id>")
@admin_only
def admin_update_lot(lot_id: int):
    """An admin edits a lot (the reserve, mostly)."""
    listings().update(current_user, lot_id, body())
    return jsonify(listings().view(lot_id, admin=True)), 200


@bp.post("/backorders")
@signed_in
def create_backorder():
    """Backorder a handle not yet released: 201 for a new backorder, 200 for one already placed."""
    from ..services.backorders import backorder_json
    from ..wiring import backorders
    backorder, created = backorders().place(current_user, body().get("handle"))
    return jsonify(backorder_json(backorder)), 201 if created else 200


@bp.get("/me/backorders")
@signed_in
def my_backorders():
    """My backorders, newest first."""
    from ..wiring import backorders
    page, per_page = page_args(request.args)
    return jsonify(backorders().mine(current_user, page, per_page))


@bp.delete("/backorders/<int:backorder_id>")
@signed_in
def cancel_backorder(backorder_id: int):
    """Cancel one of my backorders (while the handle is not released)."""
    from ..wiring import backorders
    backorders().cancel(current_user, backorder_id)
    return "", 204


@bp.get("/me/watchlist")
@signed_in
def my_watchlist():
    """The lots I watch, most recently watched first, each with its live state."""
    from ..wiring import watchlist
    page, per_page = page_args(request.args)
    return jsonify(watchlist().mine(current_user, page, per_page))


@bp.put("/lots/<int:lot_id>/watch")
@signed_in
def watch_lot(lot_id: int):
    """Watch a lot: 201 when it is new on my watchlist, 200 when it already was."""
    from ..clock import iso
    from ..wiring import watchlist
    watch, created = watchlist().watch(current_user, lot_id)
    return jsonify({"lot_id": lot_id, "watching": True, "watched_at": iso(watch.created_at)}), 201 if created else 200


@bp.delete("/lots/<int:lot_id>/watch")
@signed_in
def unwatch_lot(lot_id: int):
    """Stop watching a lot (204 whether or not it was watched)."""
    from ..wiring import watchlist
    watchlist().unwatch(current_user, lot_id)
    return "", 204


@functools.cache
def _openapi_document(path: str) -> dict:
    """docs/openapi.yaml, read once per process."""
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI description (docs/openapi.yaml), as JSON."""
    import os
    return jsonify(_openapi_document(os.path.join(bp.root_path, "..", "..", "docs", "openapi.yaml")))
