"""Admins void a bid for cause (DESIGN.md section 4): the engine recomputes the price and leader
from the other maxima, the history keeps its entries, the void is audited, watchers and the bidder
are told, and the bidder's card authorisation is released."""
from __future__ import annotations

import json

import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, Bid, EmailMessage, Listing, LotEvent, Notification, ProxyBid
from marketplace.wiring import bidding, listings, settlement, voids
from tests.factories import make_auction, make_user, released_handle
from tests.integration.test_api import token_for
from tests.integration.test_settlement import holds_of, intent_status, settle


def three_bidders(card=None, **lot):
    """A live auction from $1,000 with Alice up to $1,500, Carol up to $2,000 and Bob up to $3,000
    (Bob leads at $2,100); returns the lot, the admin and the three bidders (with `card` saved)."""
    admin = make_user(admin=True)
    listing = make_auction(admin=admin, start_cents=100_000, **lot)
    alice, carol, bob = (make_user(name=n, card=card) for n in ("Alice", "Carol", "Bob"))
    for user, cents in ((alice, 150_000), (carol, 200_000), (bob, 300_000)):
        bidding().place(user, listing.id, cents)
    db.session.expire_all()
    if not lot.get("reserve_cents"):
        assert db.session.get(Listing, listing.id).current_price_cents == 210_000
    return listing, admin, alice, carol, bob


def void_api(client, admin, lot_id, body):
    """POST /admin/lots/<id>/voids as `admin` (a bearer token)."""
    return client.post(f"/api/v1/admin/lots/{lot_id}/voids", json=body, headers=token_for(client, admin))


def state(lot_id: int) -> tuple:
    """What a void may change: the lot's price, leader, seq, its maxima, history and audit log."""
    db.session.expire_all()
    row = db.session.get(Listing, lot_id)
    return (row.current_price_cents, row.leader_id, row.seq, row.bid_count,
            db.session.query(ProxyBid).filter_by(listing_id=lot_id).count(),
            db.session.query(Bid).filter_by(listing_id=lot_id).count(), db.session.query(AuditEntry).count())


