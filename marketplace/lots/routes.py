"""Market pages: the lot list, a lot, bid confirmation, my bids."""
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import db
from ..security import bid_limit
from ..validation import dollars_to_cents, page_args
from ..services.standing import my_order_id, standing
from ..wiring import bidding, gateway, listings, purchases, watchlist
from . import bp


# Query arguments the catalog understands: a home page link carrying them is an old catalog link.
CATALOG_ARGS = ("status", "kind", "q", "sort", "page")


@bp.route("/")
def home():
    """The home page: lots ending soon, new releases, falling prices and recent sales.

    The catalog lived here before it moved to /market; an old link with its query arguments
    (`/?status=sold&q=nova`) is sent there with the same arguments."""
    if any(name in request.args for name in CATALOG_ARGS):
        return redirect(url_for("lots.index", **request.args.to_dict(flat=False)), 301)
    sections = listings().front_page(per_section=4)
    lots = [lot for section in sections.values() for lot in section]
    return render_template("lots/home.html", sections=sections, watched_ids=watched_ids(lots))


def watched_ids(lots: list[dict]) -> set[int]:
    """Which of these lots the signed-in user watches (their cards show "Unwatch")."""
    return watchlist().watched_ids(current_user, [lot["id"] for lot in lots])


@bp.route("/market")
def index():
    """The market: search, filter, sort and page through lots."""
    args = request.args
    status = args.get("status") or "live"
    try:
        page, per_page = page_args({"page": args.get("page", 1), "per_page": 24})
        result = listings().search(status=None if status == "all" else status, kind=args.get("kind") or None,
                                   q=args.get("q") or None, sort=args.get("sort") or "ending_soon",
                                   page=page, per_page=per_page)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("lots.index"))
    return render_template("lots/index.html", result=result, status=status, kind=args.get("kind") or "",
                           q=args.get("q") or "", sort=args.get("sort") or "ending_soon",
                           watched_ids=watched_ids(result["items"]))


@bp.route("/lots/<int:lot_id>")
def lot(lot_id: int):
    """One lot, live: where the viewer stands, and the bid form or the Buy button."""
    try:
        listing = listings().get_for(lot_id, current_user)
        view = listings().view(lot_id)
    except ServiceError:
        abort(404)
    history = bidding().history(lot_id, page=1, per_page=20)
    card_required = bool(current_app.config["CARD_HOLDS"] and current_user.is_authenticated
                         and not current_user.has_payment_method)
    you = standing(db.session, current_user, listing, view)
    # Buy (or buy-now) is on the page, its state following the lot live: signed in with a card,
    # not the seller, a lot sold at a price or an auction still offering buy-now.
    can_buy = (current_user.is_authenticated and not card_required and not (you and you["state"] == "seller")
               and view["status"] in ("live", "scheduled")
               and (view["kind"] != "auction" or view["buy_now_price_cents"] is not None))
    return render_template("lots/lot.html", lot=view, history=history, bid_key=secrets.token_urlsafe(12),
                           card_required=card_required, watching=lot_id in watched_ids([view]),
                           you=you, can_buy=can_buy, prefill=_prefill(request.args.get("max")), **_checkout_context(),
                           chart_points=bidding().price_points(lot_id) if view["kind"] == "auction" else [])


def _prefill(cents: str | None) -> str:
    """A maximum to put back in the bid field (`?max=<cents>`, after the bank confirmed its
    authorisation), as plain dollars; empty when absent or unreadable."""
    if not cents or not cents.isdigit() or len(cents) > 13:
        return ""
    whole, part = divmod(int(cents), 100)
    return f"{whole}.{part:02d}" if part else str(whole)


def _checkout_context() -> dict:
    """What Buy needs on a page: a key for this page load (a double click or a resent form is one
    order), Stripe.js settings (for a bank's check), and the transfer window to promise."""
    gw = gateway()
    return {"buy_key": secrets.token_urlsafe(12), "stripe_js_url": gw.stripe_js_url,
            "publishable_key": gw.publishable_key or "",
            "transfer_days": max(1, round(current_app.config["TRANSFER_WINDOW_HOURS"] / 24))}


def buy_price(view: dict) -> int | None:
    """What Buy costs now: the price (fixed, Dutch at this moment) or the buy-now price; None when
    the lot cannot be bought at a price now (closed, not started, an auction past its first bid)."""
    if view["status"] != "live":
        return None
    return view["buy_now_price_cents"] if view["kind"] == "auction" else view["current_price_cents"]


@bp.get("/lots/<int:lot_id>/buy")
@login_required
def confirm_buy(lot_id: int):
    """Without JavaScript: what Buy commits to (the handle, the price, what happens next)."""
    try:
        listing = listings().get_for(lot_id, current_user)
        view = listings().view(lot_id)
    except ServiceError:
        abort(404)
    lot_url = url_for("lots.lot", lot_id=lot_id)
    price = buy_price(view)
    if price is None:
        flash(_("This lot cannot be bought now."), "error")
        return redirect(lot_url)
    if current_app.config["CARD_HOLDS"] and not current_user.has_payment_method:
        flash(_("Save a card first: it is charged when you confirm."), "info")
        return redirect(url_for("account.card", next=lot_url))
    held_for_other = bool(view.get("held_until")) and listing.hold_buyer_id != current_user.id
    return render_template("lots/buy.html", lot=view, price_cents=price, held_for_other=held_for_other,
                           **_checkout_context())


