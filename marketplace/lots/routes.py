"""Market pages: the lot list, a lot, bid confirmation, my bids."""
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import db
from ..security import bid_limit
from ..validation import dollars_to_cents, page_args
from ..wiring import bidding, listings, watchlist
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
    """One lot, live."""
    try:
        listings().get_for(lot_id, current_user)
        view = listings().view(lot_id)
    except ServiceError:
        abort(404)
    history = bidding().history(lot_id, page=1, per_page=20)
    card_required = bool(current_app.config["CARD_HOLDS"] and current_user.is_authenticated
                         and not current_user.has_payment_method)
    return render_template("lots/lot.html", lot=view, history=history, bid_key=secrets.token_urlsafe(12),
                           card_required=card_required, watching=lot_id in watched_ids([view]),
                           chart_points=bidding().price_points(lot_id) if view["kind"] == "auction" else [])


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
