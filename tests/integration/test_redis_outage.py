"""Redis (the Socket.IO message queue) stopped while bids are placed, with two real servers.

Proves: bids are still accepted and stored while Redis is down (the broadcast is lost, never the
bid); when Redis is back, broadcasts resume, and a watcher that sees a gap in `seq` catches up on
everything it missed with `watch {lot_id, since_seq}`, as the browser does.
A private redis-server on a free loopback port is stopped and restarted; the machine's own Redis
is never touched.
"""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from tests.integration.test_multiprocess import Watcher, bid_on, logs_on_failure, running_world, token
from tests.procs import free_port, http_json
from tests.support import need, postgres_problem

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


class PrivateRedis:
    """redis-server on one port, stopped and started again on the same port."""

    def __init__(self, log_dir):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / "redis.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.log_path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                return self
            time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def redis_binary_problem() -> str | None:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return "redis-server and redis-cli are not installed"
    return None


def test_bids_are_kept_while_redis_is_down_and_watchers_catch_up(tmp_path):
    need("PostgreSQL", postgres_problem())
    need("redis-server", redis_binary_problem())
    redis = PrivateRedis(tmp_path).start()
    try:
        with running_world(tmp_path, redis.url) as world, logs_on_failure(world):
            a, b, lot_id = world["a"], world["b"], world["lot_id"]
            tokens = {name: token(a, info["email"]) for name, info in world["bidders"].items()}
            with Watcher(b.url) as watcher:
                watcher.watch(lot_id)
                first = bid_on(a, world, lot_id, tokens)
                assert [e["seq"] for e in watcher.wait_for_bids(lot_id, 1)] == [first["seq"]]

                redis.stop()
                during = [bid_on(a, world, lot_id, tokens) for _ in range(2)]  # 201 each: stored
                assert [d["seq"] for d in during] == [first["seq"] + 1, first["seq"] + 2]
                assert len(watcher.wait_for_bids(lot_id, 2, seconds=1.5)) == 1  # nothing got through

                redis.start()
                # Bid until a broadcast gets through again (the servers reconnect to Redis with backoff).
                deadline = time.monotonic() + 30
                last = during[-1]
                while time.monotonic() < deadline:
                    last = bid_on(a, world, lot_id, tokens)
                    live = [e for e in watcher.wait_for_bids(lot_id, 2, seconds=2) if e["seq"] > first["seq"]]
                    if live:
                        break
                assert live, "no broadcast reached the watcher after Redis came back"
                # A gap in seq: catch up from the last seq seen before it, as the browser does.
                watcher.watch(lot_id, since_seq=first["seq"])
                seen = sorted({e["seq"] for e in watcher.bids(lot_id)})
                status, lot = http_json("GET", f"{b.url}/api/v1/lots/{lot_id}")
                assert status == 200 and lot["bid_count"] == last["bid_count"]
                assert seen == list(range(first["seq"], lot["seq"] + 1)), "the watcher missed a bid for good"
    finally:
        redis.stop()
