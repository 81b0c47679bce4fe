"""Concurrent writers on PostgreSQL: one lot hammered by many bidding threads, and several
worker passes closing the same due lots at once.

The rules say one writer per lot (the row lock), events after commit, a gapless seq per lot and a
hash-chained history. Here many threads, each with its own app context, session and connection,
bid on one lot at the same moment; afterwards the stored lot must be exactly what the pure engine
computes from the accepted bids in history order, and nothing may be lost, doubled or reordered.

Run with -s to see the throughput figure.
"""
from __future__ import annotations

import json
import random
import threading
import time
import traceback
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

import auctions
from tests.support import need, postgres_problem
from marketplace.clock import iso
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.live import RecordingSink
from marketplace.models import Bid, Listing, LotEvent, Notification, ProxyBid, User
from marketplace.services.bidding import GENESIS_HASH, chain_hash
from marketplace.services.lots import auction_of
from marketplace.wiring import bidding, closing
from tests.factories import make_auction, make_user

pytestmark = pytest.mark.postgres

THREADS = 16
BIDS_PER_THREAD = 15
BIDDERS = 8
START_CENTS = 100_000  # $1,000: increments of $100, then $250 from $5,000, $500 from $10,000
SEED = 20260601
JOIN_SECONDS = 120


@pytest.fixture
def backend() -> str:
    """Only PostgreSQL: SQLite serialises writers with a process lock, so there is no race to test."""
    need("PostgreSQL", postgres_problem())
    return "postgresql"


@pytest.fixture
def app_config() -> dict:
    """Record what would be broadcast, to check that only committed events go out, once each."""
    return {"LIVE_SINK": RecordingSink()}


