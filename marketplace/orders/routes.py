"""Order pages; the live updates come over the user's Socket.IO room (static/js/order.js)."""
from flask import render_template, request
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import db
from ..services.order_views import order_page, orders_of
from ..validation import page_args
from ..wiring import clock
from . import bp

PER_PAGE = 25


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    return render_template("errors/error.html", code=exc.status, message=exc.message), exc.status


@bp.get("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    """An order: the buyer's receipt and progress, or the seller's sale; 404 for anyone else."""
    return render_template("orders/order.html", **order_page(db.session, current_user, order_id, clock().now()))


@bp.get("/account/orders")
@login_required
def my_orders():
    """The user's orders as buyer and as seller, newest first."""
    page, _ = page_args({"page": request.args.get("page", 1)})
    return render_template("orders/list.html", result=orders_of(db.session, current_user, page, PER_PAGE))
