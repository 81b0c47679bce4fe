"""A buyer's whole journey in English, French and Arabic, in Chromium, through the UI alone:
choose the language in the footer, register, save a card, open a lot from the market, have a bid
below the minimum refused (through the form, past the page's own check), bid through the
confirmation, have a lowered maximum refused live, be outbid by another buyer, bid again, win
when the lot closes, see the paid order with its receipt, and read the notices.

Every step checks that the page is in the chosen language (html lang and dir, the step's own
labels in their translation, and no English sentence from the catalogue left on the page), that
prices are written the locale's way, and saves a screenshot at desktop and phone sizes
(test-artifacts/screens/journey-{step}-{lang}-{size}.png). A phone screen never scrolls sideways.
"""
from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from marketplace.extensions import db
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_buyer_journey import save_card, wait_for_order
from tests.e2e.test_live_bidding import bid, end_lot_soon, sign_in
from tests.factories import PASSWORD, make_auction, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = ARTIFACTS / "screens"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TRANSLATIONS = Path(__file__).resolve().parents[2] / "marketplace" / "translations"
PLACEHOLDER = r"%\(\w+\)[sd]|%[sd]|\{\w+\}"
# Sentences of the catalogue that stay English in every language (none yet).
ENGLISH_EVERYWHERE: frozenset[str] = frozenset()
# A catalogue entry counts as "an English sentence" when a literal run of it is this long.
SENTENCE_CHARS = 18


@cache
def catalog(lang: str):
    """The language's message catalogue, as committed."""
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=lang)


def tr(lang: str, msgid: str) -> str:
    """`msgid` as the app shows it in `lang` (the catalogue's translation, English for en)."""
    if lang == "en":
        return msgid
    message = catalog(lang).get(msgid)
    assert message is not None and message.string, f"{msgid!r} has no {lang} translation"
    return message.string


@cache
def english_sentences(lang: str) -> tuple[str, ...]:
    """Literal runs of the catalogue's English sentences (between placeholders) that the `lang`
    translation does not itself contain: none of them may show on a page in `lang`."""
    runs = set()
    for message in catalog(lang):
        if not message.id or message.id in ENGLISH_EVERYWHERE:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated = " ".join(s for s in strings if s)
        for msgid in ids:
            for run in re.split(PLACEHOLDER + r"|<[^>]*>", msgid):
                run = run.strip(" .,:;()“”\"'")
                if len(run) >= SENTENCE_CHARS and " " in run and run not in translated:
                    runs.add(run)
    return tuple(sorted(runs))


def flat(text: str) -> str:
    """Text with bidi marks dropped and every kind of space (narrow, no-break) made one plain space."""
    return re.sub(r"\s+", " ", re.sub("[\u200e\u200f\u061c]", "", text)).strip()


def money(lang: str, cents: int) -> str:
    """Dollars written the locale's way, as flat() leaves them: en "$1,234.50", fr "1 234,50 $US",
    ar "1,234.50 US$" (Latin digits); whole dollars without decimals."""
    whole, rest = divmod(cents, 100)
    grouped = f"{whole:,}"
    decimals = f".{rest:02d}" if rest else ""
    if lang == "fr":
        return grouped.replace(",", " ") + decimals.replace(".", ",") + " $US"
    if lang == "ar":
        return f"{grouped}{decimals} US$"
    return f"${grouped}{decimals}"


def typed(lang: str, cents: int) -> str:
    """Whole dollars as a buyer types them in `lang`: "1,500" en, "1 500" fr, "1500" ar."""
    grouped = f"{cents // 100:,}"
    return {"fr": grouped.replace(",", " "), "ar": grouped.replace(",", "")}.get(lang, grouped)


def text_of(locator) -> str:
    """An element's visible text, flattened."""
    return flat(locator.inner_text())


def assert_in_language(page, lang: str, labels: tuple[str, ...]) -> None:
    """The page is in `lang`: its html lang and direction, each of `labels` (msgids; placeholders match
    anything) in translation, and, outside English, no English sentence of the catalogue anywhere in
    its visible text or title."""
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.evaluate("document.dir") == ("rtl" if lang == "ar" else "ltr")
    text = flat(page.evaluate("document.title + '\\n' + document.body.innerText"))
    for msgid in labels:
        for run in re.split(PLACEHOLDER, tr(lang, msgid)):
            assert flat(run) in text, f"{page.url}: {lang} for {msgid!r} is missing"
    if lang != "en":
        english = [run for run in english_sentences(lang) if run in text]
        assert not english, f"{page.url} in {lang} shows English: {english}"


