"""A watcher whose connection drops catches up when it is back: the network between the browser
and the server is cut (a loopback proxy the test controls), another buyer bids meanwhile, the
network returns, and the page shows the missed bids without a reload."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from marketplace.extensions import db
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_live_bidding import sign_in
from tests.factories import PASSWORD, make_auction, make_user
from tests.procs import TcpProxy, http_json

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_dropped_page_catches_up_on_the_bids_it_missed(browser, live_server):
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("wendy@example.com", name="Wendy")
        bidder = make_user("bidder@example.com", name="Bidder", card="pm_card_visa")
        lot = make_auction(minutes=60, start_cents=100_000)
        db.session.commit()
        lot_id, bidder_alias = lot.id, bidder.alias

    proxy = TcpProxy(urlsplit(server.url).port).start()
    try:
        base = f"http://127.0.0.1:{proxy.port}"
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "wendy@example.com")
        page.goto(f"{base}/lots/{lot_id}")
        page.locator("[data-testid=live-badge][data-state=live]").wait_for()

        proxy.cut()
        page.locator("[data-testid=live-badge][data-state=reconnecting]").wait_for(timeout=15_000)
        status, token = http_json("POST", f"{server.url}/api/v1/tokens",
                                  {"email": "bidder@example.com", "password": PASSWORD})
        assert status == 201, token
        for amount in (150_000, 250_000):
            status, body = http_json("POST", f"{server.url}/api/v1/lots/{lot_id}/bids",
                                     {"max_amount_cents": amount}, token=token["token"])
            assert status == 201, body
        assert page.locator("[data-testid=history-row]").count() == 0  # nothing reached the page

        proxy.start()
        page.locator("[data-testid=live-badge][data-state=live]").wait_for(timeout=20_000)
        # Both entries (the first bid, then the raise of its maximum) arrive without a reload.
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=history-row]').length === 2")
        assert bidder_alias in page.locator("[data-testid=leader]").inner_text()
        assert page.locator("[data-testid=bid-count]").inner_text().strip().startswith("2")
        assert "1,000" in page.locator("[data-testid=price]").inner_text()
        page.screenshot(path=str(ARTIFACTS / "e2e-lot-caught-up.png"))
    finally:
        proxy.cut()
