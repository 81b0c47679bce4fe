"""Group commit of bids: the bids waiting for a lot's row lock are placed in one transaction,
each accepted or refused exactly as if it had been placed alone, in its order of arrival."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from marketplace.clock import iso
from marketplace.db import db
from marketplace.errors import ServiceError
from marketplace.models import Bid, Listing, Notification, User
from marketplace.services import bidding as bidding_module
from marketplace.services.bidding import GENESIS_HASH, Bidder, _Ask, _Lines, chain_hash
from marketplace.wiring import bidding
from tests.factories import make_auction, make_user
from tests.support import PG_URL


def _ask(user: User, amount: int, key: str | None = None) -> _Ask:
    return _Ask(Bidder(user.id, user.alias), amount, key, early=None)


def _outcome(ask: _Ask):
    """What the bidder learns: (leading, price, bid count) or the refusal's code."""
    if ask.error is not None:
        return getattr(ask.error, "code", type(ask.error).__name__)
    lot = ask.result.lot
    return ask.result.leading, lot["current_price_cents"], lot["bid_count"], ask.result.replayed


def _place_alone(user: User, lot_id: int, amount: int, key: str | None = None):
    try:
        result = bidding().place(user, lot_id, amount, key)
    except ServiceError as exc:
        return exc.code
    return result.leading, result.lot["current_price_cents"], result.lot["bid_count"], result.replayed


def _chain_ok(lot_id: int) -> bool:
    prev = GENESIS_HASH
    for bid in db.session.query(Bid).filter_by(listing_id=lot_id).order_by(Bid.seq):
        if bid.prev_hash != prev or bid.hash != chain_hash(prev, bid.seq, bid.alias, bid.amount_cents, iso(bid.at)):
            return False
        prev = bid.hash
    return True


def test_a_batch_answers_every_bid_as_placing_them_one_by_one_would(app):
    users = [make_user() for _ in range(4)]
    alice, bob, carol, dave = users
    sequence = [(alice, 150_000), (bob, 200_000), (carol, 120_000),  # carol: below the new minimum
                (alice, 400_000),  # raises her stored maximum
                (dave, 500_000), (dave, 600_000),  # a new proxy, raised again in the same batch
                (dave, 600_000)]  # not above his own maximum
    alone, batched = make_auction(start_cents=100_000), make_auction(start_cents=100_000)
    expected = [_place_alone(user, alone.id, amount) for user, amount in sequence]

    batch = [_ask(user, amount) for user, amount in sequence]
    bidding()._run(batched.id, batch)

    assert [_outcome(ask) for ask in batch] == expected
    assert "below_minimum" in expected and "not_above_own_max" in expected
    db.session.expire_all()
    one, other = db.session.get(Listing, alone.id), db.session.get(Listing, batched.id)
    for column in ("current_price_cents", "leader_id", "bid_count", "next_order", "seq", "ends_at"):
        assert getattr(one, column) == getattr(other, column), column
    assert _chain_ok(batched.id)
    proxies = {row.bidder_id: row.max_cents for row in db.session.query(bidding_module.ProxyBid)
               .filter_by(listing_id=batched.id)}
    assert proxies == {alice.id: 400_000, bob.id: 200_000, dave.id: 600_000}


def test_a_key_repeated_in_one_batch_counts_once_and_a_key_from_another_lot_is_refused(app):
    alice, bob = make_user(), make_user()
    other_lot, lot = make_auction(), make_auction(start_cents=100_000)
    bidding().place(bob, other_lot.id, 150_000, "bob-key")
    batch = [_ask(alice, 150_000, "double-click"), _ask(alice, 150_000, "double-click"),
             _ask(bob, 300_000, "bob-key")]
    bidding()._run(lot.id, batch)
    assert _outcome(batch[0]) == (True, 100_000, 1, False)
    assert _outcome(batch[1]) == (True, 100_000, 1, True)
    assert _outcome(batch[2]) == "idempotency_key_reused"
    assert db.session.query(Bid).filter_by(listing_id=lot.id).count() == 1


def test_a_bidder_outbid_and_back_in_front_within_a_batch_is_not_told_they_were_outbid(app):
    alice, bob, carol = make_user(), make_user(), make_user()
    lot = make_auction(start_cents=100_000)
    bidding().place(carol, lot.id, 120_000)
    batch = [_ask(bob, 200_000), _ask(alice, 150_000), _ask(bob, 300_000), _ask(alice, 400_000)]
    bidding()._run(lot.id, batch)
    assert batch[-1].result.leading is True
    notices = {(n.user_id, n.kind) for n in db.session.query(Notification).filter_by(listing_id=lot.id)}
    # carol (outbid by the batch) and bob (outbid by its last bid) hear it once each; alice leads.
    assert notices == {(carol.id, "outbid"), (bob.id, "outbid")}
    assert db.session.query(Notification).filter_by(listing_id=lot.id, kind="outbid").count() == 2


