"""Seller pages: the dashboard, linking a handle by ownership proof, listing it with a preview of
the fees, cancelling, payout onboarding, and /dev/platform (the platform's profile editor, in development)."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import db
from ..payments.gateway import PaymentError
from ..registry import DatabaseRegistry, parse_handle
from ..wiring import clock, gateway, sellers
from . import bp
from .forms import BioForm, ClaimForm, SellerLotForm


def dev_platform_enabled(config) -> bool:
    """The stand-in for the platform's profile editor: the embedded registry only, never in production."""
    return bool(config.get("DEV_PLATFORM")) and config.get("ENV_NAME") != "production"


@bp.app_context_processor
def _dev_platform_global():
    """For templates: whether to link the development platform page."""
    return {"dev_platform": dev_platform_enabled(current_app.config)}


def _refused(exc: ServiceError):
    """A refused request answered as a page (404 for things not yours, else the flash and a 4xx)."""
    db.session.rollback()
    if exc.status == 404:
        return render_template("errors/error.html", code=404, message=exc.message), 404
    flash(exc.message, "error")
    return None


# ---- dashboard -------------------------------------------------------------------------------
@bp.get("/seller")
@login_required
def dashboard():
    """My handles, my lots, my sales with their payouts, and payout onboarding."""
    service = sellers()
    return render_template("seller/dashboard.html", handles=service.linked_handles(current_user),
                           lots=service.lots(current_user, page=1, per_page=100),
                           sales=service.sales(current_user), paid_out_cents=service.paid_out_cents(current_user),
                           claims=[c for c in service.claims(current_user) if c.verified_at is None],
                           now=clock().now(), has_payout_account=bool(current_user.stripe_account_id),
                           commission_percent=percent(current_app.config["COMMISSION_BPS"]))


def percent(bps: int) -> str:
    """Basis points as a percentage for people: 1000 → "10%", 1250 → "12.5%"."""
    return f"{bps / 100:g}%"


# ---- ownership claims ------------------------------------------------------------------------
@bp.route("/seller/link", methods=["GET", "POST"])
@login_required
def link():
    """Start proving I hold a handle: a code to put in its bio."""
    form = ClaimForm(handle=request.args.get("handle", "")[:40])
    status = 200
    if form.validate_on_submit():
        try:
            claim, created = sellers().start_claim(current_user, form.handle.data)
        except ServiceError as exc:
            db.session.rollback()
            form.handle.errors = [exc.message]
            status = exc.status if exc.status < 500 else 400
        else:
            if not created:
                flash(_("You already have an open code for @%(handle)s.", handle=claim.handle.display), "info")
            return redirect(url_for("sellers.claim", claim_id=claim.id))
    elif form.errors:
        status = 400
    service = sellers()
    return render_template("seller/link.html", form=form, claims=service.claims(current_user),
                           now=clock().now()), status


@bp.get("/seller/claims/<int:claim_id>")
@login_required
def claim(claim_id: int):
    """A claim's code, what to do with it, and the Check button."""
    try:
        found = sellers().claim(current_user, claim_id)
    except ServiceError as exc:
        return _refused(exc)
    return render_template("seller/claim.html", claim=found, now=clock().now())


@bp.post("/seller/claims/<int:claim_id>/check")
@login_required
def check(claim_id: int):
    """Ask the platform whether the code is in the bio (a form post, so CSRF-checked)."""
    try:
        found = sellers().check_claim(current_user, claim_id)
    except ServiceError as exc:
        refused = _refused(exc)
        if refused is not None:
            return refused
        return redirect(url_for("sellers.claim", claim_id=claim_id))
    flash(_("Verified: @%(handle)s is linked to your account. You can list it now.",
            handle=found.handle.display), "success")
    return redirect(url_for("sellers.new_lot", handle=found.handle.name))