def screens(page, lang: str, step: str, full_page: bool = True) -> None:
    """Screenshots of the page as it stands at desktop and phone sizes; no sideways scroll on a phone.
    (A modal dialog's backdrop covers the screen, not the whole page: shoot those with full_page=False.)"""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"journey-{step}-{lang}-desktop.png"), full_page=full_page)
    page.set_viewport_size(SIZES["phone"])
    try:
        page.screenshot(path=str(SCREENS / f"journey-{step}-{lang}-phone.png"), full_page=full_page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{step} in {lang} scrolls sideways on a phone by {overflow}px"
    finally:
        page.set_viewport_size(SIZES["desktop"])


def lot_numbers(seed_app, lot_id: int) -> dict:
    """The lot as the server sees it now (price, minimum next bid, end)."""
    from marketplace.wiring import listings

    with seed_app.app_context():
        db.session.rollback()  # a fresh snapshot: the server writes from another process
        return listings().view(lot_id)


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_buyer_journey_in_each_language(browser, live_server, lang):
    """Register, card, refused bids, bid, outbid, win, receipt and notices, all in `lang`."""
    server, seed_app = live_server
    with seed_app.app_context():
        make_user("bob@example.com", name="Bob", card="pm_card_visa")
        lot = make_auction(minutes=60, start_cents=123_400, soft_close_seconds=0)
        db.session.commit()
        lot_id, handle = lot.id, lot.handle_display
    started = time.monotonic()
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    page.set_default_timeout(15_000)

    # Home, in the language chosen in the footer.
    page.goto(server.url + "/")
    with page.expect_navigation():
        page.click(f"[data-testid=language-{lang}]")
    assert page.locator(f"[data-testid=language-{lang}]").get_attribute("aria-pressed") == "true"
    assert_in_language(page, lang, ("Released handles, sold in the open", "Market"))
    screens(page, lang, "home")

    # Register from the header.
    page.click(".site-header .account a[href$='/register']")
    page.locator("[data-testid=register-form]").wait_for()
    page.fill("input[name=display_name]", "Nadia")
    page.fill("input[name=email]", "nadia@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    assert_in_language(page, lang, ("Create an account", "Display name", "Repeat password"))
    screens(page, lang, "register")
    with page.expect_navigation():
        page.click("[data-testid=register-submit]")
    page.locator("[data-testid=account-menu]").wait_for()

    # The market, and the lot from it.
    page.click(".site-nav a[href$='/market']")
    card = page.locator("[data-testid=lot-card]", has_text=handle)
    card.wait_for()
    assert money(lang, 123_400) in text_of(card)
    assert_in_language(page, lang, ("Market", "Released handles, auctioned live. Bid with a maximum and the "
                                              "system bids for you only as much as needed."))
    screens(page, lang, "market")
    card.locator("a.stretched-link").click()
    page.wait_for_url(re.compile(rf"^[^?]*/lots/{lot_id}$"))
    assert text_of(page.locator("[data-testid=price]")) == money(lang, 123_400)
    assert_in_language(page, lang, ("Bid history", "Save a card to bid"))

    # No card yet: save one (localstripe's test card), and come back to the lot.
    page.click("[data-testid=save-card-to-bid]")
    page.wait_for_url(re.compile(r".*/account/card.*"))
    page.locator("[data-testid=card-element] input[data-field=number]").wait_for()
    assert_in_language(page, lang, ("Your card",))
    screens(page, lang, "card")
    save_card(page)
    page.wait_for_url(re.compile(rf"^[^?]*/lots/{lot_id}$"))
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    assert_in_language(page, lang, ("Bid history", "Place bid", "Minimum next bid", "Your maximum bid (USD)"))
    assert text_of(page.locator("[data-testid=min-next-bid]")) == money(lang, 123_400)
    screens(page, lang, "lot")

    # A bid below the minimum, sent through the form past the page's own check (as without
    # JavaScript): the confirmation page warns, and confirming anyway is refused.
    page.fill("[data-testid=bid-input]", typed(lang, 100_000))
    with page.expect_navigation():
        page.locator("[data-testid=bid-form]").evaluate("form => HTMLFormElement.prototype.submit.call(form)")
    page.locator("[data-testid=confirm-page]").wait_for()
    assert money(lang, 100_000) in text_of(page.locator("[data-testid=confirm-text]"))
    assert_in_language(page, lang, ("Confirm your bid", "This is below the minimum next bid of %(price)s, so it "
                                                        "will be refused. Go back and raise it."))
    screens(page, lang, "refused-confirm")
    with page.expect_navigation():
        page.click("[data-testid=confirm-bid]")
    page.wait_for_url(re.compile(rf"^[^?]*/lots/{lot_id}$"))
    error = page.locator("[data-testid=flash][data-category=error]")
    error.wait_for()
    assert text_of(error.locator(".flash-text")) == flat(tr(lang, "Your maximum must be at least %(minimum)s.")
                                                         % {"minimum": money(lang, 123_400)})
    assert page.locator("[data-testid=bid-count]").inner_text().strip() == "0"
    assert_in_language(page, lang, ("Bid history",))
    screens(page, lang, "refused")
    error.locator("[data-dismiss]").click()
    error.wait_for(state="detached")

    # A real bid, typed the locale's way, through the confirmation dialog.
    page.locator("[data-testid=live-badge][data-state=live]").wait_for()
    page.fill("[data-testid=bid-input]", typed(lang, 150_000))
    page.click("[data-testid=bid-submit]")
    dialog = page.locator("[data-testid=confirm-dialog]")
    dialog.wait_for(state="visible")
    assert money(lang, 150_000) in text_of(dialog)
    assert_in_language(page, lang, ("Confirm your bid", "Confirm bid"))
    screens(page, lang, "bid-confirm", full_page=False)
    page.click("[data-testid=confirm-bid]")
    result = page.locator("[data-testid=bid-result][data-outcome=leading]")
    result.wait_for()
    lot_now = lot_numbers(seed_app, lot_id)
    assert lot_now["bid_count"] == 1 and lot_now["current_price_cents"] == 123_400
    assert text_of(result) == flat(tr(lang, "You are the leading bidder at %(price)s. Your maximum is %(max)s.")
                                   % {"price": money(lang, 123_400), "max": money(lang, 150_000)})
    page.wait_for_function("() => document.querySelector('[data-testid=bid-count]').textContent.trim() === '1'")
    assert text_of(page.locator("[data-testid=price]")) == money(lang, 123_400)
    assert text_of(page.locator("[data-testid=min-next-bid]")) == money(lang, lot_now["min_next_bid_cents"])
    assert_in_language(page, lang, ("Current bid", "Leading bidder"))
    screens(page, lang, "bid-leading")

    # Lowering one's own maximum passes the page's check (it is above the minimum) but the server
    # refuses it: the live answer's sentence, in this language, with the locale's amount.
    lower = (lot_now["min_next_bid_cents"] + 150_000) // 200 * 100
    assert lot_now["min_next_bid_cents"] <= lower < 150_000
    page.fill("[data-testid=bid-input]", typed(lang, lower))
    page.click("[data-testid=bid-submit]")
    dialog.wait_for(state="visible")
    page.click("[data-testid=confirm-bid]")
    refusal = page.locator("[data-testid=bid-result][data-outcome=error]")
    refusal.wait_for()
    reason = tr(lang, "Your new maximum must be more than your current maximum of %(own_max)s.") % {
        "own_max": money(lang, 150_000)}
    assert text_of(refusal) == flat(tr(lang, "Your bid was not placed: %(message)s") % {"message": reason})
    assert lot_numbers(seed_app, lot_id)["bid_count"] == 1
    assert_in_language(page, lang, ("Current bid",))
    screens(page, lang, "refused-live")

    # Another buyer (in English, on a phone) bids higher: the outbid alert comes in this language.
    rival = browser.new_context(viewport=SIZES["phone"]).new_page()
    sign_in(rival, server.url, "bob@example.com")
    rival.goto(f"{server.url}/lots/{lot_id}")
    rival.locator("[data-testid=live-badge][data-state=live]").wait_for()
    bid(rival, "3,000")
    alert = page.locator("[data-testid=outbid-alert]")
    alert.wait_for(timeout=10_000)
    lot_now = lot_numbers(seed_app, lot_id)
    outbid_price = lot_now["current_price_cents"]
    assert 150_000 < outbid_price <= 300_000
    assert money(lang, outbid_price) in text_of(alert)
    assert flat(tr(lang, "View lot")) in text_of(alert)
    page.wait_for_function("() => document.querySelector('[data-testid=bid-count]').textContent.trim() === '2'")
    assert text_of(page.locator("[data-testid=price]")) == money(lang, outbid_price)
    assert_in_language(page, lang, ("Current bid",))
    screens(page, lang, "outbid")

    # Raise the maximum and lead again; then the lot's end is brought forward and it closes.
    page.fill("[data-testid=bid-input]", typed(lang, 500_000))
    page.click("[data-testid=bid-submit]")
    dialog.wait_for(state="visible")
    page.click("[data-testid=confirm-bid]")
    page.locator("[data-testid=bid-result][data-outcome=leading]").wait_for()
    final_cents = lot_numbers(seed_app, lot_id)["current_price_cents"]
    assert final_cents > outbid_price
    rival.context.close()
    end_lot_soon(seed_app, lot_id)
    winner = page.locator("[data-testid=winner]")
    winner.wait_for(state="visible", timeout=20_000)
    assert money(lang, final_cents) in text_of(winner)
    won = page.locator("[data-testid=won-alert]")
    won.wait_for()
    assert money(lang, final_cents) in text_of(won)
    assert_in_language(page, lang, ("Final price", "You won @%(handle)s at %(price)s.",
                                    "Ended — sold at %(price)s", "You won at %(price)s."))
    screens(page, lang, "won")
    # The closed lot as the server draws it (this also shows its real end: the page above still
    # has the end it was given before the test brought it forward).
    page.reload()
    assert text_of(page.locator("[data-testid=winner]")) == flat(
        tr(lang, "Ended — sold at %(price)s") % {"price": money(lang, final_cents)})
    assert text_of(page.locator("[data-testid=standing] [data-field=standing-text]")) == flat(
        tr(lang, "You won at %(price)s.") % {"price": money(lang, final_cents)})
    assert text_of(page.locator("[data-testid=price]")) == money(lang, final_cents)
    assert page.locator("[data-testid=bid-form]").count() == 0
    assert_in_language(page, lang, ("Final price", "Bid history", "Ended"))
    screens(page, lang, "closed")

    # The order: the worker captures the card hold; the order page follows live to "completed".
    order_id = wait_for_order(seed_app, lot_id)
    page.click("[data-testid=nav-orders]")
    row = page.locator(f"[data-testid=order-row][data-order-id='{order_id}']")
    row.wait_for()
    assert money(lang, final_cents) in text_of(row)
    assert_in_language(page, lang, ("Orders", "Handles you bought and sold, newest first. "
                                              "Open one for its receipt and progress."))
    screens(page, lang, "orders")
    row.locator(f"a[href$='/orders/{order_id}']").first.click()
    page.locator("[data-testid=order-page]").wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=order-page]').dataset.status === 'completed'", timeout=30_000)
    receipt = page.locator("[data-testid=receipt]")
    assert text_of(receipt.locator("[data-testid=receipt-title]")) == flat(tr(lang, "Receipt"))
    assert text_of(receipt.locator("[data-testid=receipt-amount]")) == money(lang, final_cents)
    assert "4242" in receipt.locator("[data-testid=receipt-card]").inner_text()
    assert handle in receipt.inner_text()
    assert_in_language(page, lang, ("Receipt", "Amount paid"))
    screens(page, lang, "receipt")

    # The notices: outbid, won and paid, each a sentence in this language with the locale's prices.
    page.click("[data-testid=nav-notices]")
    notices = page.locator("[data-testid=notices]")
    notices.wait_for()
    kinds = page.locator("[data-testid=notice]").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert {"outbid", "won", "payment_taken"} <= set(kinds), kinds
    won_notice = text_of(page.locator("[data-testid=notice][data-kind=won] .notice-text"))
    # (after the screen reader's "Unread:")
    assert won_notice.endswith(flat(tr(lang, "You won %(handle)s at %(price)s.")
                                    % {"handle": "@" + handle, "price": money(lang, final_cents)}))
    assert_in_language(page, lang, ("Notices", "What happened to your bids, orders and sales. "
                                               "We also send these by email, except outbid alerts."))
    screens(page, lang, "notices")

    context.close()
    took = time.monotonic() - started
    assert took < 90, f"the journey in {lang} took {took:.0f}s"
