"""Pages render for each kind of visitor; forms refuse bad input with a message, not a 500."""
import re

import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, Listing
from tests.factories import PASSWORD, login, make_auction, make_user, released_handle


def test_market_lists_live_lots_and_has_empty_state(client, app):
    empty = client.get("/market")
    assert empty.status_code == 200
    assert 'data-testid="empty-state"' in empty.get_data(as_text=True)
    make_auction(handle=released_handle("Aurora").display)
    page = client.get("/market?q=auro&sort=newest").get_data(as_text=True)
    assert "@Aurora" in page


def test_market_bad_filter_redirects_with_message(client, app):
    response = client.get("/market?sort=sideways")
    assert response.status_code == 302 and response.headers["Location"] == "/market"


def test_lot_page_shows_price_and_sign_in_link(client, app):
    lot = make_auction(start_cents=1_250_000)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert "$12,500" in page
    assert "/login?next=" in page


def test_unknown_lot_page_is_404(client, app):
    assert client.get("/lots/98765").status_code == 404


def test_register_sign_in_and_out(client, app):
    response = client.post("/register", data={"display_name": "Dana", "email": "dana@example.com",
                                              "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302
    assert "Dana" in client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert "Dana" not in client.get("/").get_data(as_text=True)


def test_register_form_errors_are_shown(client, app):
    response = client.post("/register", data={"display_name": "", "email": "not-an-email",
                                              "password": "short", "confirm": "other"})
    assert response.status_code == 400
    assert 'data-testid="field-error"' in response.get_data(as_text=True)


def test_register_from_a_lot_keeps_the_lot_through_form_errors(client, app):
    lot = make_auction()
    lot_path = f"/lots/{lot.id}"
    form = client.get(f"/register?next={lot_path}").get_data(as_text=True)
    assert f'name="next" value="{lot_path}"' in form
    # A refused form (a short password) still carries the lot, in the form and in the sign-in link.
    refused = client.post("/register", data={"display_name": "Dana", "email": "dana@example.com",
                                             "password": "short", "confirm": "short", "next": lot_path})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert f'name="next" value="{lot_path}"' in html
    assert f'href="/login?next=/lots/{lot.id}"' in html
    done = client.post("/register", data={"display_name": "Dana", "email": "dana@example.com",
                                          "password": PASSWORD, "confirm": PASSWORD, "next": lot_path})
    assert done.status_code == 302 and done.headers["Location"] == lot_path


def test_sign_in_from_a_lot_keeps_the_lot_through_a_wrong_password(client, app):
    user = make_user()
    lot = make_auction()
    lot_path = f"/lots/{lot.id}"
    wrong = client.post("/login", data={"email": user.email, "password": "wrong-password", "next": lot_path})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and f'name="next" value="{lot_path}"' in html
    assert f'href="/register?next=/lots/{lot.id}"' in html
    right = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": lot_path})
    assert right.headers["Location"] == lot_path


def test_header_sign_in_and_register_links_come_back_to_the_page(client, app):
    lot = make_auction()
    html = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert f'href="/login?next=/lots/{lot.id}" data-testid="header-sign-in"' in html
    assert f'href="/register?next=/lots/{lot.id}" data-testid="header-register"' in html


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/x", "/\\evil.example/x", "javascript:x"])
def test_a_next_in_the_form_never_leaves_the_site(client, app, target):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": target})
    assert response.headers["Location"] == "/"


def test_the_password_rule_is_said_in_our_words_in_the_hint_and_the_error(client, app):
    rule = "Choose a password of 10 to 256 characters."
    form = client.get("/register").get_data(as_text=True)
    assert re.search(r'<p class="field-hint" id="password-hint">' + re.escape(rule) + "</p>", form)
    for password in ("short", "", "x" * 257):
        html = client.post("/register", data={"display_name": "Dana", "email": "dana@example.com",
                                              "password": password, "confirm": password}).get_data(as_text=True)
        errors = re.search(r'id="password-error"[^>]*>(.*?)</ul>', html, re.S).group(1)
        assert re.findall(r"<li>(.*?)</li>", errors) == [rule], password
        assert "Field must be between" not in html and html.count(rule) == 1  # the error, not the hint too
    # French readers get the French rule (the same sentence as the API's refusal).
    client.set_cookie("lang", "fr")
    html = client.post("/register", data={"display_name": "Dana", "email": "dana@example.com",
                                          "password": "short", "confirm": "short"}).get_data(as_text=True)
    assert "Choisissez un mot de passe de 10 à 256 caractères." in html
    assert "Choisissez un mot de passe de 10 à 256 caractères." in client.get("/register").get_data(as_text=True)


def test_wrong_password_shows_message(client, app):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "wrong-password"})
    assert response.status_code == 400
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_sign_in_never_redirects_off_site(client, app):
    user = make_user()
    response = client.post("/login?next=//evil.example/x", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_bid_without_javascript_confirms_then_places(client, app):
    lot = make_auction(start_cents=100_000)
    login(client, make_user())
    confirm = client.post(f"/lots/{lot.id}/bid/confirm", data={"max_amount": "$1,500.50", "key": "nojs-1"})
    assert confirm.status_code == 200
    assert "150050" in confirm.get_data(as_text=True)
    placed = client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "150050", "key": "nojs-1"})
    assert placed.status_code == 302
    again = client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "150050", "key": "nojs-1"})
    assert again.status_code == 302
    db.session.expire_all()  # the requests wrote through their own sessions
    assert db.session.get(Listing, lot.id).bid_count == 1


