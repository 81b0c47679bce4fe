"""The 'about to end' notice: each watcher of a lot is told once, shortly before it ends (issue 6)."""
from __future__ import annotations

import re

import threading
import traceback
from collections import Counter
from datetime import timedelta

import pytest

from marketplace.clock import iso
from marketplace.extensions import db
from marketplace.live import RecordingSink
from marketplace.models import EmailMessage, Listing, Notification, Watch
from marketplace.services.watch_endings import WatchEndingService
from marketplace.wiring import bidding, closing, listings, publisher, watch_endings, watchlist
from tests.factories import into_sellers_account, login, make_auction, make_user, released_handle
from tests.support import need, postgres_problem

PUBLIC_URL = "https://hx.example"


@pytest.fixture
def app_config():
    """Record the live pushes; the default window of 15 minutes."""
    return {"LIVE_SINK": RecordingSink(), "PUBLIC_URL": PUBLIC_URL}


def endings(user_id: int | None = None) -> list[Notification]:
    """The lot_ending notices (of one user), oldest first."""
    db.session.expire_all()
    query = db.session.query(Notification).filter_by(kind="lot_ending")
    if user_id is not None:
        query = query.filter_by(user_id=user_id)
    return query.order_by(Notification.id).all()


def ending_mails() -> list[EmailMessage]:
    """The lot_ending emails in the outbox."""
    db.session.expire_all()
    return db.session.query(EmailMessage).filter_by(kind="lot_ending").order_by(EmailMessage.id).all()


def _spaces(text: str) -> str:
    """Babel's no-break and narrow no-break spaces as plain ones, so expectations stay readable."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _text(page: str) -> str:
    """A page's words without its tags (a time is a <time> element inside its sentence)."""
    return _spaces(re.sub(r"<[^>]+>", "", page))


def watched_auction(*watchers, minutes: int = 10, **kwargs):
    """An auction ending in `minutes`, on the watchlists of `watchers`."""
    lot = make_auction(minutes=minutes, **kwargs)
    for user in watchers:
        watchlist().watch(user, lot.id)
    return lot


def test_a_watcher_inside_the_window_is_told_once_in_the_app_live_and_by_email(app, clock):
    sink: RecordingSink = app.extensions["live_sink"]
    alice = make_user(name="Alice")
    lot = watched_auction(alice, minutes=10, start_cents=250_000)
    assert watch_endings().notify_due() == 1

    [notice] = endings(alice.id)
    ends_at = iso(db.session.get(Listing, lot.id).ends_at)
    assert notice.listing_id == lot.id
    assert notice.payload == {"lot_id": lot.id, "handle": lot.handle_display, "lot_kind": "auction",
                              "leading": False, "amount_cents": 250_000, "ends_at": ends_at}
    assert [(e, p["lot_id"], room) for e, p, room in sink.sent if e == "lot_ending"] == [
        ("lot_ending", lot.id, f"user:{alice.id}")]
    [mail] = ending_mails()
    assert mail.to_address == alice.email
    assert mail.subject == f"@{lot.handle_display} ends soon: bid now"
    assert "$2,500" in mail.body_text and "1 Jun 2026, 12:10 UTC" in mail.body_text
    assert f"{PUBLIC_URL}/lots/{lot.id}" in mail.body_text
    assert db.session.query(Watch).filter_by(user_id=alice.id).one().ending_notified_at == clock.now()

    # Later passes, and a soft-close extension after the notice, tell nobody again.
    clock.advance(minutes=7)
    assert watch_endings().notify_due() == 0
    bob = make_user()
    bidding().place(bob, lot.id, 300_000)  # 3 minutes left, inside the 5-minute soft close
    db.session.expire_all()
    assert db.session.get(Listing, lot.id).ends_at > clock.now() + timedelta(minutes=4)
    assert watch_endings().notify_due() == 0
    assert len(endings(alice.id)) == 1 and len(ending_mails()) == 1


def test_a_lot_ending_after_the_window_waits_until_it_is_inside(app, clock):
    alice = make_user()
    lot = watched_auction(alice, minutes=60)
    assert watch_endings().notify_due() == 0
    clock.advance(minutes=44)  # 16 minutes left
    assert watch_endings().notify_due() == 0 and endings() == []
    clock.advance(minutes=1)  # 15 minutes left: the window's edge is inside
    assert watch_endings().notify_due() == 1
    assert [n.listing_id for n in endings(alice.id)] == [lot.id]


