"""Languages: which locale a request uses, the language switcher, and per-locale formatting.

The reader's explicit choice lives in a cookie (signed-in or not) and, when signed in, on their
account too (`User.locale`), so it follows them to other browsers and their emails use it; without
either the browser's Accept-Language picks the best supported language, else English. Money and
dates are formatted here, through Babel, in the locale of the request: one Jinja filter per rule.
"""
from __future__ import annotations

import functools

from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from babel import Locale
from babel.numbers import format_currency
from flask import abort, current_app, g, has_request_context, redirect, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .clock import to_utc
from .wiring import accounts

LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
# Each language's own name, shown as is in the switcher whatever the page's language.
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "ar": "العربية"}


def supported() -> list[str]:
    """The configured language codes, English first."""
    return list(current_app.config.get("LANGUAGES") or ["en"])


def select_locale() -> str:
    """The request's language: the cookie's choice, else the signed-in user's stored one, else the
    Accept-Language best match, else en."""
    languages = supported()
    if not has_request_context():
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    # This browser has no choice of its own: the one the user made elsewhere follows them.
    stored = _signed_in_locale()
    if stored in languages:
        return stored
    # In the browser's order of preference, a regional tag ("fr-CH") counting as its language;
    # werkzeug's best_match would take a lower-rated exact "en" over a preferred "fr-CH".
    for tag, _quality in request.accept_languages:
        language = tag.replace("_", "-").split("-")[0].lower()
        if language in languages:
            return language
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def remember_locale(user) -> None:
    """Note the language of the user this request was loaded for (the auth loaders call it).

    The request's language is often first asked for late, when a refusal is rendered, and by then a
    service may have rolled back (a bid waiting for its lot's lock does), which expires the user:
    reading `user.locale` then would load them from the database again just for it.
    """
    g.user_locale = user.locale


def _signed_in_locale() -> str | None:
    """The signed-in user's stored language, or None (also when the database cannot say)."""
    try:
        if not current_user.is_authenticated:
            return None
        return g.user_locale if "user_locale" in g else current_user.locale
    except SQLAlchemyError:
        # Loading the user failed (the database is down): the 503 page must still render.
        return None


def current_language() -> str:
    """The active locale's language code ("en" when no locale is active, as in the worker)."""
    try:
        locale = get_locale()
    except RuntimeError:  # outside any app context
        locale = None
    return str(locale.language) if locale is not None else "en"


def text_direction(lang: str) -> str:
    """"rtl" for right-to-left languages, else "ltr"."""
    return "rtl" if lang[:2] in RTL_LANGUAGES else "ltr"


def _whole_pattern(locale: Locale) -> str:
    """The locale's currency pattern without decimals: "¤#,##0" in English, "#,##0 ¤" in French."""
    return locale.currency_formats["standard"].pattern.replace(".00", "")


def usd(cents: int | None, exact: bool = False) -> str:
    """Whole cents as US dollars in the current locale: "$50,000" en, "50 000 $US" fr (cents only when
    present, or always with `exact`, as emails write them: "$50,000.00")."""
    if cents is None:
        return "—"
    return _usd(int(cents), bool(exact), get_locale() or Locale.parse("en"))


@functools.lru_cache(maxsize=8192)
def _usd(cents: int, exact: bool, locale: Locale) -> str:
    """`usd` for one locale, remembered: Babel parses the pattern on every call, and pages and
    refusals format the same few amounts over and over (0.3 ms each on the bid path)."""
    amount = Decimal(cents) / 100
    if cents % 100 or exact:
        text = format_currency(amount, "USD", locale=locale)
    else:
        text = format_currency(amount, "USD", format=_whole_pattern(locale), currency_digits=False, locale=locale)
    return _bidi_safe(text, locale)


def _bidi_safe(text: str, locale: Locale) -> str:
    """Keep "US$" in one piece in right-to-left text: a left-to-right mark after the "$" (which
    has no direction of its own) stops it drifting in front of "US"; static/js/live.js does the same."""
    if locale.character_order == "right-to-left":
        return text.replace("US$", "US$\u200e")
    return text


def _as_datetime(value) -> datetime | None:
    """A datetime from a datetime or an ISO 8601 string (as the API and `iso` filter give)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return to_utc(value)


def datetime_text(value, format: str = "medium") -> str:
    """A moment in the current locale, in UTC: "Jun 3, 2026, 12:05 PM" en, "3 juin 2026, 12:05" fr."""
    moment = _as_datetime(value)
    if moment is None:
        return "—"
    # Babel's "medium" carries seconds; readers want minutes, so the short time joins the medium date.
    if format == "medium":
        return _date_and_short_time(moment)
    return format_datetime(moment, format)


def _date_and_short_time(moment: datetime) -> str:
    """The locale's medium date with its short time, joined the locale's way."""
    locale = get_locale() or Locale.parse("en")
    pattern = locale.datetime_formats["medium"]
    date_part = format_date(moment, "medium")
    time_part = format_datetime(moment, locale.time_formats["short"].pattern)
    return pattern.format(time_part, date_part)


def date_text(value, format: str = "medium") -> str:
    """A day in the current locale: "Jun 3, 2026" en, "3 juin 2026" fr."""
    moment = _as_datetime(value)
    if moment is None:
        return "—"
    return format_date(moment, format)


def _safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the market: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("lots.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("lots.index")
    return target


def setup(app) -> None:
    """Register the filters, the template context and the /language/<code> switch."""
    app.add_template_filter(usd, "usd")
    app.add_template_filter(datetime_text, "datetime")
    app.add_template_filter(date_text, "date")

    @app.context_processor
    def _language():
        """`lang` and `dir` for base.html, and the switcher's choices."""
        lang = current_language()
        return {"lang": lang, "text_dir": text_direction(lang),
                "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in supported()]}

    @app.post("/language/<code>")
    def set_language(code: str):
        """Remember the reader's language in a cookie (and on their account) and go back to the page."""
        if code not in supported():
            abort(400, description=_("That language is not available."))
        if current_user.is_authenticated:
            accounts().set_locale(current_user, code, supported())
        response = redirect(_safe_next(request.form.get("next") or request.args.get("next")), code=303)
        response.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                            secure=bool(app.config.get("SESSION_COOKIE_SECURE")))
        return response