def _run_threads(target, count: int) -> None:
    """Start `count` threads on target(index), join them all, and fail if one hangs."""
    threads = [threading.Thread(target=target, args=(i,), name=f"t{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [t.name for t in threads if t.is_alive()]
    assert not hung, f"threads still running after {JOIN_SECONDS}s (deadlock?): {hung}"


class _Levels:
    """A shared, rising maximum: each valid bid names a bit more than the last one handed out.

    Threads take levels in one order and reach the lot's lock in another, so some bids arrive
    after a higher one and are refused by the rules (below the minimum, or not above the
    bidder's own maximum); most are accepted.
    """

    def __init__(self, start: int):
        self._level = start
        self._lock = threading.Lock()

    def next(self, rng: random.Random) -> int:
        with self._lock:
            self._level += rng.randrange(1, 6) * auctions.increment_for(self._level)
            return self._level


def _amount(rng: random.Random, levels: _Levels) -> object:
    """One bid's maximum: mostly the next rising level, some deliberately refused ones."""
    roll = rng.random()
    if roll < 0.12:
        return rng.randrange(1, START_CENTS // 2_500) * 2_500  # under the start price
    if roll < 0.16:
        return rng.choice([0, -2_500, 1.5, "150000", None])  # malformed
    return levels.next(rng)


def test_concurrent_bids_match_an_engine_replay_of_the_history(app, clock):
    sink: RecordingSink = app.extensions["live_sink"]
    bidder_ids = [make_user().id for _ in range(BIDDERS)]
    lot = make_auction(minutes=60, start_cents=START_CENTS, soft_close_seconds=300)
    lot_id = lot.id
    initial = auction_of(lot, [])
    # Bid inside the soft-close window: the first accepted bid moves the end (one lot_extended
    # among the bids' events); the frozen clock keeps every later bid from moving it again.
    now = clock.advance(minutes=58)
    db.session.remove()

    levels = _Levels(START_CENTS)
    accepted: list[tuple[int, int]] = []  # (bidder_id, max_cents) as the callers saw them
    answers: list[tuple[int, int, dict]] = []  # (bidder_id, max_cents, the answer's to_dict())
    refused: list[tuple[int, str, object]] = []  # (status, code, amount)
    unexpected: list[str] = []
    barrier = threading.Barrier(THREADS)

    def bidder_thread(index: int) -> None:
        rng = random.Random(SEED * 7 + index)
        try:
            with app.app_context():
                users = {uid: db.session.get(User, uid) for uid in bidder_ids}
                db.session.commit()
                barrier.wait(30)
                for _ in range(BIDS_PER_THREAD):
                    user = users[rng.choice(bidder_ids)]
                    amount = _amount(rng, levels)
                    uid = user.id
                    try:
                        result = bidding().place(user, lot_id, amount)
                    except ServiceError as exc:
                        refused.append((exc.status, exc.code, amount))
                    except Exception:  # noqa: BLE001 - collected and reported by the test
                        unexpected.append(traceback.format_exc())
                    else:
                        accepted.append((uid, amount))
                        answers.append((uid, amount, result.to_dict()))
        except Exception:  # noqa: BLE001
            unexpected.append(traceback.format_exc())

    started = time.perf_counter()
    _run_threads(bidder_thread, THREADS)
    elapsed = time.perf_counter() - started
    attempts = THREADS * BIDS_PER_THREAD
    print(f"\n[concurrency] {THREADS} threads x {BIDS_PER_THREAD} bids on one lot, {BIDDERS} bidders: "
          f"{len(accepted)} accepted, {len(refused)} refused in {elapsed:.2f}s = "
          f"{len(accepted) / elapsed:.0f} accepted bids/s ({attempts / elapsed:.0f} attempts/s); "
          f"refusals: {dict(Counter(code for _, code, _ in refused))}")

    assert not unexpected, "bids failed with something other than a refusal:\n" + "\n".join(unexpected[:3])
    assert len(accepted) + len(refused) == attempts
    bad_status = [r for r in refused if not 400 <= r[0] < 500]
    assert not bad_status, f"refusals must be 4xx: {bad_status[:5]}"
    assert len(accepted) >= 10, f"too few bids were accepted to test anything: {Counter(c for _, c, _ in refused)}"
    # Every deliberately low or malformed bid was refused.
    for status, code, amount in refused:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            assert (status, code) == (400, "invalid_amount"), (status, code, amount)
        elif amount < START_CENTS:
            assert (status, code) == (409, "below_minimum"), (status, code, amount)
    assert all(a >= START_CENTS for _, a in accepted)
    codes = Counter(code for _, code, _ in refused)
    assert set(codes) <= {"invalid_amount", "below_minimum", "not_above_own_max"}, codes

    db.session.remove()
    listing = db.session.get(Listing, lot_id)
    proxies = list(db.session.execute(select(ProxyBid).where(ProxyBid.listing_id == lot_id)).scalars())
    bids = list(db.session.execute(select(Bid).where(Bid.listing_id == lot_id).order_by(Bid.seq)).scalars())
    events = list(db.session.execute(
        select(LotEvent).where(LotEvent.listing_id == lot_id).order_by(LotEvent.seq)).scalars())

    # The history holds exactly the bids the callers were told were accepted.
    assert len(bids) == len(accepted) == listing.bid_count
    assert Counter((b.bidder_id, b.max_cents) for b in bids) == Counter(accepted)

    # Replaying the accepted bids in history order through the pure engine gives the stored lot,
    # and each history entry shows the price right after its bid.
    expected = initial
    for bid in bids:
        assert bid.at == now
        expected = auctions.place_bid(expected, bid.bidder_id, bid.max_cents, bid.at).lot
        assert bid.amount_cents == expected.current_price_cents, f"history entry seq {bid.seq}"
    # Each bidder's answer describes the lot right after their own bid (the k-th in the history),
    # not a later state mixed in from other bids.
    steps, state = [], initial
    for bid in bids:
        state = auctions.place_bid(state, bid.bidder_id, bid.max_cents, bid.at).lot
        steps.append(state)
    for uid, amount, answer in answers:
        k = answer["lot"]["bid_count"]
        assert (bids[k - 1].bidder_id, bids[k - 1].max_cents) == (uid, amount), answer
        assert answer["your_max_cents"] == amount
        assert answer["lot"]["current_price_cents"] == steps[k - 1].current_price_cents
        assert answer["leading"] == (steps[k - 1].leader_id == uid)
        assert answer["lot"]["min_next_bid_cents"] == auctions.min_next_bid(steps[k - 1])
    assert expected == auctions.replay(initial, [(b.bidder_id, b.max_cents, b.at) for b in bids])
    stored = auction_of(listing, proxies)
    assert stored == expected
    assert listing.current_price_cents == expected.current_price_cents
    assert listing.leader_id == expected.leader_id
    assert listing.bid_count == expected.bid_count
    assert sorted((p.bidder_id, p.max_cents, p.order) for p in proxies) == sorted(
        (p.bidder_id, p.max_cents, p.order) for p in expected.proxies)
    assert listing.ends_at == now + timedelta(seconds=300)

    # Lot events: seq 1..N without gaps; one bid_placed per history entry, at the same seq.
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert listing.seq == len(events)
    assert Counter(e.type for e in events) == {"bid_placed": len(bids), "lot_extended": 1}
    placed = [e for e in events if e.type == "bid_placed"]
    assert [e.seq for e in placed] == [b.seq for b in bids]
    for event, bid in zip(placed, bids, strict=True):
        assert event.payload["amount_cents"] == bid.amount_cents
        assert event.payload["alias"] == bid.alias

    # The hash chain verifies from the genesis hash.
    prev = GENESIS_HASH
    for bid in bids:
        assert bid.prev_hash == prev, f"chain broken at seq {bid.seq}"
        assert bid.hash == chain_hash(prev, bid.seq, bid.alias, bid.amount_cents, iso(bid.at))
        prev = bid.hash

    # Only committed events were broadcast, each exactly once (refused bids sent nothing).
    lot_sent = sorted(p["seq"] for e, p, room in sink.sent if room == f"listing:{lot_id}")
    assert lot_sent == [e.seq for e in events]
    outbid_sent = sum(1 for e, _, _ in sink.sent if e == "outbid")
    assert outbid_sent == db.session.query(Notification).filter_by(kind="outbid").count()


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_worker_passes_close_each_lot_exactly_once(app, clock, workers):
    sink: RecordingSink = app.extensions["live_sink"]
    admin = make_user(admin=True)
    alice, bob = make_user(), make_user()
    lot_ids, expected_status = [], {}
    for i in range(20):
        reserve = 500_000 if i % 5 == 0 else None  # some lots end below their reserve
        lot = make_auction(admin, minutes=10 + i % 3, start_cents=100_000, reserve_cents=reserve)
        lot_ids.append(lot.id)
        if i % 4 == 3:
            expected_status[lot.id] = "unsold"  # no bids
            continue
        bidding().place(alice, lot.id, 150_000)
        if i % 2 == 0:
            bidding().place(bob, lot.id, 200_000)
        expected_status[lot.id] = "unsold" if reserve else "ended"
    alice_id, bob_id = alice.id, bob.id
    clock.advance(minutes=15)
    db.session.remove()
    sink.sent.clear()

    closed_counts = [0] * workers
    unexpected: list[str] = []
    barrier = threading.Barrier(workers)

    def worker_pass(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(30)
                closed_counts[index] = closing().close_due()
        except Exception:  # noqa: BLE001
            unexpected.append(traceback.format_exc())

    _run_threads(worker_pass, workers)
    assert not unexpected, "\n".join(unexpected)
    assert sum(closed_counts) == 20, closed_counts

    with app.app_context():
        assert closing().close_due() == 0  # nothing left for a later pass

    db.session.remove()
    closed_events = Counter()
    for lot_id in lot_ids:
        listing = db.session.get(Listing, lot_id)
        events = list(db.session.execute(
            select(LotEvent).where(LotEvent.listing_id == lot_id).order_by(LotEvent.seq)).scalars())
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        closes = [e for e in events if e.type == "lot_closed"]
        closed_events[lot_id] = len(closes)
        assert len(closes) == 1, f"lot {lot_id} closed {len(closes)} times"
        assert closes[0].seq == listing.seq == events[-1].seq
        assert listing.closed_status == expected_status[lot_id] == closes[0].payload["status"]
        if listing.closed_status == "ended":
            assert listing.winner_id == (bob_id if listing.bid_count == 2 else alice_id)
            assert listing.final_price_cents == closes[0].payload["amount_cents"]
            assert listing.final_price_cents == (160_000 if listing.bid_count == 2 else 100_000)
        else:
            assert listing.winner_id is None and listing.final_price_cents is None
    assert set(closed_events.values()) == {1}

    # Each lot's lot_closed went out once; each winner got exactly one private `won`.
    sent_closed = Counter(p["lot_id"] for e, p, _ in sink.sent if e == "lot_closed")
    assert sent_closed == Counter({lot_id: 1 for lot_id in lot_ids})
    won = Counter(json.loads(n.payload_json)["lot_id"]
                  for n in db.session.query(Notification).filter_by(kind="won"))
    assert won == Counter({lot_id: 1 for lot_id in lot_ids if expected_status[lot_id] == "ended"})
