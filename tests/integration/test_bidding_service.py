"""The bidding service against a real database: rules, idempotency, events, history."""
import json
from datetime import timedelta

import pytest

from marketplace.errors import ServiceError
from marketplace.models import Bid, Listing, LotEvent, Notification
from marketplace.services.bidding import GENESIS_HASH, chain_hash
from marketplace.clock import iso
from marketplace.wiring import bidding, closing
from tests.factories import make_auction, make_user


def test_first_bid_leads_at_start_price(app):
    lot = make_auction(start_cents=100_000)
    alice = make_user()
    result = bidding().place(alice, lot.id, 150_000, "k1")
    assert result.leading is True
    assert result.lot["current_price_cents"] == 100_000
    assert result.lot["leader_alias"] == alice.alias
    assert result.lot["bid_count"] == 1


def test_second_bidder_pays_one_increment_over_runner_up(app):
    lot = make_auction(start_cents=100_000)
    alice, bob = make_user(), make_user()
    bidding().place(alice, lot.id, 150_000)
    result = bidding().place(bob, lot.id, 300_000)
    # $1,500 is in the $1,000–4,999 tier: increment $100.
    assert result.lot["current_price_cents"] == 160_000
    assert result.leading is True


def test_bid_below_minimum_is_rejected_and_changes_nothing(app):
    lot = make_auction(start_cents=100_000)
    alice = make_user()
    with pytest.raises(ServiceError) as refused:
        bidding().place(alice, lot.id, 99_999)
    assert refused.value.code == "below_minimum"
    assert refused.value.status == 409
    assert app.extensions["sqlalchemy"].session.query(Bid).count() == 0


@pytest.mark.parametrize("amount", [1.5, "100000", True, None, -5, 0, 10**13, [1]])
def test_malformed_amounts_are_refused_with_400(app, amount):
    lot = make_auction()
    with pytest.raises(ServiceError) as refused:
        bidding().place(make_user(), lot.id, amount)
    assert refused.value.status == 400


def test_unknown_lot_is_404(app):
    with pytest.raises(ServiceError) as refused:
        bidding().place(make_user(), 999_999, 100_000)
    assert refused.value.status == 404


def test_same_idempotency_key_counts_once(app):
    lot = make_auction(start_cents=100_000)
    alice = make_user()
    first = bidding().place(alice, lot.id, 150_000, "double-click")
    again = bidding().place(alice, lot.id, 150_000, "double-click")
    assert again.replayed is True
    assert again.lot["bid_count"] == first.lot["bid_count"] == 1


def test_outbid_leader_gets_private_event_and_notice(app):
    sink = app.extensions["live_sink"]
    from marketplace.live import RecordingSink
    recorder = RecordingSink()
    app.extensions["live_sink"] = recorder
    try:
        lot = make_auction(start_cents=100_000)
        alice, bob = make_user(), make_user()
        bidding().place(alice, lot.id, 150_000)
        bidding().place(bob, lot.id, 200_000)
    finally:
        app.extensions["live_sink"] = sink
    private = [(e, p, r) for e, p, r in recorder.sent if e == "outbid"]
    assert private == [("outbid", {"lot_id": lot.id, "handle": lot.handle_display, "amount_cents": 160_000},
                        f"user:{alice.id}")]
    notices = app.extensions["sqlalchemy"].session.query(Notification).filter_by(user_id=alice.id).all()
    assert [n.kind for n in notices] == ["outbid"]
    seqs = [p["seq"] for e, p, r in recorder.sent if r == f"listing:{lot.id}"]
    assert seqs == [1, 2]


def test_history_is_hash_chained(app):
    lot = make_auction(start_cents=100_000)
    alice, bob = make_user(), make_user()
    bidding().place(alice, lot.id, 150_000)
    bidding().place(bob, lot.id, 170_000)
    bidding().place(alice, lot.id, 400_000)
    entries = list(reversed(bidding().history(lot.id)["items"]))
    prev = GENESIS_HASH
    for entry in entries:
        assert entry["prev_hash"] == prev
        assert entry["hash"] == chain_hash(prev, entry["seq"], entry["alias"], entry["amount_cents"], entry["at"])
        prev = entry["hash"]
    assert [e["amount_cents"] for e in entries] == [100_000, 160_000, 180_000]


