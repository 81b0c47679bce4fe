"""A user's language is remembered (User.locale): chosen on the site or through the API, taken at
sign-up and first sign-in, followed on other browsers, and used for every email they are sent."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.db import transaction
from marketplace.extensions import db
from marketplace.i18n import LANG_COOKIE
from marketplace.live import Publisher, RecordingSink
from marketplace.models import EmailMessage, User
from marketplace.services.notices import notify, render_email
from marketplace.wiring import accounts, bidding, clock as app_clock
from marketplace.worker import Worker
from tests.factories import PASSWORD, csrf_token, login, make_auction, make_user
from tests.integration.test_api import token_for

LANGUAGES = ["en", "fr", "ar"]
PUBLIC_URL = "https://hx.example"


@pytest.fixture
def app_config():
    return {"PUBLIC_URL": PUBLIC_URL}


def _spaces(text: str) -> str:
    """Babel's no-break and narrow no-break spaces as plain ones, so expectations stay readable."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _lang(page: str) -> str:
    """The lang attribute of a page's <html> tag."""
    return re.search(r'<html lang="([a-z]+)"', page).group(1)


def _user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _speaking(locale: str, **kwargs) -> User:
    user = make_user(**kwargs)
    return accounts().set_locale(user, locale, LANGUAGES)


# ---- emails in the recipient's language ------------------------------------------------------

def test_french_users_email_is_french_with_french_money_and_dates_whatever_the_request_language(app):
    alice = _speaking("fr", name="Alice")
    publisher = Publisher(RecordingSink())
    # The use case runs in someone else's English request (a bidder, an admin).
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        with transaction(publisher) as session:
            notify(session, publisher, alice.id, "payment_needed", app_clock().now(), lot_id=None, order_id=7,
                   handle="Aurora", amount_cents=123_450, pay_by="2026-06-03T12:00:00+00:00")
    [mail] = db.session.query(EmailMessage).all()
    assert mail.subject == "Action requise : payez @Aurora"
    body = _spaces(mail.body_text)
    assert body.startswith("Bonjour Alice,")
    assert "1 234,50 $US" in body and "$1,234.50" not in body
    assert "3 juin 2026, 12:00 UTC" in body
    assert f"Payez ici : {PUBLIC_URL}/orders/7" in body and "Hello" not in body


def test_outbid_french_user_gets_the_outbid_text_in_french(app):
    """Outbid notices are kept, not emailed (too chatty); their email text, when rendered, is French."""
    lot = make_auction(start_cents=100_000)
    alice, bob = _speaking("fr", name="Alice"), make_user()
    bidding().place(alice, lot.id, 150_000)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        bidding().place(bob, lot.id, 200_000)
        subject, body = render_email("outbid", {"lot_id": lot.id, "handle": lot.handle_display,
                                                "amount_cents": 160_000}, _user(alice.id))
    assert subject == f"Votre enchère sur @{lot.handle_display} a été dépassée"
    assert "1 600,00 $US" in _spaces(body) and body.startswith("Bonjour Alice,")


def test_email_without_a_stored_language_is_in_the_default_language(app):
    alice = make_user(name="Alice")
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        subject, body = render_email("won", {"order_id": 3, "handle": "Aurora", "amount_cents": 100_000}, alice)
    assert subject == "You won @Aurora" and "$1,000.00" in body


def test_worker_closing_emails_an_arabic_winner_in_arabic(app, clock):
    lot = make_auction(start_cents=100_000, minutes=10)
    alice = _speaking("ar", name="Alice")
    bidding().place(alice, lot.id, 150_000)
    clock.set(clock.now() + timedelta(minutes=11))
    assert Worker(app).run_once() == 1  # its own app context, no request: as in production
    [mail] = db.session.query(EmailMessage).filter_by(kind="won").all()
    assert mail.subject == f"فزت بـ @{lot.handle_display}"
    assert mail.body_text.startswith("مرحبًا Alice،")
    assert "1,000.00\xa0US$" in mail.body_text and "$1,000.00" not in mail.body_text
    assert "You won" not in mail.body_text


