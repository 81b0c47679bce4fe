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
from .forms import BulkListForm, LotForm, ProtectedNameForm, RefundForm, ReleaseActionForm, SweepForm


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


@bp.route("/audit")
def audit_log():
    """Every admin action, newest first, filterable by action, actor email, target and date range (UTC)."""
    from datetime import date, datetime

    from ..models import User

    page, per_page = _page_or_400(request.args)
    action = (request.args.get("action") or "").strip()[:64]
    actor = (request.args.get("actor") or "").strip()[:254]
    target = (request.args.get("target") or "").strip()[:120]
    dates, errors = {}, {}
    for name in ("since", "until"):
        text = (request.args.get(name) or "").strip()
        if text:
            try:
                dates[name] = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time(), UTC)
            except ValueError:
                errors[name] = _("Enter a date as YYYY-MM-DD.")
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.join(User, User.id == AuditEntry.actor_id).where(
            func.lower(User.email).contains(actor.lower(), autoescape=True))
    if target:
        query = query.where(func.lower(AuditEntry.target).contains(target.lower().lstrip("@"), autoescape=True))
    if "since" in dates:
        query = query.where(AuditEntry.at >= dates["since"])
    if "until" in dates:
        query = query.where(AuditEntry.at < dates["until"] + timedelta(days=1))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    entries = db.session.execute(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                 .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    actions = db.session.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars().all()
    filters = {"action": action, "actor": actor, "target": target,
               "since": (request.args.get("since") or "").strip()[:10], "until": (request.args.get("until") or "").strip()[:10]}
    return render_template("admin/audit.html", entries=entries, total=total, page=page, per_page=per_page,
                           action=action, actions=actions, filters=filters, filter_errors=errors,
                           filtered=any(filters.values())), 400 if errors else 200


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


# ---- the release console (DESIGN.md section 2) ---------------------------------------------
RELEASE_ACTIONS = ("release_now", "keep", "hold_back", "return_to_pool")
BULK_LIMIT = 200


def _page_or_400(args, default_per_page: int = 50) -> tuple[int, int]:
    """Page and page size from the query string; a bad value is a 400 page, never a 500."""
    try:
        return page_args({"page": args.get("page", 1), "per_page": args.get("per_page", default_per_page)})
    except ServiceError as exc:
        abort(400, exc.message)


def _queue_state(value: str | None) -> str:
    """The release queue tab asked for (grace by default); unknown tabs are a 400."""
    from ..services.release import QUEUE_STATES

    state = value or "grace"
    if state not in QUEUE_STATES:
        abort(400, _("Unknown queue: choose grace, released or held_back."))
    return state


def _release_page(action_form, status: int = 200):
    """Render the release console: counts, sweep progress, one tab of the queue, the bulk-action form."""
    from ..wiring import release

    service = release()
    state = _queue_state(request.values.get("state"))
    q = (request.values.get("q") or "").strip()[:40]
    page, per_page = _page_or_400(request.args)
    queue = service.queue(state, page=page, per_page=per_page, q=q or None)
    return render_template("admin/release.html", overview=service.overview(), queue=queue, state=state, q=q,
                           action_form=action_form, sweep_form=SweepForm(),
                           selected=set(request.form.getlist("handles"))), status


def _release_redirect():
    """Back to the console tab and search the form came from."""
    state = request.form.get("state")
    state = state if state in ("grace", "released", "held_back") else None
    q = (request.form.get("q") or "").strip()[:40] or None
    return redirect(url_for("admin.release_console", state=state, q=q))


def _names(values: list[str], typed: str | None) -> list[str]:
    """Handles from the checkboxes and the typed list (commas, spaces or new lines), first seen first."""
    raw = list(values) + (typed or "").replace(",", " ").split()
    seen, names = set(), []
    for name in raw:
        key = name.strip().lstrip("@").lower()
        if key and key not in seen:
            seen.add(key)
            names.append(name.strip())
    return names


def _flash_outcome(done: list[str], failed: list[tuple[str, str]], done_text: str) -> None:
    """One success flash naming what changed, one error flash per refused item (at most ten)."""
    if done:
        flash(done_text % {"num": len(done), "names": ", ".join(done)}, "success")
    for name, message in failed[:10]:
        flash(_("Not changed: %(name)s: %(message)s", name=name, message=message), "error")
    if len(failed) > 10:
        flash(_("…and %(num)s more not changed.", num=len(failed) - 10), "error")


@bp.get("/release")
def release_console():
    """The release console: inactive accounts in grace, due, released and held-back handles."""
    form = ReleaseActionForm()
    form.action.data = {"grace": "release_now", "released": "hold_back",
                        "held_back": "return_to_pool"}[_queue_state(request.args.get("state"))]
    return _release_page(form)


@bp.post("/release/sweep")
def release_sweep():
    """Run a bounded number of sweep batches now (resuming an unfinished run), then show progress."""
    from flask import current_app

    from ..wiring import release

    form = SweepForm()
    if not form.validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    batches = current_app.config.get("RELEASE_CONSOLE_BATCHES", 5)
    run = release().run(max_batches=batches)
    if run.finished_at is not None:
        flash(_("Sweep finished: %(processed)s of %(total)s accounts checked; %(flagged)s flagged, "
                "%(released)s released, %(held)s held back, %(kept)s kept.",
                processed=f"{run.processed:,}", total=f"{run.total:,}", flagged=run.flagged,
                released=run.released, held=run.held_back, kept=run.kept), "success")
    else:
        flash(_("Sweep ran %(batches)s batches: %(processed)s of %(total)s accounts checked. "
                "Run it again to continue; the worker also continues it on its schedule.",
                batches=batches, processed=f"{run.processed:,}", total=f"{run.total:,}"), "info")
    return _release_redirect()


@bp.post("/release/actions")
def release_action():
    """Apply one action (release now, keep, hold back, return to pool) to the picked handles, with a reason."""
    from ..wiring import release

    form = ReleaseActionForm()
    if not form.validate_on_submit():
        return _release_page(form, 400)
    names = _names(request.form.getlist("handles"), form.typed.data)
    if not names:
        form.typed.errors = [_("Pick at least one handle, or type one.")]
        return _release_page(form, 400)
    if len(names) > BULK_LIMIT:
        form.typed.errors = [_("At most %(num)s handles at a time.", num=BULK_LIMIT)]
        return _release_page(form, 400)
    service = release()
    act = getattr(service, form.action.data)
    done, failed = [], []
    for name in names:
        try:
            result = act(current_user, name, form.reason.data)
        except ServiceError as exc:
            db.session.rollback()
            failed.append((f"@{name.lstrip('@')}", exc.message))
        else:
            done.append(f"@{result['handle']}" + (f" ({result['state']})" if form.action.data == "release_now" else ""))
    texts = {"release_now": _("Released %(num)s: %(names)s."), "keep": _("Kept with their owners (%(num)s): %(names)s."),
             "hold_back": _("Held back (%(num)s): %(names)s."), "return_to_pool": _("Returned to the pool (%(num)s): %(names)s.")}
    _flash_outcome(done, failed, texts[form.action.data])
    return _release_redirect()


def _dollars(cents: int | None) -> str:
    """Cents as dollars for an input: 2500000 -> "25,000" (cents only when there are some)."""
    if cents is None:
        return ""
    return f"{cents // 100:,}" + (f".{cents % 100:02d}" if cents % 100 else "")


def _listing_data(row: dict, values: dict, common: dict) -> dict:
    """The ListingService.create body for one picked row; raises ServiceError on a bad amount."""
    from ..errors import BadRequest
    from ..validation import dollars_to_cents

    kind = values["kind"]
    if kind not in ("auction", "fixed", "dutch"):
        raise BadRequest("invalid_field", _("Choose auction, fixed price or Dutch."))
    start = dollars_to_cents(values["start"])
    data = {"handle": row["handle"], "kind": kind, "eligibility": common["eligibility"],
            "starts_at": common["starts_at"].isoformat()}
    if kind == "auction":
        reserve = dollars_to_cents(values["reserve"]) if values["reserve"].strip() else None
        data.update(start_price_cents=start, reserve_cents=reserve,
                    ends_at=(common["starts_at"] + timedelta(hours=common["hours"])).isoformat())
    elif kind == "fixed":
        data.update(price_cents=start)
    else:
        if not values["reserve"].strip():
            raise BadRequest("missing_field", _("A Dutch lot needs a floor price (the reserve column)."))
        data.update(start_price_cents=start, floor_price_cents=dollars_to_cents(values["reserve"]),
                    half_life_seconds=common["half_life_minutes"] * 60)
    return data


@bp.route("/release/list", methods=["GET", "POST"])
def release_list():
    """Pick released handles and list them in one step, each with its own kind and prices."""
    from ..wiring import release

    service = release()
    rows = service.listing_suggestions(limit=100)
    for row in rows:
        row["values"] = {"kind": row["kind"], "start": _dollars(row["start_price_cents"]),
                         "reserve": _dollars(row["reserve_cents"] if row["kind"] != "dutch" else row["floor_price_cents"])}
    form = BulkListForm()
    picked: set[str] = set()
    listed: list[dict] = []
    status = 200
    if request.method == "POST":
        by_id = {str(row["handle_id"]): row for row in rows}
        picked = set(request.form.getlist("pick"))
        for row in rows:
            key = str(row["handle_id"])
            if key in picked:
                row["values"] = {name: (request.form.get(f"{name}_{key}") or "")[:40] for name in ("kind", "start", "reserve")}
        gone = sorted(picked - set(by_id))
        if not form.validate_on_submit():
            status = 400
        elif not picked:
            flash(_("Pick at least one handle to list."), "error")
            status = 400
        else:
            now = clock().now()
            common = {"eligibility": form.eligibility.data, "hours": form.duration_hours.data or 72,
                      "half_life_minutes": form.half_life_minutes.data or 60,
                      "starts_at": form.starts_at.data.replace(tzinfo=UTC) if form.starts_at.data else now}
            failed = [_("a handle (no longer waiting to be listed)") for _key in gone]
            for row in rows:
                if str(row["handle_id"]) not in picked:
                    continue
                try:
                    listing = listings().create(current_user, _listing_data(row, row["values"], common))
                except ServiceError as exc:
                    db.session.rollback()
                    row["error"] = exc.message
                    failed.append(f"@{row['handle']}")
                else:
                    listed.append({"id": listing.id, "handle": listing.handle_display, "kind": listing.kind})
            if listed:
                flash(_("Listed %(num)s: %(names)s.", num=len(listed),
                        names=", ".join(f"@{lot['handle']} (#{lot['id']})" for lot in listed)), "success")
            if failed:
                flash(_("Not listed (%(num)s): %(names)s. The reason is shown next to each row.",
                        num=len(failed), names=", ".join(failed)), "error")
                status = 422
            else:
                return redirect(url_for("admin.release_list"))
            done = {lot["handle"] for lot in listed}
            rows = [row for row in rows if row["handle"] not in done]
    return render_template("admin/release_list.html", rows=rows, form=form, picked=picked,
                           overview=service.overview()), status


@bp.get("/protected")
def protected_names():
    """The protected-names list: names that never go to an open auction."""
    return _protected_page(ProtectedNameForm(prefix="add"))


def _protected_page(add_form, status: int = 200, remove_errors: dict | None = None):
    """Render the protected-names page (with the add form as submitted)."""
    from ..wiring import release

    q = (request.args.get("q") or "").strip()[:40]
    page, per_page = _page_or_400(request.args)
    result = release().protected_names(page=page, per_page=per_page, q=q or None)
    return render_template("admin/protected.html", result=result, q=q, add_form=add_form,
                           remove_errors=remove_errors or {}), status


@bp.post("/protected/add")
def protect_name():
    """Add a name to the protected list, with a reason (audited)."""
    from ..wiring import release

    form = ProtectedNameForm(prefix="add")
    if not form.validate_on_submit():
        return _protected_page(form, 400)
    try:
        row = release().add_protected_name(current_user, form.name.data, form.reason.data)
    except ServiceError as exc:
        db.session.rollback()
        form.name.errors = [exc.message]
        return _protected_page(form, exc.status if exc.status < 500 else 400)
    flash(_("@%(name)s is now protected: it never goes to an open auction.", name=row.name), "success")
    return redirect(url_for("admin.protected_names"))


@bp.post("/protected/remove")
def unprotect_name():
    """Take a name off the protected list, with a reason (audited)."""
    from ..wiring import release

    name = (request.form.get("name") or "").strip()
    reason = (request.form.get("reason") or "").strip()
    try:
        release().remove_protected_name(current_user, name, reason)
    except ServiceError as exc:
        db.session.rollback()
        flash(_("@%(name)s was not removed: %(message)s", name=name.lstrip("@")[:40], message=exc.message), "error")
        return _protected_page(ProtectedNameForm(prefix="add", formdata=None), exc.status if exc.status < 500 else 400,
                               {name.lower().lstrip("@"): exc.message})
    flash(_("@%(name)s is no longer protected.", name=name.lstrip("@").lower()), "success")
    return redirect(url_for("admin.protected_names"))

