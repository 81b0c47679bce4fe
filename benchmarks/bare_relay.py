"""The limit, for comparison: a bare python-socketio server on gevent that only relays a message.

No Flask, no database, no app code: `watch` joins a room; `POST /bid` emits one `bid_placed`
(the same size as the app's) to that room through the Redis message queue, so two of these
processes share their rooms exactly like two app processes do. Served the same way as the app
(gevent pywsgi with gevent-websocket, no per-message compression).
Usage: PORT=8101 REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/bare_relay.py
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import socketio  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

manager = socketio.RedisManager(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                                channel=os.environ.get("BARE_CHANNEL", "hx-bench-bare"))
sio = socketio.Server(async_mode="gevent", client_manager=manager, cors_allowed_origins=None,
                      websocket_compression=False, http_compression=False)


@sio.event
def watch(sid, data):
    """Join the lot's room."""
    sio.enter_room(sid, f"listing:{data['lot_id']}")
    return {"ok": True, "seq": 0}


def http(environ, start_response):
    """`GET /healthz` and `POST /bid {lot_id, bid_count}`; everything else is 404."""
    path = environ.get("PATH_INFO")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']
    if path == "/bid" and environ["REQUEST_METHOD"] == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        data = json.loads(environ["wsgi.input"].read(size) or b"{}")
        n = int(data["bid_count"])
        at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        # The app's bid_placed payload, field for field, so both servers send the same bytes.
        sio.emit("bid_placed", {
            "lot_id": data["lot_id"], "seq": n, "amount_cents": 100_000 + 10_000 * n, "alias": "bidder-a1b2c3",
            "bid_count": n, "ends_at": at, "reserve_met": True, "leader_alias": "bidder-a1b2c3",
            "min_next_bid_cents": 110_000 + 10_000 * n, "current_price_cents": 100_000 + 10_000 * n, "at": at,
        }, to=f"listing:{data['lot_id']}")
        body = json.dumps({"lot": {"bid_count": n, "min_next_bid_cents": 0}}).encode()
        start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


app = socketio.WSGIApp(sio, http)

if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8101"))
    WSGIServer(("127.0.0.1", port), app, handler_class=WebSocketHandler, log=None).serve_forever()