@pytest.mark.parametrize("app_config", [{"WATCH_ENDING_NOTICE_MINUTES": 30}])
def test_the_window_is_a_setting(app, clock):
    alice = make_user()
    watched_auction(alice, minutes=25)
    assert watch_endings().notify_due() == 1


def test_the_seller_watching_their_own_lot_is_not_told(app, clock):
    seller, buyer = make_user(), make_user()
    lot = make_auction(minutes=10)
    into_sellers_account(lot, seller)
    watchlist().watch(seller, lot.id)
    watchlist().watch(buyer, lot.id)
    assert watch_endings().notify_due() == 1
    assert endings(seller.id) == [] and len(endings(buyer.id)) == 1


def test_closed_and_due_but_unclosed_lots_tell_nobody(app, clock):
    alice = make_user()
    closed_lot = watched_auction(alice, minutes=10)
    clock.advance(minutes=11)
    assert closing().close_due() == 1
    assert db.session.get(Listing, closed_lot.id).closed_status is not None
    late = watched_auction(alice, minutes=1)
    clock.advance(minutes=2)  # past its end, not closed yet
    assert watch_endings().notify_due() == 0
    assert endings() == [] and ending_mails() == []
    assert db.session.get(Listing, late.id).closed_status is None


def test_the_leader_is_told_they_are_winning_and_the_others_to_bid(app, clock):
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    lot = watched_auction(alice, bob, minutes=60, start_cents=100_000)
    bidding().place(bob, lot.id, 150_000)
    bidding().place(alice, lot.id, 200_000)
    clock.advance(minutes=50)
    assert watch_endings().notify_due() == 2
    [to_alice], [to_bob] = endings(alice.id), endings(bob.id)
    assert to_alice.payload["leading"] is True and to_bob.payload["leading"] is False
    assert to_alice.payload["amount_cents"] == to_bob.payload["amount_cents"] == 160_000
    subjects = {m.user_id: m.subject for m in ending_mails()}
    assert subjects == {alice.id: f"@{lot.handle_display} ends soon: you are winning",
                        bob.id: f"@{lot.handle_display} ends soon: bid now"}


def test_a_dutch_lot_with_an_end_tells_its_watchers_the_price_now(app, clock):
    admin, alice = make_user(admin=True), make_user()
    lot = listings().create(admin, {"handle": released_handle().display, "kind": "dutch",
                                    "start_price_cents": 400_000, "floor_price_cents": 50_000,
                                    "half_life_seconds": 600,
                                    "ends_at": (clock.now() + timedelta(minutes=30)).isoformat()})
    watchlist().watch(alice, lot.id)
    clock.advance(minutes=20)  # two half-lives: $4,000 -> $1,000
    assert watch_endings().notify_due() == 1
    [notice] = endings(alice.id)
    assert notice.payload["lot_kind"] == "dutch" and notice.payload["leading"] is False
    assert notice.payload["amount_cents"] == 100_000
    [mail] = ending_mails()
    assert mail.subject == f"@{lot.handle_display} ends soon" and "buy it now at $1,000" in mail.body_text


def test_a_lot_without_an_end_tells_nobody(app, clock):
    admin, alice = make_user(admin=True), make_user()
    lot = listings().create(admin, {"handle": released_handle().display, "kind": "fixed", "price_cents": 500_000})
    watchlist().watch(alice, lot.id)
    clock.advance(days=30)
    assert watch_endings().notify_due() == 0


def test_a_private_lot_the_watcher_may_no_longer_see_tells_them_nothing(app, clock):
    alice = make_user()
    lot = watched_auction(alice, minutes=10)
    db.session.get(Listing, lot.id).private = True
    db.session.commit()
    assert watch_endings().notify_due() == 0
    assert endings() == []
    # Settled for good: not claimed again on every pass.
    assert db.session.query(Watch).filter_by(user_id=alice.id).one().ending_notified_at is not None


