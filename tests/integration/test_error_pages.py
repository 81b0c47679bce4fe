"""Our own error pages (404, 403, 405, 500) in the reader's language, never the framework's stock
sentences; the API keeps answering JSON."""
from __future__ import annotations

import pytest

from tests.factories import login, make_user

STOCK = ("The requested URL was not found on the server", "The method is not allowed for the requested URL",
         "You don't have the permission to access the requested resource",
         "The server encountered an internal error")


def page_of(response) -> str:
    """The answer's HTML, checked for the framework's sentences."""
    html = response.get_data(as_text=True)
    for sentence in STOCK:
        assert sentence not in html, sentence
    assert 'data-testid="error-page"' in html
    return html


def test_an_unknown_page_is_our_404_with_a_search_and_ways_on(client, app):
    response = client.get("/no-such-page")
    html = page_of(response)
    assert response.status_code == 404
    assert "We couldn't find that page" in html and "Handles sell fast" in html
    assert 'data-testid="error-search"' in html and 'action="/market"' in html
    assert 'href="/market"' in html and "<title>Page not found · Handle Exchange</title>" in html


def test_a_missing_lot_is_the_same_404(client, app):
    response = client.get("/lots/98765")
    assert response.status_code == 404 and "We couldn't find that page" in page_of(response)


def test_the_404_page_is_translated(client, app):
    client.set_cookie("lang", "fr")
    html = page_of(client.get("/no-such-page"))
    assert '<html lang="fr"' in html
    assert "We couldn't find that page" not in html  # the French title (translated in the catalog)


def test_a_page_for_admins_only_is_our_403(client, app):
    login(client, make_user())
    response = client.get("/admin/")
    html = page_of(response)
    assert response.status_code == 403
    assert "You don't have access to this page" in html and "sign in with that account" in html


def test_a_wrong_method_is_our_405(client, app):
    response = client.get("/logout")
    html = page_of(response)
    assert response.status_code == 405 and "That action isn't available here" in html
    assert "use the page's buttons" in html


def test_a_crash_is_our_500_without_touching_the_database_in_the_layout(app):
    def boom():
        raise RuntimeError("boom")

    app.add_url_rule("/boom-for-test", "boom_for_test", boom)
    response = app.test_client().get("/boom-for-test")
    html = page_of(response)
    assert response.status_code == 500
    assert "Something went wrong on our side; nothing was changed. Try again." in html
    assert 'data-testid="account-menu"' not in html


def test_a_views_own_sentence_is_kept(client, app):
    response = client.post("/language/xx")
    assert response.status_code == 400 and "That language is not available." in page_of(response)


@pytest.mark.parametrize("path", ["/api/v1/no-such-endpoint", "/api/v1/lots/98765"])
def test_api_errors_stay_json(client, app, path):
    response = client.get(path)
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["error"]["code"] in ("not_found", "lot_not_found")
