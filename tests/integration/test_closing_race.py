"""The closing race on PostgreSQL: 200 bidders in threads bid in the last second of a lot while
the worker keeps trying to close it, with soft close off and on.

Proves: exactly one winner (one order), no bid accepted after the lot's end in effect when it was
placed, and the stored lot equal to a serial replay of the accepted bids through the engine.
Run with -s to see the figures (accepted, refused as closed, extensions).
"""
from __future__ import annotations

import dataclasses
import random
import threading
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import auctions
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import Bid, Listing, Order, ProxyBid, User
from marketplace.services.lots import auction_of
from marketplace.wiring import bidding, closing
from tests.factories import make_auction
from tests.integration.test_concurrency_pg import _run_threads
from tests.support import need, postgres_problem

pytestmark = pytest.mark.postgres

BIDDERS = 200
START_CENTS = 100_000


class RunningClock:
    """Real elapsed time from a fixed start: the race runs in real time, reproducibly placed."""

    def __init__(self, start: datetime):
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


@pytest.fixture
def backend() -> str:
    """Only PostgreSQL: SQLite serialises writers with a process lock, so there is no race to test."""
    need("PostgreSQL", postgres_problem())
    return "postgresql"


def quick_bidders(count: int) -> list[int]:
    """Bidders inserted directly (the sign-up service's password hashing would take most of the test)."""
    now = datetime.now(UTC)
    users = [User(email=f"racer{i}@example.com", password_hash="!", display_name=f"Racer {i}",
                  alias=f"racer-{i}", roles_csv="buyer", created_at=now) for i in range(count)]
    db.session.add_all(users)
    db.session.commit()
    return [u.id for u in users]


@pytest.mark.parametrize("soft_close_seconds", [0, 2])
def test_last_second_bids_race_the_close(app, soft_close_seconds):
    bidder_ids = quick_bidders(BIDDERS)
    lot = make_auction(minutes=60, start_cents=START_CENTS, soft_close_seconds=soft_close_seconds)
    lot_id, initial = lot.id, auction_of(lot, [])
    clock = RunningClock(lot.ends_at - timedelta(seconds=1))  # one second to go
    app.extensions["clock"] = clock
    db.session.remove()

    accepted: list[tuple[int, int]] = []
    refused: Counter = Counter()
    unexpected: list[str] = []
    closed = threading.Event()
    barrier = threading.Barrier(BIDDERS + 1)

    def bidder(index: int) -> None:
        rng = random.Random(20261123 + index)
        # Later bidders bid higher (3% steps, above any increment), so most bids are valid and
        # the ones refused are refused for the race, not for their amount.
        amount = int(START_CENTS * 1.03 ** index) // 2_500 * 2_500
        try:
            with app.app_context():
                user = db.session.get(User, bidder_ids[index])
                db.session.expunge(user)
                db.session.rollback()
                barrier.wait(60)
                time.sleep(1.6 * index / BIDDERS + rng.uniform(0, 0.02))  # the last second and just past it
                try:
                    bidding().place(user, lot_id, amount, f"race-{index}")
                    accepted.append((user.id, amount))
                except ServiceError as exc:
                    refused[(exc.status, exc.code)] += 1
        except Exception:  # noqa: BLE001 - reported by the test
            unexpected.append(traceback.format_exc())

    def closer() -> None:
        try:
            with app.app_context():
                barrier.wait(60)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if closing().close_due():
                        closed.set()
                        return
                    time.sleep(0.005)
        except Exception:  # noqa: BLE001
            unexpected.append(traceback.format_exc())

    closer_thread = threading.Thread(target=closer, daemon=True)
    closer_thread.start()
    _run_threads(bidder, BIDDERS)
    closer_thread.join(40)
    print(f"\n[closing race, soft close {soft_close_seconds}s] {len(accepted)} accepted, refused: {dict(refused)}")
    assert not unexpected, "\n".join(unexpected[:3])
    assert closed.is_set(), "the worker never closed the lot"
    assert accepted, "no bid got in before the close: the race tested nothing"
    assert all(400 <= status < 500 for status, _ in refused), refused

    db.session.remove()
    listing = db.session.get(Listing, lot_id)
    bids = list(db.session.execute(select(Bid).where(Bid.listing_id == lot_id).order_by(Bid.seq)).scalars())
    proxies = list(db.session.execute(select(ProxyBid).where(ProxyBid.listing_id == lot_id)).scalars())
    orders = db.session.query(Order).filter_by(listing_id=lot_id).all()

    # The history is exactly the accepted bids; replayed in order through the engine (which refuses
    # any bid at or after the end in effect), it gives the stored lot.
    assert Counter((b.bidder_id, b.max_cents) for b in bids) == Counter(accepted)
    expected = auctions.replay(initial, [(b.bidder_id, b.max_cents, b.at) for b in bids])
    stored = auction_of(listing, proxies)
    assert stored.closed_status == "ended"
    assert stored == dataclasses.replace(expected, closed_status=stored.closed_status)
    assert all(b.at < expected.ends_at for b in bids), "a bid was accepted after the end"
    assert listing.closed_at >= expected.ends_at, "the lot closed before its end"
    if soft_close_seconds == 0:
        assert expected.ends_at == initial.ends_at
        assert refused[(409, "ended")] > 0, "no bid arrived after the end: the race tested nothing"
    else:
        assert expected.ends_at > initial.ends_at, "late bids should have extended the lot"
    # Exactly one winner, at the replayed price.
    assert listing.winner_id == expected.leader_id
    assert [(o.buyer_id, o.amount_cents) for o in orders] == [(expected.leader_id, expected.current_price_cents)]
    assert listing.final_price_cents == expected.current_price_cents
