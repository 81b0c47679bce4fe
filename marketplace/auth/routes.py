"""Pages for signing in and out and registering."""
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import ServiceError
from ..i18n import current_language, supported
from ..security import register_limit, signin_limit, signin_throttle, too_many_response
from ..wiring import accounts, release
from . import bp
from .forms import LoginForm, RegisterForm


def _safe_next(target: str | None) -> str:
    """Only follow a relative `next` so sign-in cannot redirect off-site."""
    return _local_next(target) or url_for("lots.home")


def _local_next(target: object) -> str | None:
    """`target` if it is a path on this site (never //host or a scheme), else None."""
    if (isinstance(target, str) and len(target) <= 2000 and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not urlsplit(target).netloc):
        return target
    return None


def _next() -> str | None:
    """Where to go after signing in or registering: the form's `next` (kept through form errors)
    or the query string's, when it stays on this site."""
    return _local_next(request.form.get("next")) or _local_next(request.args.get("next"))


def _page(template: str, form):
    """The form page again (400 after a refused POST), carrying `next` along."""
    status = 200 if request.method == "GET" or not form.errors else 400
    return render_template(template, form=form, next_url=_next()), status


@bp.route("/login", methods=["GET", "POST"])
@signin_limit
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("lots.home"))
    form = LoginForm()
    if form.validate_on_submit():
        throttle = signin_throttle()
        wait = throttle.wait_seconds(form.email.data)
        if wait:  # refused before the password is checked, the same whether the account exists or not
            return too_many_response(wait, ("auth/login.html", form))
        user = accounts().authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.failed(form.email.data)
            form.password.errors.append(_("Wrong email or password."))
        else:
            throttle.succeeded(form.email.data)
            language = current_language()  # this request's, before the user's own can count
            login_user(user, remember=True)
            # A first sign-in since languages were remembered: the language in use now is theirs.
            accounts().set_locale(user, language, supported(), only_if_unset=True)
            refresh()  # without a cookie their stored language applies from this response on
            release().record_sign_in(user)  # signing in is activity: it keeps handles in grace
            flash(_("Welcome back, %(name)s.", name=user.display_name), "success")
            return redirect(_safe_next(_next()))
    return _page("auth/login.html", form)


@bp.route("/register", methods=["GET", "POST"])
@register_limit
def register():
    """Create an account."""
    if current_user.is_authenticated:
        return redirect(url_for("lots.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts().register(form.email.data, form.password.data, form.display_name.data,
                                       locale=current_language())
        except ServiceError as exc:
            form.email.errors.append(exc.message)
        else:
            login_user(user, remember=True)
            flash(_("Your account is ready. Your public bidder name is %(alias)s.", alias=user.alias), "success")
            return redirect(_safe_next(_next()))
    return _page("auth/register.html", form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (a POST with a CSRF token, so another site cannot sign you out)."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("lots.home"))