def test_voiding_the_leader_recomputes_price_and_leader_and_keeps_the_history(app, client):
    lot, admin, alice, carol, bob = three_bidders()
    history = [(b.seq, b.hash) for b in db.session.query(Bid).filter_by(listing_id=lot.id).order_by(Bid.seq)]
    response = void_api(client, admin, lot.id, {"bidder_alias": bob.alias, "reason": "Shill bidding for the seller"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # Carol leads now, at Alice's maximum plus one increment; the count matches the history.
    assert body["current_price_cents"] == 160_000 and body["leader_alias"] == carol.alias
    assert body["bid_count"] == 3 and body["min_next_bid_cents"] == 170_000
    db.session.expire_all()
    row = db.session.get(Listing, lot.id)
    assert row.leader_id == carol.id and row.current_price_cents == 160_000
    assert db.session.query(ProxyBid).filter_by(listing_id=lot.id, bidder_id=bob.id).count() == 0
    assert [(b.seq, b.hash) for b in db.session.query(Bid).filter_by(listing_id=lot.id).order_by(Bid.seq)] == history
    assert client.get(f"/api/v1/lots/{lot.id}/bids").get_json()["total"] == 3


def test_a_void_is_audited_told_to_watchers_and_to_the_bidder(app):
    lot, admin, alice, carol, bob = three_bidders(reserve_cents=250_000)
    voids().void(admin, lot.id, bob.alias, "  Shill   bidding ")
    [entry] = db.session.query(AuditEntry).filter_by(action="bid.void").all()
    assert entry.target == f"lot:{lot.id}" and entry.actor_id == admin.id
    assert entry.details == {"bidder_alias": bob.alias, "max_cents": 300_000, "reason": "Shill bidding",
                             "price_cents": {"old": 250_000, "new": 160_000},
                             "leader_alias": {"old": bob.alias, "new": carol.alias},
                             "reserve_met": {"old": True, "new": False}}
    [event] = db.session.query(LotEvent).filter_by(listing_id=lot.id, type="lot_updated").all()
    payload = json.loads(event.payload_json)
    assert payload == {"lot_id": lot.id, "seq": event.seq, "current_price_cents": 160_000,
                       "min_next_bid_cents": 170_000, "reserve_met": False, "buy_now_price_cents": None,
                       "ends_at": payload["ends_at"], "leader_alias": carol.alias, "bid_count": 3,
                       "voided_alias": bob.alias}
    [notice] = db.session.query(Notification).filter_by(user_id=bob.id, kind="bid_voided").all()
    assert notice.payload["reason"] == "Shill bidding" and notice.listing_id == lot.id
    [mail] = db.session.query(EmailMessage).filter_by(user_id=bob.id, kind="bid_voided").all()
    assert f"@{lot.handle_display}" in mail.subject and "Shill bidding" in mail.body_text
    assert f"/lots/{lot.id}" in mail.body_text


def test_voiding_a_runner_up_leaves_the_leader_and_may_lower_the_price(app):
    lot, admin, alice, carol, bob = three_bidders()
    voids().void(admin, lot.id, carol.alias, "Stolen card")
    db.session.expire_all()
    row = db.session.get(Listing, lot.id)
    assert row.leader_id == bob.id and row.current_price_cents == 160_000  # Alice's $1,500 + $100


def test_voiding_the_only_bidder_goes_back_to_the_start_price(app):
    admin = make_user(admin=True)
    lot = make_auction(admin=admin, start_cents=100_000)
    alice = make_user()
    bidding().place(alice, lot.id, 150_000)
    view = listings().view(voids().void(admin, lot.id, alice.alias, "Test account").id)
    assert view["current_price_cents"] == 100_000 and view["leader_alias"] is None and view["bid_count"] == 1
    assert view["min_next_bid_cents"] == 100_000  # with no maximum left, a bid may name the start price


def test_the_voided_bidder_may_bid_again_from_the_new_price(app):
    lot, admin, alice, carol, bob = three_bidders()
    voids().void(admin, lot.id, bob.alias, "Mistyped maximum, asked us to void it")
    result = bidding().place(bob, lot.id, 180_000)
    assert not result.leading and result.lot["current_price_cents"] == 190_000


def test_preview_says_what_a_void_would_do_and_changes_nothing(app):
    lot, admin, alice, carol, bob = three_bidders()
    before = state(lot.id)
    effect = voids().preview(lot.id, bob.alias)
    assert effect["price_cents"] == {"old": 210_000, "new": 160_000}
    assert effect["leader_alias"] == {"old": bob.alias, "new": carol.alias} and effect["max_cents"] == 300_000
    assert state(lot.id) == before


def test_bidders_are_ranked_as_the_engine_ranks_them(app):
    lot, admin, alice, carol, bob = three_bidders()
    ranked = voids().bidders(lot.id)
    assert [(b["alias"], b["max_cents"], b["leading"], b["entries"]) for b in ranked] == [
        (bob.alias, 300_000, True, 1), (carol.alias, 200_000, False, 1), (alice.alias, 150_000, False, 1)]


def test_only_admins_may_void(app, client):
    lot, admin, alice, carol, bob = three_bidders()
    before = state(lot.id)
    signed_out = client.post(f"/api/v1/admin/lots/{lot.id}/voids", json={"bidder_alias": bob.alias, "reason": "x"})
    assert signed_out.status_code == 401
    refused = void_api(client, alice, lot.id, {"bidder_alias": bob.alias, "reason": "I don't like Bob"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admins_only"
    assert state(lot.id) == before


@pytest.mark.parametrize("body,status,code", [
    ({"reason": "why"}, 400, "invalid_field"),
    ({"bidder_alias": "", "reason": "why"}, 400, "invalid_field"),
    ({"bidder_alias": 7, "reason": "why"}, 400, "invalid_field"),
    ({"bidder_alias": "NoSuchAlias99", "reason": "why"}, 404, "bidder_not_found"),
    ({"bidder_alias": "{bob}"}, 400, "reason_required"),
    ({"bidder_alias": "{bob}", "reason": "   "}, 400, "reason_required"),
    ({"bidder_alias": "{bob}", "reason": ["x"]}, 400, "reason_required"),
    ({"bidder_alias": "{bob}", "reason": "x" * 501}, 400, "reason_too_long"),
    ({"bidder_alias": "{admin}", "reason": "why"}, 422, "not_a_bidder"),
])
def test_bad_voids_are_refused_and_change_nothing(app, client, body, status, code):
    lot, admin, alice, carol, bob = three_bidders()
    body = {k: (v.format(bob=bob.alias, admin=admin.alias) if isinstance(v, str) else v) for k, v in body.items()}
    before = state(lot.id)
    response = void_api(client, admin, lot.id, body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code, response.get_json()
    assert state(lot.id) == before


def test_a_closed_or_ended_auction_refuses_a_void(app, client, clock):
    from marketplace.wiring import closing

    lot, admin, alice, carol, bob = three_bidders()
    clock.set(db.session.get(Listing, lot.id).ends_at)  # ended, the worker not there yet
    ended = void_api(client, admin, lot.id, {"bidder_alias": bob.alias, "reason": "late"})
    assert ended.status_code == 409 and ended.get_json()["error"]["code"] == "ended"
    closing().close_due()
    closed = void_api(client, admin, lot.id, {"bidder_alias": bob.alias, "reason": "late"})
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "ended"
    assert db.session.query(AuditEntry).filter_by(action="bid.void").count() == 0


def test_only_auctions_have_bids_to_void(app, client):
    admin = make_user(admin=True)
    fixed = listings().create(admin, {"handle": released_handle().display, "kind": "fixed", "price_cents": 500_000})
    response = void_api(client, admin, fixed.id, {"bidder_alias": admin.alias, "reason": "why"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "wrong_kind"
    assert void_api(client, admin, 99_999, {"bidder_alias": admin.alias, "reason": "why"}).status_code == 404


class TestTheCard:
    """With card-backed bids, the voided bidder's authorisation is released by settlement."""

    @pytest.fixture
    def app_config(self, stripe_config):
        return stripe_config

    @pytest.fixture(autouse=True)
    def _stripe(self, shared_gateway):
        return shared_gateway

    def test_the_voided_bidders_hold_is_released_and_the_new_leader_wins(self, app, clock, fake_stripe):
        lot, admin, alice, carol, bob = three_bidders(card="pm_card_visa")
        clock.advance(seconds=120)  # past the grace period for fresh holds
        settlement().release_holds()  # the outbid Alice and Carol are released
        [bob_hold] = holds_of(bob)
        assert bob_hold.status == "authorized"
        voids().void(admin, lot.id, bob.alias, "Shill bidding")
        assert settlement().release_holds() == 1
        [bob_hold] = holds_of(bob)
        assert bob_hold.status == "cancelled"
        assert intent_status(fake_stripe, bob_hold.intent_id)["status"] == "canceled"
        # Carol wins at the recomputed price; her released hold is replaced by a charge of her card.
        order = settle(clock, lot)
        assert order.buyer_id == carol.id and order.amount_cents == 160_000 and order.status == "completed"
