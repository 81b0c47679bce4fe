"""Socket.IO events through Flask-SocketIO's test client, sharing the HTTP login."""
import pytest

from marketplace.wiring import bidding, closing
from tests.support import socket_client as socket_for
from tests.factories import login, make_auction, make_user


def events(sock, name=None):
    received = sock.get_received()
    return [(e["name"], e["args"][0] if e["args"] else None) for e in received if name in (None, e["name"])]


@pytest.fixture
def watcher(app):
    sock = socket_for(app)
    yield sock
    if sock.is_connected():
        sock.disconnect()


def test_connect_sends_server_time(app, watcher):
    hello = events(watcher, "hello")
    assert hello == [("hello", {"server_time": "2026-06-01T12:00:00.000Z", "alias": None})]


def test_watch_sends_lot_state(app, watcher):
    lot = make_auction(start_cents=100_000)
    ack = watcher.emit("watch", {"lot_id": lot.id}, callback=True)
    assert ack == {"ok": True, "seq": 0, "replayed": 0}
    state = events(watcher, "lot_state")
    assert state[0][1]["id"] == lot.id and state[0][1]["current_price_cents"] == 100_000


@pytest.mark.parametrize("payload", [None, {}, {"lot_id": "1"}, {"lot_id": 1.0}, {"lot_id": True}, [1]])
def test_watch_with_bad_payload_gets_error_event(app, watcher, payload):
    ack = watcher.emit("watch", payload, callback=True)
    assert ack["error"]["code"] == "invalid_lot"
    assert events(watcher, "error")[0][1]["code"] == "invalid_lot"


def test_watch_unknown_lot_gets_error(app, watcher):
    ack = watcher.emit("watch", {"lot_id": 987654}, callback=True)
    assert ack["error"]["code"] == "lot_not_found"


def test_bid_is_broadcast_to_watchers_with_seq(app, watcher):
    lot = make_auction(start_cents=100_000)
    watcher.emit("watch", {"lot_id": lot.id})
    watcher.get_received()
    client = app.test_client()
    bidder = make_user()
    login(client, bidder)
    sock = socket_for(app, client)
    try:
        ack = sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 150_000, "key": "k-1"}, callback=True)
        assert ack.get("ok") is True and ack["leading"] is True, ack
    finally:
        sock.disconnect()
    placed = events(watcher, "bid_placed")
    assert len(placed) == 1
    body = placed[0][1]
    assert body["seq"] == 1 and body["amount_cents"] == 100_000 and body["alias"] == bidder.alias
    assert body["bid_count"] == 1 and body["min_next_bid_cents"] == 110_000


def test_unauthenticated_socket_bid_is_refused(app, watcher):
    lot = make_auction()
    ack = watcher.emit("bid", {"lot_id": lot.id, "max_amount_cents": 200_000, "key": "x"}, callback=True)
    assert ack["error"]["code"] == "not_signed_in"
    assert bidding().history(lot.id)["total"] == 0


@pytest.mark.parametrize("amount", ["lots", 1.25, -1, None, 10**15])
def test_socket_bid_with_bad_amount_gets_error(app, amount):
    lot = make_auction()
    client = app.test_client()
    login(client, make_user())
    sock = socket_for(app, client)
    try:
        ack = sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": amount}, callback=True)
    finally:
        sock.disconnect()
    assert ack["error"]["code"] == "invalid_amount"


def test_outbid_user_gets_private_alert(app):
    lot = make_auction(start_cents=100_000)
    alice, bob = make_user(), make_user()
    alice_client = app.test_client()
    login(alice_client, alice)
    alice_sock = socket_for(app, alice_client)
    try:
        alice_sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 150_000, "key": "a"}, callback=True)
        alice_sock.get_received()
        bidding().place(bob, lot.id, 300_000, "b")
        outbid = events(alice_sock, "outbid")
    finally:
        alice_sock.disconnect()
    assert outbid == [("outbid", {"lot_id": lot.id, "handle": lot.handle_display, "amount_cents": 160_000})]


def test_reconnecting_client_catches_up_from_since_seq(app, watcher):
    lot = make_auction(start_cents=100_000, minutes=10)
    watcher.emit("watch", {"lot_id": lot.id})
    alice, bob = make_user(), make_user()
    bidding().place(alice, lot.id, 150_000)
    seen = max(p["seq"] for _, p in events(watcher, "bid_placed"))
    watcher.disconnect()
    bidding().place(bob, lot.id, 200_000)
    bidding().place(alice, lot.id, 300_000)
    back = socket_for(app)
    try:
        ack = back.emit("watch", {"lot_id": lot.id, "since_seq": seen}, callback=True)
        replayed = [p["seq"] for name, p in events(back) if name == "bid_placed"]
    finally:
        back.disconnect()
    assert ack["replayed"] == 2
    assert replayed == [seen + 1, seen + 2]


def test_close_is_broadcast(app, watcher, clock):
    lot = make_auction(start_cents=100_000, minutes=10)
    winner = make_user()
    bidding().place(winner, lot.id, 150_000)
    watcher.emit("watch", {"lot_id": lot.id})
    watcher.get_received()
    clock.advance(minutes=10)
    closing().close_due()
    closed = events(watcher, "lot_closed")
    assert closed[0][1]["winner_alias"] == winner.alias and closed[0][1]["status"] == "ended"
    assert closed[0][1]["amount_cents"] == 100_000


def test_same_bid_by_socket_and_http_with_one_key_counts_once(app):
    from tests.factories import csrf_token

    lot = make_auction(start_cents=100_000)
    client = app.test_client()
    login(client, make_user())
    sock = socket_for(app, client)
    try:
        first = sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 150_000, "key": "dup-1"}, callback=True)
        again = sock.emit("bid", {"lot_id": lot.id, "max_amount_cents": 150_000, "key": "dup-1"}, callback=True)
    finally:
        sock.disconnect()
    retry = client.post(f"/api/v1/lots/{lot.id}/bids", json={"max_amount_cents": 150_000},
                        headers={"Idempotency-Key": "dup-1", "X-CSRFToken": csrf_token(client)})
    double_click = client.post(f"/lots/{lot.id}/bid", data={"max_amount_cents": "150000", "key": "dup-1",
                                                            "csrf_token": csrf_token(client)})
    assert first.get("ok") is True and again.get("ok") is True, (first, again)
    assert retry.status_code == 200, retry.get_json()
    assert double_click.status_code == 302
    assert bidding().history(lot.id)["total"] == 1