def test_batches_are_bounded_and_every_watcher_is_told(app, clock):
    users = [make_user() for _ in range(3)]
    lots = [watched_auction(*users, minutes=5 + i) for i in range(3)]
    service = WatchEndingService(db.session, clock, publisher(), listings(), batch_size=2)
    assert service.notify_due(max_batches=2) == 4  # two batches of two this pass
    assert service.notify_due() == 5
    assert service.notify_due() == 0
    assert Counter((n.user_id, n.listing_id) for n in endings()) == Counter(
        {(u.id, lot.id): 1 for u in users for lot in lots})


def test_the_worker_pass_sends_the_notices(app, clock):
    from marketplace.worker import Worker

    alice = make_user()
    watched_auction(alice, minutes=10)
    Worker(app).run_once()
    assert len(endings(alice.id)) == 1


def test_the_notifications_centre_says_it_in_a_sentence(app, clock):
    alice, bob = make_user(), make_user()
    lot = watched_auction(alice, minutes=10, start_cents=250_000)
    bidding().place(bob, lot.id, 300_000)
    watch_endings().notify_due()
    client = app.test_client()
    login(client, alice)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert (f"@{lot.handle_display} ends at Jun 1, 2026, 12:10 PM UTC: the price is $2,500. Bid now to win it."
            in _text(page))
    assert f'href="/lots/{lot.id}"' in page


@pytest.mark.parametrize("lang, sentence", [("fr", "se termine le 1 juin 2026"), ("ar", "ينتهي @")])
def test_the_notifications_centre_says_it_in_the_readers_language(app, clock, lang, sentence):
    from marketplace.i18n import LANG_COOKIE

    alice = make_user()
    lot = watched_auction(alice, minutes=10)
    bidding().place(alice, lot.id, 150_000)
    watch_endings().notify_due()
    client = app.test_client()
    login(client, alice)
    client.set_cookie(LANG_COOKIE, lang)
    page = _text(client.get("/account/notifications").get_data(as_text=True))
    assert sentence in page and lot.handle_display in page
    assert "ends at" not in page


def test_the_email_is_in_the_watchers_language(app, clock):
    alice = make_user()
    db.session.get(type(alice), alice.id).locale = "fr"
    db.session.commit()
    lot = watched_auction(alice, minutes=10)
    watch_endings().notify_due()
    [mail] = ending_mails()
    assert mail.subject == f"@{lot.handle_display} se termine bientôt : enchérissez maintenant"
    assert "se termine le 1 juin 2026, 12:10 UTC" in mail.body_text


# ---- two workers at once (PostgreSQL) ------------------------------------------------------

class TestOnPostgreSQL:
    """SQLite serialises writers with a process lock, so the race exists only on PostgreSQL."""

    pytestmark = pytest.mark.postgres

    @pytest.fixture
    def backend(self) -> str:
        """Only PostgreSQL."""
        need("PostgreSQL", postgres_problem())
        return "postgresql"

    @pytest.mark.parametrize("workers", [2, 4])
    def test_concurrent_worker_passes_tell_each_watcher_once(self, app, clock, workers):
        users = [make_user() for _ in range(4)]
        lot_ids = [watched_auction(*users, minutes=3 + i % 10).id for i in range(15)]
        user_ids = [u.id for u in users]
        db.session.remove()
        sent = [0] * workers
        unexpected: list[str] = []
        barrier = threading.Barrier(workers)

        def worker_pass(index: int) -> None:
            try:
                with app.app_context():
                    service = WatchEndingService(db.session, clock, publisher(), listings(), batch_size=7)
                    barrier.wait(30)
                    sent[index] = service.notify_due(max_batches=100)
            except Exception:  # noqa: BLE001
                unexpected.append(traceback.format_exc())

        threads = [threading.Thread(target=worker_pass, args=(i,), daemon=True) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads), "a worker pass hung"
        assert not unexpected, "\n".join(unexpected)
        assert sum(sent) == len(lot_ids) * len(user_ids), sent
        told = Counter((n.user_id, n.listing_id) for n in endings())
        assert told == Counter({(u, lot): 1 for u in user_ids for lot in lot_ids})
        assert len(ending_mails()) == len(lot_ids) * len(user_ids)
        sink: RecordingSink = app.extensions["live_sink"]
        assert sum(1 for e, _, _ in sink.sent if e == "lot_ending") == len(lot_ids) * len(user_ids)