@pytest.mark.parametrize("typed", ["", "abc", "-5", "1.234", "1e9", "NaN"])
def test_bid_confirm_with_unreadable_amount_redirects_with_message(client, app, typed):
    lot = make_auction()
    login(client, make_user())
    response = client.post(f"/lots/{lot.id}/bid/confirm", data={"max_amount": typed}, follow_redirects=True)
    assert response.status_code == 200
    assert 'data-testid="flash"' in response.get_data(as_text=True)


def test_my_bids_page(client, app):
    lot = make_auction(start_cents=100_000)
    user = make_user()
    login(client, user)
    assert 'data-testid="empty-state"' in client.get("/me/bids").get_data(as_text=True)
    client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "150000", "key": "mb"})
    page = client.get("/me/bids").get_data(as_text=True)
    assert f"@{lot.handle_display}" in page and "$1,500" in page


def test_admin_pages_need_an_admin(client, app):
    assert client.get("/admin/").status_code == 302  # to sign in
    login(client, make_user())
    assert client.get("/admin/").status_code == 403


def test_admin_creates_a_lot_from_the_form_and_edits_reserve(client, app):
    admin = make_user(admin=True)
    released_handle("Glacier")
    login(client, admin)
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "Glacier" in dashboard
    created = client.post("/admin/lots/new", data={
        "handle": "glacier", "kind": "auction", "start_price": "10,000", "reserve": "25,000",
        "duration_minutes": "60", "eligibility": "registered"})
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    listing = db.session.query(Listing).filter_by(handle_name="glacier").one()
    assert listing.start_price_cents == 1_000_000 and listing.reserve_cents == 2_500_000
    # The old reserve page's address still saves (it hands the POST on to the admin lot page).
    edited = client.post(f"/admin/lots/{listing.id}/reserve", data={"reserve": "20000"})
    assert edited.status_code == 307 and edited.headers["Location"].endswith(f"/admin/lots/{listing.id}")
    edited = client.post(edited.headers["Location"], data={"reserve": "20000"})  # as a browser re-sends it
    assert edited.status_code == 302
    db.session.refresh(listing)
    assert listing.reserve_cents == 2_000_000
    actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions == ["lot.create", "lot.update"]
    audit_page = client.get("/admin/audit?action=lot.update").get_data(as_text=True)
    assert "lot.update" in audit_page


def test_admin_form_refuses_bad_amounts(client, app):
    released_handle("Fjord")
    login(client, make_user(admin=True))
    response = client.post("/admin/lots/new", data={"handle": "fjord", "kind": "auction",
                                                    "start_price": "ten dollars", "eligibility": "registered"})
    assert response.status_code == 400
    assert 'data-testid="field-error"' in response.get_data(as_text=True)


def test_admin_form_reports_service_refusal(client, app):
    login(client, make_user(admin=True))
    response = client.post("/admin/lots/new", data={"handle": "nobody", "kind": "fixed", "price": "50000",
                                                    "eligibility": "registered"})
    assert response.status_code == 200
    assert "not in the registry" in response.get_data(as_text=True)