@bp.post("/lots/<int:lot_id>/buy")
@login_required
def buy(lot_id: int):
    """Buy at the confirmed price (a form post); the order's page says what follows."""
    lot_url = url_for("lots.lot", lot_id=lot_id)
    try:
        accepted = int(request.form.get("max_price_cents", ""))
    except ValueError:
        flash(_("That price could not be read; please press Buy again."), "error")
        return redirect(lot_url)
    try:
        order = purchases().buy(current_user, lot_id, accepted, request.form.get("key") or None)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        if exc.code == "payment_method_required":
            return redirect(url_for("account.card", next=lot_url))
        return redirect(lot_url)
    return redirect(after_purchase(order))


def after_purchase(order) -> str:
    """Where a buyer goes once their order is placed, with a flash saying how it stands."""
    from ..models import OrderStatus

    if order.status == OrderStatus.ACTION_REQUIRED:
        flash(_("Your order is placed, but the payment needs you: %(reason)s", reason=order.failure or "—"), "warning")
        return url_for("account.pay_order", order_id=order.id)
    if order.paid_at is not None:
        flash(_("Paid: %(price)s. The handle moves to your account next; this is your receipt.",
                price=format_cents(order.amount_cents)), "success")
    else:
        flash(_("Your order is placed; we are taking the payment now."), "info")
    return url_for("orders.order", order_id=order.id)


@bp.get("/lots/<int:lot_id>/order")
@login_required
def my_order(lot_id: int):
    """My order for this lot (the "You won" line links here): to pay it, or its receipt."""
    order_id = my_order_id(db.session, current_user, lot_id)
    if order_id is None:
        flash(_("You have no order for this lot."), "info")
        return redirect(url_for("lots.lot", lot_id=lot_id))
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/lots/<int:lot_id>/watch", methods=["POST"])
@login_required
def toggle_watch(lot_id: int):
    """Without JavaScript: watch (`watch=1`) or unwatch (`watch=0`) a lot, then go back.

    The form says which state it wants, not "toggle", so a double submit lands in the same state."""
    want = request.form.get("watch")
    if want not in ("0", "1"):
        flash(_("That request could not be read; please try again."), "error")
        return redirect(url_for("lots.lot", lot_id=lot_id))
    try:
        if want == "1":
            watchlist().watch(current_user, lot_id)
            flash(_("Added to your watchlist."), "success")
        else:
            watchlist().unwatch(current_user, lot_id)
            flash(_("Removed from your watchlist."), "info")
    except ServiceError as exc:
        db.session.rollback()
        abort(exc.status if exc.status < 500 else 400)
    return redirect(_local_path(request.form.get("next")) or url_for("lots.lot", lot_id=lot_id))


def _local_path(target: str | None) -> str | None:
    """A path on this site to go back to, or None (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/lots/<int:lot_id>/bid/confirm", methods=["POST"])
@login_required
def confirm_bid(lot_id: int):
    """Without JavaScript: show exactly what a bid commits to before placing it."""
    try:
        view = listings().view(lot_id)
        amount = dollars_to_cents(request.form.get("max_amount"))
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("lots.lot", lot_id=lot_id))
    return render_template("lots/confirm.html", lot=view, amount_cents=amount,
                           key=request.form.get("key") or secrets.token_urlsafe(12))


@bp.route("/lots/<int:lot_id>/bid", methods=["POST"])
@login_required
@bid_limit
def place_bid(lot_id: int):
    """Place a confirmed bid; a double submit with the same key counts once."""
    try:
        amount = int(request.form.get("max_amount_cents", ""))
    except ValueError:
        flash(_("That amount could not be read; please bid again."), "error")
        return redirect(url_for("lots.lot", lot_id=lot_id))
    try:
        result = bidding().place(current_user, lot_id, amount, request.form.get("key") or None)
    except ServiceError as exc:
        flash(exc.message, "error")
        action = getattr(exc, "action_url", None)
        if action:  # save a card, or the bank's check: go there, and come back to this lot
            lot_path = url_for("lots.lot", lot_id=lot_id)
            return redirect(f"{action}?next={lot_path}" if action == url_for("account.card") else action)
    else:
        if result.leading:
            flash(_("Your bid is in: you lead at %(price)s.",
                    price=format_cents(result.lot["current_price_cents"])), "success")
        else:
            flash(_("Your bid is in, but another bidder's maximum is higher: the price is now %(price)s.",
                    price=format_cents(result.lot["current_price_cents"])), "warning")
    return redirect(url_for("lots.lot", lot_id=lot_id))


@bp.route("/me/bids")
@login_required
def my_bids_page():
    """The lots I bid on, and whether I lead."""
    page, _per = page_args({"page": request.args.get("page", 1), "per_page": 25})
    return render_template("lots/my_bids.html", result=bidding().my_bids(current_user, page=page, per_page=25))


def format_cents(cents: int | None) -> str:
    """Dollars for messages (pages use the `usd` filter)."""
    from ..web import usd
    return usd(cents)
