"""The Socket.IO message queue (marketplace.live.PublishFirstRedisManager) on a real Redis.

An event emitted in one process must be in Redis, once, before that process starts handing it to
its own clients, so every process delivers at the same time (benchmarks/README.md, fan-out). That
the other processes deliver it is tests/integration/test_multiprocess.py (real servers).
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
import socketio

from marketplace.live import PublishFirstRedisManager
from tests.support import REDIS_URL, need, redis_problem

pytestmark = [pytest.mark.redis]


@pytest.fixture
def channel():
    need("Redis", redis_problem())
    return "hx-test-queue-" + uuid.uuid4().hex[:8]


def test_an_event_is_in_redis_once_before_this_process_delivers_it(channel, monkeypatch):
    import redis

    listener = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    time.sleep(0.1)
    seen_before_local: list[bool] = []

    def already_published() -> bool:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # None also answers the subscription's own confirmation
            message = listener.get_message(timeout=0.1)
            if message is not None:
                return json.loads(message["data"])["event"] == "bid_placed"
        return False

    delivered: list[tuple[str, object, str]] = []
    manager = PublishFirstRedisManager(REDIS_URL, channel=channel)
    socketio.Server(client_manager=manager, async_mode="threading")
    original = socketio.Manager.emit

    def local(self, event, data, *args, **kwargs):
        if self is manager:
            seen_before_local.append(already_published())
            delivered.append((event, data, kwargs.get("room")))
            return None
        return original(self, event, data, *args, **kwargs)

    monkeypatch.setattr(socketio.Manager, "emit", local)
    manager.emit("bid_placed", {"seq": 7}, room="listing:1")

    assert delivered == [("bid_placed", {"seq": 7}, "listing:1")]
    assert seen_before_local == [True], "the local delivery began before the event was in Redis"
    assert listener.get_message(timeout=0.5) is None, "the event was published twice"
    listener.close()
    manager.redis.connection_pool.disconnect()