def test_late_bid_extends_the_end_and_records_the_event(app, clock):
    lot = make_auction(minutes=10, soft_close_seconds=300)
    clock.advance(minutes=8)  # 2 minutes left
    bidding().place(make_user(), lot.id, 200_000)
    session = app.extensions["sqlalchemy"].session
    refreshed = session.get(Listing, lot.id)
    assert refreshed.ends_at == clock.now() + timedelta(seconds=300)
    types = [e.type for e in session.query(LotEvent).filter_by(listing_id=lot.id).order_by(LotEvent.seq)]
    assert types == ["bid_placed", "lot_extended"]


def test_bid_after_end_is_refused(app, clock):
    lot = make_auction(minutes=10)
    clock.advance(minutes=11)
    with pytest.raises(ServiceError) as refused:
        bidding().place(make_user(), lot.id, 200_000)
    assert refused.value.code == "ended"


def test_closing_picks_winner_and_is_done_once(app, clock):
    lot = make_auction(minutes=10, reserve_cents=150_000)
    alice, bob = make_user(), make_user()
    bidding().place(alice, lot.id, 140_000)
    bidding().place(bob, lot.id, 200_000)
    clock.advance(minutes=10)
    assert closing().close_due() == 1
    assert closing().close_due() == 0
    session = app.extensions["sqlalchemy"].session
    closed = session.get(Listing, lot.id)
    assert closed.closed_status == "ended"
    assert closed.winner_id == bob.id
    assert closed.final_price_cents == 150_000  # the reserve lifts the price
    event = session.query(LotEvent).filter_by(listing_id=lot.id, type="lot_closed").one()
    assert json.loads(event.payload_json)["winner_alias"] == bob.alias


def test_reserve_not_met_closes_unsold(app, clock):
    lot = make_auction(minutes=10, reserve_cents=500_000)
    bidding().place(make_user(), lot.id, 200_000)
    clock.advance(minutes=10)
    closing().close_due()
    closed = app.extensions["sqlalchemy"].session.get(Listing, lot.id)
    assert closed.closed_status == "unsold"
    assert closed.winner_id is None


def test_admin_is_allowed_to_bid_on_platform_lot_but_seller_is_not(app):
    from marketplace.extensions import db
    seller = make_user()
    lot = make_auction()
    lot.seller_id = seller.id
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        bidding().place(seller, lot.id, 200_000)
    assert refused.value.code == "seller_cannot_bid"
    assert refused.value.status == 403


def test_linked_account_of_seller_cannot_bid(app):
    from marketplace.extensions import db
    seller, sock_puppet = make_user(), make_user()
    seller.linked_group = sock_puppet.linked_group = "group-1"
    lot = make_auction()
    lot.seller_id = seller.id
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        bidding().place(sock_puppet, lot.id, 200_000)
    assert refused.value.code == "seller_cannot_bid"


def test_iso_times_have_millisecond_z_form(app, clock):
    assert iso(clock.now()) == "2026-06-01T12:00:00.000Z"


def test_the_early_read_refuses_exactly_what_the_whole_lot_refuses(app):
    """The read before the lock joins only the two highest ranked proxies and the bidder's own
    (a hot lot has dozens): every refusal it gives, with its minimum or own maximum, must be the
    one the engine gives on the whole lot, for bidders in and out of the top two, with a tie on the
    maximum (the earlier order ranks first) and a raised maximum (a new order)."""
    import auctions
    from auctions import RuleViolation
    from marketplace.services.lots import auction_of

    lot = make_auction(start_cents=100_000)
    bidders = [make_user() for _ in range(6)]
    a, b, c, d, e, newcomer = bidders
    for bidder, amount in [(a, 300_000), (b, 300_000), (c, 310_000), (d, 400_000), (a, 420_000), (e, 450_000)]:
        bidding().place(bidder, lot.id, amount)
    service = bidding()
    now = service.clock.now()

    def refusal(snap, bidder, amount):
        try:
            auctions.place_bid(auction_of(snap.listing, snap.proxies), bidder.id, amount, now)
        except RuleViolation as exc:
            return exc.code, exc.params
        return None

    checked = set()
    for bidder in bidders:
        early = service._read(lot.id, bidder, None)
        whole = service._read(lot.id, bidder, None, lock=True)
        service.session.rollback()
        assert len(early.proxies) <= 3 and len(whole.proxies) == 5
        for amount in (300_000, 419_999, 420_000, 430_000, 440_000, 449_999, 450_000, 460_000, 10**9):
            expected = refusal(whole, bidder, amount)
            assert refusal(early, bidder, amount) == expected, (bidder.alias, amount)
            checked.add(expected and expected[0])
    assert checked == {None, "below_minimum", "not_above_own_max"}  # each outcome was compared