def test_notices_page_is_written_when_viewed_in_the_viewers_language(app):
    """Notices keep data, not text: one made by the worker reads in French to a French user."""
    alice = _speaking("fr", name="Alice")
    publisher = Publisher(RecordingSink())
    with transaction(publisher) as session:  # no request: as the worker makes it
        notify(session, publisher, alice.id, "won", app_clock().now(), lot_id=None, order_id=3,
               handle="Aurora", amount_cents=123_450)
    fresh = app.test_client()
    login(fresh, alice)
    page = _spaces(fresh.get("/account/notifications").get_data(as_text=True))
    assert "Vous avez remporté @Aurora à 1 234,50 $US." in page
    fresh.set_cookie(LANG_COOKIE, "en")  # the same notice, read on a browser set to English
    assert "You won @Aurora at $1,234.50." in fresh.get("/account/notifications").get_data(as_text=True)


# ---- the choice on the site ----------------------------------------------------------------

def test_choosing_a_language_while_signed_in_stores_it(app, client):
    alice = make_user()
    login(client, alice)
    response = client.post("/language/fr", data={"next": "/market", "csrf_token": csrf_token(client)})
    assert response.status_code == 303 and f"{LANG_COOKIE}=fr" in response.headers["Set-Cookie"]
    assert _user(alice.id).locale == "fr"


def test_choosing_a_language_signed_out_only_sets_the_cookie(app, client):
    response = client.post("/language/ar", data={"next": "/market"})
    assert response.status_code == 303
    assert db.session.query(User).filter(User.locale.is_not(None)).count() == 0


def test_signing_in_on_a_browser_without_a_cookie_brings_the_stored_language(app):
    alice = _speaking("fr", name="Alice")
    fresh = app.test_client()
    response = fresh.post("/login", data={"email": alice.email, "password": PASSWORD},
                          headers={"Accept-Language": "en"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert _lang(page) == "fr" and "Bon retour, Alice." in page  # the welcome, too
    assert _lang(fresh.get("/market", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "fr"
    assert _user(alice.id).locale == "fr"  # not overwritten by this browser's English


def test_an_explicit_cookie_still_wins_over_the_stored_language(app, client):
    alice = _speaking("fr")
    client.set_cookie(LANG_COOKIE, "ar")
    login(client, alice)
    assert _lang(client.get("/market").get_data(as_text=True)) == "ar"
    assert _user(alice.id).locale == "fr"


def test_first_sign_in_stores_the_language_in_use(app, client):
    alice = make_user()
    assert alice.locale is None
    client.post("/login", data={"email": alice.email, "password": PASSWORD}, headers={"Accept-Language": "ar"})
    assert _user(alice.id).locale == "ar"


def test_sign_up_stores_the_requests_language(app, client):
    response = client.post("/register", headers={"Accept-Language": "fr-CH, en;q=0.5"},
                           data={"display_name": "Zoé", "email": "zoe@example.com", "password": PASSWORD,
                                 "confirm": PASSWORD})
    assert response.status_code == 302
    assert db.session.query(User).filter_by(email="zoe@example.com").one().locale == "fr"


# ---- the API -------------------------------------------------------------------------------

def test_api_me_shows_and_changes_the_language(app, client):
    alice = make_user()
    headers = token_for(client, alice)
    assert client.get("/api/v1/me", headers=headers).get_json()["locale"] is None
    response = client.patch("/api/v1/me", json={"locale": "ar"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["locale"] == "ar"
    assert _user(alice.id).locale == "ar"
    assert client.get("/api/v1/me", headers=headers).get_json()["locale"] == "ar"


@pytest.mark.parametrize("body", [{"locale": "de"}, {"locale": "FR"}, {"locale": None}, {"locale": 3}, {}])
def test_api_refuses_an_unsupported_language(app, client, body):
    alice = _speaking("fr")
    response = client.patch("/api/v1/me", json=body, headers=token_for(client, alice))
    assert response.status_code == 400
    error = response.get_json()["error"]
    # In the user's stored language, as this client sends no Accept-Language of its own.
    assert error == {"code": "unsupported_language", "message": "Choisissez l'une de ces langues : en, fr, ar.",
                     "details": {"codes": "en, fr, ar"}}
    assert _user(alice.id).locale == "fr"


def test_api_sign_up_stores_the_requests_language(app, client):
    response = client.post("/api/v1/users", headers={"Accept-Language": "ar"},
                           json={"email": "new@example.com", "password": "long-enough-pw", "display_name": "New"})
    assert response.status_code == 201
    assert _user(response.get_json()["id"]).locale == "ar"
