"""Admin pages; every action goes through the same services as the API, and is audited."""
from datetime import UTC, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..errors import ServiceError
from ..extensions import db
from ..models import AuditEntry
from ..validation import page_args
from ..web import usd
from ..wiring import clock, listings
from . import bp
from .forms import LotForm, RefundForm, ReserveForm


@bp.before_request
@login_required
def _admins_only():
    """Every admin page needs an admin."""
    if not current_user.is_admin:
        abort(403)


@bp.route("/")
def dashboard():
    """Open lots with their reserves, and released handles waiting to be listed."""
    service = listings()
    open_lots = service.search(status="live", page=1, per_page=100)["items"]
    scheduled = service.search(status="scheduled", page=1, per_page=100)["items"]
    return render_template("admin/dashboard.html", lots=service.views(
        [service.get(v["id"]) for v in open_lots + scheduled], admin=True),
        released=service.released_handles())


@bp.route("/lots/new", methods=["GET", "POST"])
def new_lot():
    """Create a lot from a released handle."""
    form = LotForm(handle=request.args.get("handle", ""))
    if form.validate_on_submit():
        now = clock().now()
        starts_at = form.starts_at.data.replace(tzinfo=UTC) if form.starts_at.data else now
        data = {"handle": form.handle.data, "kind": form.kind.data, "eligibility": form.eligibility.data,
                "starts_at": starts_at.isoformat()}
        if form.kind.data == "auction":
            data.update(start_price_cents=form.start_price.cents, reserve_cents=form.reserve.cents,
                        buy_now_price_cents=form.buy_now.cents,
                        ends_at=(starts_at + timedelta(minutes=form.duration_minutes.data or 4320)).isoformat())
        elif form.kind.data == "fixed":
            data.update(price_cents=form.price.cents)
        else:
            data.update(start_price_cents=form.start_price.cents, floor_price_cents=form.floor_price.cents,
                        half_life_seconds=(form.half_life_minutes.data or 60) * 60)
        try:
            listing = listings().create(current_user, data)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Lot #%(id)s created for @%(handle)s.", id=listing.id, handle=listing.handle_display), "success")
            return redirect(url_for("lots.lot", lot_id=listing.id))
    return render_template("admin/new_lot.html", form=form), 400 if form.errors else 200


@bp.route("/lots/<int:lot_id>/reserve", methods=["GET", "POST"])
def edit_reserve(lot_id: int):
    """Set or change an auction's reserve while it has not ended."""
    service = listings()
    try:
        lot = service.view(lot_id, admin=True)
    except ServiceError:
        abort(404)
    form = ReserveForm()
    if request.method == "GET" and lot.get("reserve_cents"):
        form.reserve.data = f"{lot['reserve_cents'] // 100}.{lot['reserve_cents'] % 100:02d}"
    if form.validate_on_submit():
        try:
            service.update(current_user, lot_id, {"reserve_cents": form.reserve.cents})
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Reserve saved."), "success")
            return redirect(url_for("admin.dashboard"))
    return render_template("admin/reserve.html", form=form, lot=lot)


@bp.route("/audit")
def audit_log():
    """Every admin action, newest first, filterable by action."""
    page, per_page = page_args({"page": request.args.get("page", 1), "per_page": 50})
    action = request.args.get("action") or None
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    entries = db.session.execute(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                 .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    actions = db.session.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars().all()
    return render_template("admin/audit.html", entries=entries, total=total, page=page, per_page=per_page,
                           action=action or "", actions=actions)


@bp.route("/orders")
def orders_console():
    """Every order, filterable by status, searchable by handle or buyer email, with counts per status."""
    from ..models import OrderStatus
    from ..services.order_views import admin_search

    page, per_page = page_args({"page": request.args.get("page", 1), "per_page": request.args.get("per_page", 50)})
    status = request.args.get("status") or None
    if status is not None and status not in {str(s) for s in OrderStatus}:
        abort(400, _("Unknown order status."))
    q = (request.args.get("q") or "").strip()[:254]
    result = admin_search(db.session, status, q, page, per_page)
    return render_template("admin/orders.html", result=result, status=status or "", q=q)


@bp.route("/orders/<int:order_id>")
def order_detail(order_id: int):
    """One order: buyer and seller, the payment log in time order, the buyer's holds, the lot's close."""
    return _order_page(order_id, RefundForm())


@bp.post("/orders/<int:order_id>/refund")
def refund_order(order_id: int):
    """Refund an order with a reason (the one refund rule: services/refunds.py)."""
    from ..services.refunds import RefundService
    from ..wiring import gateway, publisher

    form = RefundForm()
    if not form.validate_on_submit():
        return _order_page(order_id, form, 400)
    try:
        order = RefundService(db.session, clock(), gateway(), publisher()).refund(
            order_id, form.reason.data, actor=current_user)
    except ServiceError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return _order_page(order_id, form, exc.status)
    note = _(" The handle stays with the buyer: taking it back is a separate, manual admin action.") \
        if order.transferred_at else ""
    flash(_("Order %(num)s refunded: %(amount)s returned to the buyer.", num=order.id,
            amount=usd(order.amount_cents)) + note, "success")
    return redirect(url_for("admin.order_detail", order_id=order_id))


def _order_page(order_id: int, form: RefundForm, status: int = 200):
    """Render the admin order page (with the refund form as submitted)."""
    from ..services.order_views import admin_detail

    try:
        detail = admin_detail(db.session, order_id)
    except ServiceError:
        abort(404)
    return render_template("admin/order.html", form=form, **detail), status
