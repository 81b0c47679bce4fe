"""A second-chance offer in the browser: the winner of an auction does not pay (their card is declined
and the 48 hours to pay run out: brought forward here), the runner-up is told, finds the offer at their
own highest bid on the order page and accepts it, paying; in another case declines it and the lot
closes unsold. The server's own worker closes the lot, settles and lapses; the pages and the stored
orders are checked."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import CardHold, Handle, Listing, Order, User
from marketplace.wiring import bidding
from tests.e2e.journey import DESKTOP, PHONE, eventually, flash_text, reads_well, shot, wait_order_status, \
    within_width
from tests.e2e.test_checkout import page_for
from tests.factories import make_auction, make_user
from tests.support import fake_stripe_card

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def unpaid_win(seed_app, fake_stripe) -> tuple[int, str, int]:
    """An auction won by a buyer who does not pay: the runner-up bid up to $1,500, the winner $3,000 (the
    price $1,600); the winner's card hold lapsed and their card is now declined, the lot ends, and once
    the server's worker has the order waiting for their payment, the 48 hours to pay run out. Returns
    (lot id, the runner-up's email, the lapsed order's id)."""
    with seed_app.app_context():
        clock = seed_app.extensions["clock"]
        lot = make_auction(start_cents=100_000, minutes=30, soft_close_seconds=0)
        runner_up = make_user(name="Rhea Runnerup", card="pm_card_visa")
        winner = make_user(name="Wes Winner", card="pm_card_visa")
        bidding().place(runner_up, lot.id, 150_000, "runner-up")
        bidding().place(winner, lot.id, 300_000, "winner")
        for hold in db.session.query(CardHold).filter_by(user_id=winner.id):
            hold.expires_at = clock.now()
        db.session.get(User, winner.id).payment_method_id = fake_stripe_card(fake_stripe, "4000000000000341")
        db.session.get(Listing, lot.id).ends_at = clock.now()
        db.session.commit()
        lot_id, runner_email, winner_id = lot.id, runner_up.email, winner.id

    def waiting():
        order = db.session.query(Order).filter_by(listing_id=lot_id, buyer_id=winner_id).one_or_none()
        return order.id if order is not None and order.status == "action_required" else None

    order_id = eventually(seed_app, waiting, what="the winner's declined order")
    with seed_app.app_context():
        db.session.get(Order, order_id).pay_by = seed_app.extensions["clock"].now() - timedelta(seconds=1)
        db.session.commit()
    return lot_id, runner_email, order_id


def offer_of(seed_app, lot_id: int, lapsed_id: int) -> int:
    """The runner-up's second-chance order, once the worker has lapsed the winner's; its id."""
    def offered():
        order = db.session.query(Order).filter_by(listing_id=lot_id, second_chance_of_id=lapsed_id).one_or_none()
        return order.id if order is not None and order.status == "offered" else None

    return eventually(seed_app, offered, what="the second-chance offer")


def open_offer(page, server, order_id: int) -> None:
    """From the notices, as the runner-up is told: the offer's notice leads to its order page."""
    page.click("[data-testid=nav-notices]")
    notice = page.locator("[data-testid=notice][data-kind=second_chance_offer]")
    assert "A second chance: you may buy @" in notice.inner_text() and "highest bid of $1,500" in notice.inner_text()
    notice.locator(f"a[href$='/orders/{order_id}']").click()
    page.wait_for_url(re.compile(rf".*/orders/{order_id}$"))
    page.locator("[data-testid=state-offered]").wait_for()


def test_the_runner_up_accepts_the_second_chance_and_pays(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    lot_id, email, lapsed_id = unpaid_win(seed_app, fake_stripe)
    offer_id = offer_of(seed_app, lot_id, lapsed_id)
    page = page_for(module_browser, server, email, PHONE)
    open_offer(page, server, offer_id)
    panel = page.locator("[data-testid=state-offered]")
    assert "The winner did not pay. You may buy the handle at your own highest bid, $1,500, until" in \
        panel.inner_text()
    accept = panel.locator("[data-testid=offer-accept] button")
    assert accept.inner_text() == "Accept and pay $1,500" and accept.is_enabled()
    within_width(page, accept)
    reads_well(page, "second-chance-offer")
    accept.click()
    page.wait_for_url(re.compile(rf".*/orders/{offer_id}$"))
    assert flash_text(page, "success") == "The lot is yours: your card has been charged."
    wait_order_status(page, "completed")
    assert page.locator("[data-testid=receipt-title]").inner_text() == "Receipt"
    assert "$1,500" in page.locator("[data-testid=receipt-amount]").inner_text()
    assert page.locator("[data-testid=state-offered]").is_hidden()
    shot(page, "second-chance-paid-phone")
    with seed_app.app_context():
        db.session.rollback()
        offer, lapsed = db.session.get(Order, offer_id), db.session.get(Order, lapsed_id)
        listing = db.session.get(Listing, lot_id)
        assert (offer.status, offer.amount_cents, offer.source) == ("completed", 150_000, "second_chance")
        assert lapsed.status == "lapsed" and db.session.get(User, lapsed.buyer_id).strikes == 1
        assert listing.closed_status == "sold" and listing.winner_id == offer.buyer_id
        assert listing.final_price_cents == 150_000
        assert db.session.get(Handle, listing.handle_id).account.user_id == offer.buyer_id
    page.context.close()


def test_the_runner_up_declines_the_second_chance_and_the_lot_closes_unsold(module_browser, module_server,
                                                                            fake_stripe):
    server, seed_app = module_server
    lot_id, email, lapsed_id = unpaid_win(seed_app, fake_stripe)
    offer_id = offer_of(seed_app, lot_id, lapsed_id)
    page = page_for(module_browser, server, email, DESKTOP)
    open_offer(page, server, offer_id)
    decline = page.locator("[data-testid=offer-decline] button")
    assert decline.inner_text() == "Decline"
    decline.click()
    page.wait_for_url(re.compile(rf".*/orders/{offer_id}$"))
    assert flash_text(page, "success") == "You declined the offer."
    assert page.locator("[data-testid=order-page]").get_attribute("data-status") == "declined"
    assert page.locator("[data-testid=offer-accept]").count() == 0
    assert "This second-chance offer was declined or expired. Nothing was charged." in \
        page.locator("[data-testid=order-state]").inner_text()
    shot(page, "second-chance-declined-desktop")
    with seed_app.app_context():
        db.session.rollback()
        offer = db.session.get(Order, offer_id)
        listing = db.session.get(Listing, lot_id)
        assert offer.status == "declined" and offer.paid_at is None
        assert listing.closed_status == "unsold" and listing.winner_id is None
        assert db.session.get(User, offer.buyer_id).strikes == 0  # an offer is not a promise
    page.context.close()
