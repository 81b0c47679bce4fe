"""Languages: choosing one, the page in it, money and dates in its format, complete catalogs."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import force_locale

from marketplace.i18n import LANG_COOKIE, date_text, datetime_text, usd
from tests.factories import make_auction, make_user

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("fr", "ar")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3), "N_": None,
            # A refusal's message: the error classes translate their second argument (Makefile ERROR_KEYWORDS).
            **{name: (2,) for name in ("ServiceError", "BadRequest", "NotFound", "Forbidden", "Conflict",
                                       "PaymentRequired")}}


def _html_tag(page: str) -> str:
    """The page's opening <html> tag."""
    return re.search(r"<html[^>]*>", page).group(0)


def _spaces(text: str) -> str:
    """Babel's no-break and narrow no-break spaces as plain ones, so expectations stay readable."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_switcher_sets_the_cookie_and_the_page_comes_back_in_french(client, app):
    """The footer's French button stores the choice and returns to the page, now in French."""
    response = client.post("/language/fr", data={"next": "/market?sort=newest"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/market?sort=newest"
    assert f"{LANG_COOKIE}=fr" in response.headers["Set-Cookie"]
    page = client.get("/market").get_data(as_text=True)
    assert _html_tag(page) == '<html lang="fr" dir="ltr">'
    assert ">Marché<" in page and "Aller au contenu" in page


def test_arabic_page_is_right_to_left(client, app):
    """Arabic pages say so in <html lang dir>."""
    client.post("/language/ar", data={"next": "/market"})
    page = client.get("/market").get_data(as_text=True)
    assert _html_tag(page) == '<html lang="ar" dir="rtl">'
    assert ">السوق<" in page


def test_switcher_marks_the_current_language(client, app):
    """The current language's button is pressed, the others are not."""
    client.set_cookie(LANG_COOKIE, "fr")
    page = client.get("/market").get_data(as_text=True)
    assert re.search(r'data-testid="language-fr"[^>]*aria-pressed="true"', page)
    assert re.search(r'data-testid="language-en"[^>]*aria-pressed="false"', page)


def test_accept_language_picks_french_without_a_cookie(client, app):
    """Without a choice, the browser's preferred supported language wins, regional tags included."""
    page = client.get("/market", headers={"Accept-Language": "de-DE,fr-CH;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert _html_tag(page) == '<html lang="fr" dir="ltr">'


def test_no_cookie_and_no_supported_accept_language_is_english(client, app):
    """Nothing we speak in Accept-Language: English."""
    page = client.get("/market", headers={"Accept-Language": "de-DE,ja;q=0.8"}).get_data(as_text=True)
    assert _html_tag(page) == '<html lang="en" dir="ltr">'


def test_cookie_choice_beats_accept_language(client, app):
    """An explicit choice outranks the browser's languages."""
    client.set_cookie(LANG_COOKIE, "ar")
    page = client.get("/market", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="ar"' in _html_tag(page)


def test_unknown_language_is_refused_and_sets_no_cookie(client, app):
    """A language we do not have is a 400, and nothing is stored."""
    response = client.post("/language/xx", data={"next": "/market"})
    assert response.status_code == 400
    assert LANG_COOKIE not in response.headers.get("Set-Cookie", "")


def test_unknown_language_cookie_falls_back_to_english(client, app):
    """A cookie naming an unknown language is ignored."""
    client.set_cookie(LANG_COOKIE, "xx")
    assert 'lang="en"' in _html_tag(client.get("/market").get_data(as_text=True))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_switcher_never_redirects_off_site(client, app, target):
    """`next` outside this site goes to the market instead (no open redirect)."""
    response = client.post("/language/fr", data={"next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/market"


def test_signed_in_user_keeps_the_language_choice(client, app):
    """The cookie is enough for signed-in users too."""
    from tests.factories import login
    user = make_user()
    login(client, user)
    client.post("/language/fr", data={"next": "/market"})
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'lang="fr"' in _html_tag(page)


@pytest.mark.parametrize("lang, whole, with_cents", [
    ("en", "$50,000", "$1,025.50"),
    ("fr", "50 000 $US", "1 025,50 $US"),
    ("ar", "\u200f50,000 US$\u200e", "\u200f1,025.50 US$\u200e"),
])
def test_money_is_formatted_per_locale(app, lang, whole, with_cents):
    """The usd filter writes dollars the locale's way; cents only when present."""
    with app.test_request_context("/"), force_locale(lang):
        assert _spaces(usd(5_000_000)) == whole
        assert _spaces(usd(102_550)) == with_cents
        assert usd(None) == "—"


@pytest.mark.parametrize("lang, day, moment", [
    ("en", "Jun 3, 2026", "Jun 3, 2026, 2:05 PM"),
    ("fr", "3 juin 2026", "3 juin 2026, 14:05"),
])
def test_dates_are_formatted_per_locale(app, lang, day, moment):
    """The date and datetime filters take datetimes and ISO strings, formatted per locale."""
    at = datetime(2026, 6, 3, 14, 5, tzinfo=UTC)
    with app.test_request_context("/"), force_locale(lang):
        assert _spaces(date_text(at)) == day
        assert _spaces(datetime_text(at)) == moment
        assert _spaces(datetime_text("2026-06-03T14:05:00.000Z")) == moment


def test_arabic_dates_put_the_day_first_with_latin_digits(app):
    """Arabic dates are day first, with Latin digits as Babel writes them."""
    with app.test_request_context("/"), force_locale("ar"):
        assert date_text(datetime(2026, 6, 3, tzinfo=UTC)).replace("\u200f", "") == "03/06/2026"
        assert "يونيو" in date_text(datetime(2026, 6, 3, tzinfo=UTC), "long")


def test_lot_page_shows_the_price_in_the_readers_format(client, app):
    """A lot's price follows the reader's language; its cents ride along for the script."""
    lot = make_auction(start_cents=1_250_000)
    client.set_cookie(LANG_COOKIE, "fr")
    page = _spaces(client.get(f"/lots/{lot.id}").get_data(as_text=True))
    assert "12 500 $US" in page and 'data-cents="1250000"' in page
    client.set_cookie(LANG_COOKIE, "en")
    assert "$12,500" in client.get(f"/lots/{lot.id}").get_data(as_text=True)


def test_emails_stay_english_whatever_the_language_of_the_request(app):
    """Users have no stored language, so a French visitor's action never mails someone in French."""
    from marketplace.services.notices import render_email
    user = make_user(name="Noor")
    with app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}=fr"}):
        subject, body = render_email("won", {"handle": "aurora", "amount_cents": 5_000_000, "listing_id": 1}, user)
    assert subject.startswith("You won @aurora")
    assert "Hello Noor," in body and "$50,000.00" in body


def test_email_templates_are_translated_strings(app):
    """The email text is in the catalogs too, ready for when users have a stored language."""
    with app.test_request_context("/"), force_locale("fr"):
        template = app.jinja_env.get_template("email/won.txt")
        text = template.render(handle="aurora", amount="5", name="Noor", link="x", notices_link="y",
                               public_url="z", pay_by_text="")
    assert "Bonjour Noor," in text


def _extracted_ids() -> set:
    """Every msgid in the code and templates, extracted the way `make translations` does."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        ids.add(message[0] if isinstance(message, tuple) else message)
    ids.discard("")
    return ids


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_user_facing_string_is_translated(lang):
    """Fails when new text has no translation: run `make translations`, then translate the new msgids."""
    with open(ROOT / "marketplace" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=lang)
    translated = set()
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            translated.add(message.id[0] if isinstance(message.id, tuple) else message.id)
    missing = sorted(_extracted_ids() - translated)
    assert not missing, f"{len(missing)} strings have no {lang} translation (make translations): {missing[:20]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_their_placeholders(lang):
    """A translation names only placeholders its English text has, so formatting never fails."""
    with open(ROOT / "marketplace" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=lang)
    placeholder = re.compile(r"%\(\w+\)s|\{\w+\}")
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        allowed = set().union(*(placeholder.findall(i) for i in ids))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wrong += [s for s in strings if not set(placeholder.findall(s)) <= allowed]
    assert not wrong


def test_arabic_catalog_has_six_plural_forms_in_the_usual_order():
    """zero, one, two, few (3-10), many (11-99), other (100-102...), as Arabic grammar needs."""
    with open(ROOT / "marketplace" / "translations" / "ar" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale="ar")
    assert catalog.num_plurals == 6
    from gettext import c2py
    rule = c2py(catalog.plural_expr)
    assert [rule(n) for n in (0, 1, 2, 3, 10, 11, 99, 100, 102, 103, 111)] == [0, 1, 2, 3, 3, 4, 4, 5, 5, 3, 4]


def test_browser_strings_carry_each_arabic_plural_form(client, app):
    """_i18n.html gives the scripts every Arabic plural form of the bid count."""
    import html
    import json
    client.set_cookie(LANG_COOKIE, "ar")
    page = client.get("/market").get_data(as_text=True)
    strings = json.loads(html.unescape(re.search(r"name=\"hx-i18n\" content='([^']*)'", page).group(1)))
    forms = [strings[f"bids_{category}"] for category in ("zero", "one", "two", "few", "many", "other")]
    # "many" and "other" are spelt alike without vowel marks (11 مزايدةً, 100 مزايدةٍ).
    assert forms == ["لا مزايدات", "مزايدة واحدة", "مزايدتان", "{n} مزايدات", "{n} مزايدة", "{n} مزايدة"]


def test_switcher_needs_the_csrf_token(client, app):
    """The language POST is CSRF-protected like every form."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/language/fr", data={"next": "/market"})
        assert refused.status_code == 400 and LANG_COOKIE not in refused.headers.get("Set-Cookie", "")
        page = client.get("/market").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        accepted = client.post("/language/fr", data={"next": "/market", "csrf_token": token})
        assert accepted.status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
