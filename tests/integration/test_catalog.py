"""Lot lists at scale: the count stops at a cap (and says so), and every sort breaks ties by id."""
import pytest

from tests.factories import make_auction, make_user


@pytest.fixture
def app_config() -> dict:
    return {"CATALOG_COUNT_CAP": 3}


def lots(n: int, **kwargs) -> list[int]:
    admin = make_user(admin=True)
    return [make_auction(admin=admin, **kwargs).id for _ in range(n)]


def test_total_is_exact_up_to_the_cap(client, app):
    lots(3)
    page = client.get("/api/v1/lots?status=live&per_page=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert "total_capped" not in page


def test_total_past_the_cap_is_capped_and_says_so(client, app):
    lots(5)
    first = client.get("/api/v1/lots?status=live&per_page=2").get_json()
    assert first["total"] == 3 and first["total_capped"] is True and len(first["items"]) == 2
    # A page past the cap still pages on; `total` stays a lower bound of what exists.
    second = client.get("/api/v1/lots?status=live&per_page=2&page=2").get_json()
    assert second["total"] == 4 and second["total_capped"] is True
    # The last page knows the exact total without counting.
    last = client.get("/api/v1/lots?status=live&per_page=2&page=3").get_json()
    assert last["total"] == 5 and "total_capped" not in last and len(last["items"]) == 1


def test_market_page_says_plus_and_offers_next_page_when_capped(client, app):
    lots(25)  # the market page shows 24 a page: the first page is full, so it counts (cap 3)
    html = client.get("/market").get_data(as_text=True)
    assert "24+ lots" in html
    assert 'data-testid="pagination"' in html and 'rel="next"' in html
    html = client.get("/market?page=2").get_data(as_text=True)
    assert "25 lots" in html and "+ lots" not in html


@pytest.mark.parametrize("sort, by_id", [("ending_soon", "asc"), ("newest", "desc"),
                                          ("price_asc", "asc"), ("price_desc", "desc")])
def test_ties_are_broken_by_id_across_pages(client, app, sort, by_id):
    ids = lots(5, minutes=30)  # same end, same price, same creation time (the clock is frozen)
    seen = []
    for page in (1, 2, 3):
        seen += [i["id"] for i in client.get(
            f"/api/v1/lots?status=live&sort={sort}&per_page=2&page={page}").get_json()["items"]]
    assert seen == sorted(ids, reverse=by_id == "desc")


def test_lots_without_end_come_after_ending_ones(client, app):
    admin = make_user(admin=True)
    fixed = make_auction(admin=admin, kind="fixed", ends_at=None).id
    ending = [make_auction(admin=admin, minutes=m).id for m in (20, 10)]
    items = client.get("/api/v1/lots?status=live&sort=ending_soon").get_json()["items"]
    assert [i["id"] for i in items] == [ending[1], ending[0], fixed]
