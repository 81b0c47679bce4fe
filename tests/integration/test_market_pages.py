"""The home page's sections, the catalog at /market (old / links still reach it), watchlists
(page, form and API) and the lot page's price chart data."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from marketplace.extensions import db
from marketplace.models import Listing, Watch
from marketplace.wiring import bidding, listings
from tests.factories import csrf_token, login, make_auction, make_user, released_handle


def section(html: str, key: str) -> str:
    """The HTML of one home page section."""
    match = re.search(rf'<section[^>]*data-section="{key}".*?</section>', html, re.S)
    assert match, key
    return match.group(0)


def sell(lot_id: int, clock, price_cents: int, minutes_ago: int = 0) -> None:
    """Mark a lot sold (what the closing worker leaves behind), `minutes_ago` before now."""
    listing = db.session.get(Listing, lot_id)
    listing.closed_status, listing.final_price_cents = "sold", price_cents
    listing.closed_at = clock.now() - timedelta(minutes=minutes_ago)
    listing.winner_id = make_user().id
    db.session.commit()


def dutch(admin=None) -> Listing:
    """A live Dutch lot."""
    return listings().create(admin or make_user(admin=True), {
        "handle": released_handle().display, "kind": "dutch", "start_price_cents": 800_000,
        "floor_price_cents": 100_000, "half_life_seconds": 600})


# ---- home page and catalog -------------------------------------------------------------------
def test_home_page_shows_each_section_with_see_all_links(client, app, clock):
    admin = make_user(admin=True)
    soon = make_auction(admin=admin, minutes=10, handle=released_handle("soonest").display)
    later = make_auction(admin=admin, minutes=600, handle=released_handle("later").display)
    falling = dutch(admin)
    sold = make_auction(admin=admin, handle=released_handle("goneaway").display)
    sell(sold.id, clock, 4_200_000)

    html = client.get("/").get_data(as_text=True)
    ending = section(html, "ending_soon")
    assert ending.index("@soonest") < ending.index("@later")
    assert 'href="/market"' in ending
    assert "@" + falling.handle_display in section(html, "dutch")
    assert 'href="/market?kind=dutch"' in section(html, "dutch")
    assert "@" + later.handle_display in section(html, "newest") and "sort=newest" in section(html, "newest")
    sales = section(html, "sold")
    assert "@goneaway" in sales and "$42,000" in sales and "status=sold" in sales
    assert "@goneaway" not in ending and "@" + soon.handle_display not in sales
    assert 'data-testid="section-empty"' not in html


def test_home_page_sections_have_empty_states(client, app):
    html = client.get("/").get_data(as_text=True)
    assert html.count('data-testid="home-section"') == 4
    assert html.count('data-testid="section-empty"') == 4
    assert "/market?status=scheduled" in section(html, "ending_soon")


def test_recent_sales_are_newest_sale_first_and_private_lots_stay_off_the_home_page(client, app, clock):
    admin = make_user(admin=True)
    older = make_auction(admin=admin, handle=released_handle("oldsale").display)
    newer = make_auction(admin=admin, handle=released_handle("newsale").display)
    sell(older.id, clock, 200_000, minutes_ago=30)
    sell(newer.id, clock, 300_000, minutes_ago=5)
    hidden = make_auction(admin=admin, handle=released_handle("secretlot").display)
    db.session.get(Listing, hidden.id).private = True
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    sales = section(html, "sold")
    assert sales.index("@newsale") < sales.index("@oldsale")
    assert "@secretlot" not in html


def test_catalog_lives_at_market_and_old_catalog_links_redirect_there(client, app):
    make_auction(handle=released_handle("Aurora").display)
    page = client.get("/market?q=auro&sort=newest")
    assert page.status_code == 200 and "@Aurora" in page.get_data(as_text=True)
    old = client.get("/?q=auro&sort=newest&status=live")
    assert old.status_code == 301
    assert old.headers["Location"].startswith("/market?")
    assert all(part in old.headers["Location"] for part in ("q=auro", "sort=newest", "status=live"))
    assert "@Aurora" in client.get("/?q=auro", follow_redirects=True).get_data(as_text=True)


def test_a_page_past_the_last_says_so_and_links_back_instead_of_claiming_nothing_is_live(client, app):
    admin = make_user(admin=True)
    for _ in range(14):
        make_auction(admin=admin)
    first = client.get("/market").get_data(as_text=True)
    assert "14 lots" in first and first.count('data-testid="lot-card"') == 14

    past = client.get("/market?page=2&sort=newest")
    html = past.get_data(as_text=True)
    assert past.status_code == 200
    assert "No lots are live right now" not in html
    assert 'data-reason="past-last-page"' in html and "Page 2 is past the end of this list" in html
    assert "14 lots" in html
    # The count past the last page is the real one (the API says so too), not the page's items.
    api = client.get("/api/v1/lots?status=live&page=2&per_page=24").get_json()
    assert api["items"] == [] and api["total"] == 14
    # The way back keeps the filters and goes to the first page (14 lots fit on one).
    link = re.search(r'href="([^"]+)" data-testid="last-page"', html).group(1)
    assert "sort=newest" in link and "page=" not in link
    assert "14 lots" in client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    # Two pages of 24: page 5 points at page 2.
    for _ in range(14):
        make_auction(admin=admin)
    html = client.get("/market?page=5").get_data(as_text=True)
    assert "28 lots" in html and "Go to the last page (2)" in html
    assert re.search(r'href="/market\?page=2" data-testid="last-page"', html)
    # Where nothing matches at all, page 3 says what page 1 says.
    none = client.get("/market?page=3&status=scheduled").get_data(as_text=True)
    assert 'data-testid="empty-state"' in none and "past-last-page" not in none and "Nothing here yet." in none


def test_header_brand_goes_home_and_market_link_goes_to_the_catalog(client, app):
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<a class="brand" href="/">', html)
    assert re.search(r'<a href="/market"[^>]*>Market</a>', html)


# ---- watchlist: form, page and API -----------------------------------------------------------
def test_watch_form_adds_and_removes_and_is_idempotent(client, app):
    user, lot = make_user(), make_auction()
    login(client, user)
    token = csrf_token(client)
    for _ in range(2):  # a double submit lands in the same state
        response = client.post(f"/lots/{lot.id}/watch", data={"csrf_token": token, "watch": "1", "next": "/market"})
        assert response.status_code == 302 and response.headers["Location"] == "/market"
    assert db.session.query(Watch).filter_by(user_id=user.id, listing_id=lot.id).count() == 1
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-watching="true"' in page and ">Unwatch<" in page
    assert "@" + lot.handle_display in client.get("/account/watchlist").get_data(as_text=True)

    client.post(f"/lots/{lot.id}/watch", data={"csrf_token": token, "watch": "0"})
    assert db.session.query(Watch).count() == 0
    assert 'data-testid="empty-state"' in client.get("/account/watchlist").get_data(as_text=True)


def test_watch_form_refuses_bad_input_and_off_site_next(client, app):
    user, lot = make_user(), make_auction()
    login(client, user)
    token = csrf_token(client)
    bad = client.post(f"/lots/{lot.id}/watch", data={"csrf_token": token, "watch": "maybe"})
    assert bad.status_code == 302 and db.session.query(Watch).count() == 0
    away = client.post(f"/lots/{lot.id}/watch", data={"csrf_token": token, "watch": "1", "next": "//evil.example/x"})
    assert away.headers["Location"] == f"/lots/{lot.id}"
    assert client.post("/lots/98765/watch", data={"csrf_token": token, "watch": "1"}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, app):
    lot = make_auction()
    assert client.get("/account/watchlist").status_code == 302
    assert "/login" in client.get("/account/watchlist").headers["Location"]
    assert client.get("/api/v1/me/watchlist").status_code == 401
    assert client.put(f"/api/v1/lots/{lot.id}/watch").status_code == 401
    assert client.delete(f"/api/v1/lots/{lot.id}/watch").status_code == 401
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="sign-in-to-watch"' in page and 'data-testid="watch-button"' not in page
    assert 'data-testid="watch-button"' not in client.get("/").get_data(as_text=True)


def test_watch_api_is_idempotent_and_lists_live_lots(client, app):
    user, lot = make_user(), make_auction(start_cents=250_000)
    login(client, user)
    headers = {"X-CSRFToken": csrf_token(client)}
    first = client.put(f"/api/v1/lots/{lot.id}/watch", headers=headers)
    assert first.status_code == 201 and first.get_json()["watching"] is True
    again = client.put(f"/api/v1/lots/{lot.id}/watch", headers=headers)
    assert again.status_code == 200 and again.get_json()["watched_at"] == first.get_json()["watched_at"]
    mine = client.get("/api/v1/me/watchlist").get_json()
    assert mine["total"] == 1 and mine["items"][0]["lot"]["id"] == lot.id
    assert mine["items"][0]["lot"]["current_price_cents"] == 250_000
    assert client.delete(f"/api/v1/lots/{lot.id}/watch", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/lots/{lot.id}/watch", headers=headers).status_code == 204
    assert client.get("/api/v1/me/watchlist").get_json()["total"] == 0


def test_watch_api_404s_unknown_lots_and_refuses_bad_pages(client, app):
    user, lot = make_user(), make_auction()
    login(client, user)
    headers = {"X-CSRFToken": csrf_token(client)}
    missing = client.put("/api/v1/lots/98765/watch", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "lot_not_found"
    assert client.delete("/api/v1/lots/98765/watch", headers=headers).status_code == 404
    assert client.get("/api/v1/me/watchlist?per_page=500").status_code == 400


def test_a_watchlist_is_private_to_its_owner(client, app):
    alice, bob, lot = make_user(), make_user(), make_auction()
    login(client, alice)
    client.put(f"/api/v1/lots/{lot.id}/watch", headers={"X-CSRFToken": csrf_token(client)})
    other = app.test_client()
    login(other, bob)
    assert other.get("/api/v1/me/watchlist").get_json()["total"] == 0
    assert "@" + lot.handle_display not in other.get("/account/watchlist").get_data(as_text=True)
    assert 'data-watching="false"' in other.get(f"/lots/{lot.id}").get_data(as_text=True)


def test_a_private_lot_cannot_be_watched_by_others(client, app):
    user, lot = make_user(), make_auction()
    db.session.get(Listing, lot.id).private = True
    db.session.commit()
    login(client, user)
    assert client.put(f"/api/v1/lots/{lot.id}/watch", headers={"X-CSRFToken": csrf_token(client)}).status_code == 404


def test_cards_show_which_lots_i_watch(client, app):
    user = make_user()
    watched, other = make_auction(), make_auction()
    login(client, user)
    client.put(f"/api/v1/lots/{watched.id}/watch", headers={"X-CSRFToken": csrf_token(client)})
    html = client.get("/market").get_data(as_text=True)
    cards = {int(m.group(1)): m.group(0) for m in re.finditer(r'<li class="lot-card[^"]*"[^>]*data-lot-id="(\d+)".*?</li>', html, re.S)}
    assert 'data-watching="true"' in cards[watched.id] and 'data-watching="false"' in cards[other.id]


# ---- the price chart's data ------------------------------------------------------------------
def test_lot_page_carries_the_price_points_and_a_text_summary(client, app):
    lot = make_auction(start_cents=1_000_000)
    empty = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-point-count="0"' in empty and "No bids yet. The chart starts with the first bid." in empty
    for n, amount in enumerate((1_100_000, 1_500_000, 1_850_000)):
        bidding().place(make_user(), lot.id, amount, f"k{n}")
    html = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-point-count="3"' in html
    points = json.loads(re.search(r"data-points='([^']*)'", html).group(1))
    history = client.get(f"/api/v1/lots/{lot.id}/bids").get_json()["items"]  # newest first
    assert [(p["seq"], p["amount_cents"], p["at"]) for p in points] == [
        (h["seq"], h["amount_cents"], h["at"]) for h in reversed(history)]
    assert re.search(r"The price rose from \$10,000 to \$[\d,]+ over 3 bids\.", html)


def test_dutch_lot_page_describes_its_price_curve(client, app):
    lot = dutch()
    html = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="price-chart"' in html and 'data-kind="dutch"' in html
    assert "The price falls in steps from $8,000 to its floor of $1,000." in html