# ---- listing ---------------------------------------------------------------------------------
@bp.route("/seller/lots/new", methods=["GET", "POST"])
@login_required
def new_lot():
    """List a linked handle: fill in, preview what the sale pays, confirm."""
    service = sellers()
    handles = [h for h in service.linked_handles(current_user) if not h["lot_id"] and not h["protected"]]
    form = SellerLotForm(handle=request.args.get("handle", ""))
    form.handle.choices = [(h["handle"].name, "@" + h["handle"].display) for h in handles]
    if request.method == "GET" or form.edit.data:
        return render_template("seller/new_lot.html", form=form, handles=handles, commission_percent=percent(current_app.config["COMMISSION_BPS"]), preview=None)
    if not form.validate_on_submit() or not _prices_given(form):
        return render_template("seller/new_lot.html", form=form, handles=handles, commission_percent=percent(current_app.config["COMMISSION_BPS"]), preview=None), 400
    try:
        if form.confirm.data:
            listing = service.list_handle(current_user, form.data_for_service())
        else:
            preview = service.list_handle(current_user, form.data_for_service(), preview=True)
            return render_template("seller/new_lot.html", form=form, handles=handles, commission_percent=percent(current_app.config["COMMISSION_BPS"]), preview=preview)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_template("seller/new_lot.html", form=form, handles=handles, commission_percent=percent(current_app.config["COMMISSION_BPS"]), preview=None), \
            exc.status if exc.status < 500 else 400
    flash(_("@%(handle)s is on sale (lot #%(id)s).", handle=listing.handle_display, id=listing.id), "success")
    return redirect(url_for("lots.lot", lot_id=listing.id))


def _prices_given(form: SellerLotForm) -> bool:
    """The price the chosen kind needs is filled in; otherwise say so next to the field."""
    needed = form.start_price if form.kind.data == "auction" else form.price
    if needed.cents is None:
        needed.errors = [*needed.errors, _("Enter a price in dollars, e.g. 1,250.")]
        return False
    return True


@bp.post("/seller/lots/<int:lot_id>/cancel")
@login_required
def cancel_lot(lot_id: int):
    """Withdraw my lot while nobody has bid on or ordered it."""
    try:
        listing = sellers().cancel(current_user, lot_id)
    except ServiceError as exc:
        refused = _refused(exc)
        if refused is not None:
            return refused
    else:
        flash(_("Lot #%(id)s for @%(handle)s is cancelled.", id=listing.id, handle=listing.handle_display), "success")
    return redirect(url_for("sellers.dashboard"))


# ---- payouts (Stripe Connect) ----------------------------------------------------------------
@bp.post("/seller/payouts")
@login_required
def start_payouts():
    """Make my payout account (once) and send me to Stripe's onboarding."""
    try:
        url = sellers().start_payouts(current_user, gateway(), url_for("sellers.payouts_return", _external=True),
                                      url_for("sellers.payouts_refresh", _external=True))
    except PaymentError as exc:
        db.session.rollback()
        current_app.logger.warning("payout onboarding failed: %s", exc.code)
        flash(_("Payments are briefly unavailable; nothing was changed. Try again in a moment."), "error")
        return redirect(url_for("sellers.dashboard"))
    return redirect(url, code=303)


@bp.get("/seller/payouts/return")
@login_required
def payouts_return():
    """Back from Stripe's onboarding: where my payout account stands."""
    try:
        status = sellers().payout_status(current_user, gateway())
    except PaymentError:
        status = {"state": "unknown", "details_submitted": False, "payouts_enabled": False}
    return render_template("seller/payouts.html", status=status)


@bp.get("/seller/payouts/refresh")
@login_required
def payouts_refresh():
    """Stripe's onboarding link expired: explain, and offer a fresh one."""
    flash(_("The onboarding link expired. Press “Set up payouts” again for a fresh one."), "info")
    return redirect(url_for("sellers.dashboard"))


# ---- the platform's profile editor, in development -------------------------------------------
@bp.route("/dev/platform/<handle>", methods=["GET", "POST"])
def dev_platform(handle: str):
    """Stand-in for the platform's own profile editor: edit the bio of the account holding a
    handle (so a seller can put their ownership code there). Never in production."""
    if not dev_platform_enabled(current_app.config):
        abort(404)
    try:
        name, _display = parse_handle(handle)
    except ServiceError:
        abort(404)
    from ..models import Handle

    row = db.session.query(Handle).filter_by(name=name).one_or_none()
    if row is None or row.account is None:
        abort(404)
    form = BioForm(bio=row.account.bio or "")
    if form.validate_on_submit():
        DatabaseRegistry(db.session).set_bio(row.id, form.bio.data or "")
        db.session.commit()
        flash(_("Bio saved on the platform."), "success")
        return redirect(url_for("sellers.dev_platform", handle=row.name))
    return render_template("seller/dev_platform.html", form=form, handle=row), 400 if form.errors else 200