def test_one_bid_failing_in_a_batch_does_not_fail_the_others(app, monkeypatch):
    alice, bob, carol = make_user(), make_user(), make_user()
    lot = make_auction(start_cents=100_000)
    apply_one = bidding_module.BiddingService._apply_one

    def failing(self, snap, state, ask, *args):
        if ask.bidder.id == bob.id:
            raise RuntimeError("the database went away for bob's bid")
        return apply_one(self, snap, state, ask, *args)

    monkeypatch.setattr(bidding_module.BiddingService, "_apply_one", failing)
    batch = [_ask(alice, 150_000), _ask(bob, 300_000), _ask(carol, 200_000)]
    bidding()._run(lot.id, batch)

    assert isinstance(batch[1].error, RuntimeError)
    assert batch[0].result is not None and batch[2].result is not None
    assert batch[2].result.leading is True
    db.session.expire_all()
    assert db.session.get(Listing, lot.id).bid_count == 2
    assert {b.bidder_id for b in db.session.query(Bid).filter_by(listing_id=lot.id)} == {alice.id, carol.id}
    assert _chain_ok(lot.id)


# ---- the line: bids of one process queue behind the lock and go in together ----------------

def test_the_line_hands_over_to_the_first_bid_waiting():
    lines, line = _Lines(), ("db", 1)
    first, second, third = (_Ask(Bidder(i, f"u{i}"), 100, None, None) for i in range(3))
    assert lines.join(line, first) is True
    assert lines.join(line, second) is False and lines.join(line, third) is False
    lines.hand_over(line)  # first is done: second leads, third still waits
    assert second.lead and second.done.is_set() and not third.done.is_set()
    assert lines.take(line) == [third]
    assert lines.leave(line, third) is False  # taken by a batch: it must wait for its answer
    lines.hand_over(line)
    assert lines.join(line, first) is True  # the line ended and starts afresh


def _hold_row_lock(lot_id: int):
    """Take the lot's row lock from another connection, as a batch in another process would."""
    engine = create_engine(PG_URL)
    conn = engine.connect()
    conn.execute(text("BEGIN"))
    conn.execute(text("SELECT id FROM listings WHERE id = :id FOR UPDATE"), {"id": lot_id})
    return engine, conn


def _bid_in_thread(app, user_id: int, lot_id: int, amount: int, out: dict):
    def run():
        with app.app_context():
            user = db.session.get(User, user_id)
            try:
                out[user_id] = bidding().place(user, lot_id, amount)
            except ServiceError as exc:
                out[user_id] = exc
            finally:
                db.session.remove()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until(condition, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_bids_waiting_for_a_locked_lot_are_placed_in_one_transaction(app, monkeypatch):
    users = [make_user() for _ in range(5)]
    lot = make_auction(start_cents=100_000)
    lot_id = lot.id
    db.session.commit()
    sizes = []
    apply = bidding_module.BiddingService._apply
    monkeypatch.setattr(bidding_module.BiddingService, "_apply",
                        lambda self, snap, batch: sizes.append(len(batch)) or apply(self, snap, batch))
    engine, conn = _hold_row_lock(lot_id)
    out: dict = {}
    try:
        threads = [_bid_in_thread(app, users[0].id, lot_id, 150_000, out)]
        _wait_until(lambda: bool(bidding_module._LINES._waiting))  # the first bid leads, waiting on the row
        line = next(iter(bidding_module._LINES._waiting))
        for i, user in enumerate(users[1:], start=1):
            threads.append(_bid_in_thread(app, user.id, lot_id, 150_000 + i * 50_000, out))
        _wait_until(lambda: len(bidding_module._LINES._waiting.get(line, [])) == 4)
    finally:
        conn.execute(text("ROLLBACK"))
        conn.close()
        engine.dispose()
    for thread in threads:
        thread.join(30)
    assert sizes == [5]
    # The four waiting bids joined the line in whatever order their threads ran: a lower maximum
    # arriving after a higher one may be below the price it left. The highest always wins.
    assert len(out) == 5
    placed = [r for r in out.values() if not isinstance(r, ServiceError)]
    assert all(r.code == "below_minimum" for r in out.values() if isinstance(r, ServiceError)), out
    assert out[users[-1].id].leading is True
    db.session.expire_all()
    assert db.session.get(Listing, lot_id).bid_count == len(placed)
    assert db.session.get(Listing, lot_id).leader_id == users[-1].id
    assert _chain_ok(lot_id)
    assert not bidding_module._LINES._waiting


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_bid_that_waits_too_long_in_the_line_leaves_it_unplaced_with_a_503(app, monkeypatch):
    alice, bob = make_user(), make_user()
    lot = make_auction(start_cents=100_000)
    lot_id = lot.id
    db.session.commit()
    monkeypatch.setattr(bidding_module, "LINE_WAIT_SECONDS", 0.3)
    engine, conn = _hold_row_lock(lot_id)
    out: dict = {}
    try:
        leader = _bid_in_thread(app, alice.id, lot_id, 150_000, out)
        _wait_until(lambda: bool(bidding_module._LINES._waiting))
        _bid_in_thread(app, bob.id, lot_id, 300_000, out).join(10)
        assert isinstance(out[bob.id], ServiceError)
        assert (out[bob.id].status, out[bob.id].code) == (503, "bid_busy")
    finally:
        conn.execute(text("ROLLBACK"))
        conn.close()
        engine.dispose()
    leader.join(30)
    assert out[alice.id].leading is True
    db.session.expire_all()
    assert db.session.get(Listing, lot_id).bid_count == 1
    assert {b.bidder_id for b in db.session.query(Bid).filter_by(listing_id=lot_id)} == {alice.id}
