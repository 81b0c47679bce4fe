"""Fan-out: N watchers over WebSocket on two server processes sharing Redis, one bidder bidding
`rate` times a second; the same run against the bare relay (benchmarks/bare_relay.py).

Prints bid-to-screen latency p50/p95/p99 across all watchers, missed events, delivered
messages/s and server CPU per 1,000 deliveries, and our figures as ratios of the bare server's.
Usage: .venv/bin/python benchmarks/fanout.py [--watchers 1000,2000,3000] [--seconds 10] [--rate 10]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    BIN, ScratchDatabase, Server, app_for, emit_result, gunicorn, run_node, server_env,
)

START_CENTS = 100_000
CHILDREN = 2  # Node processes holding the watchers


def seed(url: str) -> tuple[int, list[str]]:
    """An admin, two bidders with tokens and one auction ending in a day."""
    app = app_for(url)
    with app.app_context():
        from marketplace.extensions import db
        from marketplace.models import Role
        from marketplace.registry import DatabaseRegistry
        from marketplace.wiring import accounts, clock, listings

        admin = accounts().register("fan-admin@example.com", "bench-password-123", "Admin",
                                    roles=(Role.BUYER, Role.ADMIN))
        tokens = [accounts().issue_token(accounts().register(f"fan{i}@example.com", "bench-password-123", f"F{i}"))
                  for i in range(2)]
        DatabaseRegistry(db.session).add_released("fanout", clock().now() - timedelta(days=31))
        db.session.commit()
        lot = listings().create(admin, {"handle": "fanout", "kind": "auction", "start_price_cents": START_CENTS,
                                        "ends_at": (clock().now() + timedelta(days=1)).isoformat()})
        lot_id = lot.id
        db.session.remove()
        db.engine.dispose()
    return lot_id, tokens


def run(servers: list[Server], client_args: dict, seconds: float) -> dict:
    """Run the Node generator against running servers; add the servers' CPU use."""
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.time() * 1000, sum(s.cpu_seconds() for s in servers)))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        figures = run_node("fanout_client.js", client_args, timeout=seconds + 300)
    finally:
        stop.set()
        sampler.join()

    def cpu_at(ms: float) -> float:
        return min(samples, key=lambda s: abs(s[0] - ms))[1]

    # Only the bidding (and delivery) phase: connecting and watching are not fan-out work.
    cpu = cpu_at(figures["delivery_ended_ms"]) - cpu_at(figures["bid_started_ms"])
    figures["server_cpu_s"] = round(cpu, 2)
    figures["server_cpu_share"] = round(cpu / max(1e-9, figures["delivery_seconds"]), 2)  # cores busy
    figures["cpu_ms_per_1k"] = round(1e6 * cpu / max(1, figures["delivered"]), 1)
    return figures


def bare(watchers: int, seconds: float, rate: int) -> dict:
    """The fan-out against two bare relay processes."""
    env = server_env("unused", BARE_CHANNEL="hx-bench-bare-" + uuid.uuid4().hex[:8])
    servers = [Server(f"bare-{i}", [str(BIN / "python"), "benchmarks/bare_relay.py"], env).start() for i in range(2)]
    try:
        return run(servers, {"urls": [s.url for s in servers], "bid_url": servers[0].url, "mode": "bare",
                             "lot_id": 1, "watchers": watchers, "children": CHILDREN, "seconds": seconds,
                             "rate": rate, "base": 0}, seconds)
    finally:
        for s in servers:
            s.stop()


def app(db_url: str, lot_id: int, tokens: list[str], base: int, min_next: int, seq: int, watchers: int,
        seconds: float, rate: int) -> dict:
    """The fan-out against two gunicorn processes of the app (production shape). Watchers join with
    the lot's current `seq`, as a page loaded now does (a `since_seq` of 0 would replay the lot's
    whole history to each of them while connecting)."""
    env = server_env(db_url)
    servers = [gunicorn(f"fan-app-{i}", env).start() for i in range(2)]
    try:
        return run(servers, {"urls": [s.url for s in servers], "bid_url": servers[0].url, "mode": "app",
                             "lot_id": lot_id, "watchers": watchers, "children": CHILDREN, "seconds": seconds,
                             "rate": rate, "base": base, "since_seq": seq, "tokens": tokens,
                             "start_cents": min_next}, seconds)
    finally:
        for s in servers:
            s.stop()


def lot_state(db_url: str, lot_id: int) -> tuple[int, int, int]:
    """The lot's bid count, next minimum bid and event seq."""
    application = app_for(db_url)
    with application.app_context():
        from marketplace.extensions import db
        from marketplace.wiring import listings

        view = listings().view(lot_id)
        db.session.remove()
        db.engine.dispose()
    return view["bid_count"], view["min_next_bid_cents"], view["seq"]


def main() -> list[dict]:
    """Run bare and app fan-outs at each size; print a line per run and the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--watchers", default="1000,2000,3000")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=10)
    args = parser.parse_args()
    results = []
    with ScratchDatabase("fanout") as db:
        lot_id, tokens = seed(db.url)
        for n in [int(x) for x in args.watchers.split(",")]:
            b = bare(n, args.seconds, args.rate)
            base, min_next, seq = lot_state(db.url, lot_id)
            a = app(db.url, lot_id, tokens, base, min_next, seq, n, args.seconds, args.rate)
            ratio = {
                "throughput": a["delivered_per_s"] / b["delivered_per_s"] if b["delivered_per_s"] else None,
                "p95": a["p95_ms"] / b["p95_ms"] if b["p95_ms"] else None,
                "cpu_efficiency": b["cpu_ms_per_1k"] / a["cpu_ms_per_1k"] if a["cpu_ms_per_1k"] else None,
            }
            for label, f in (("bare", b), ("app ", a)):
                print(f"fan-out {label} {n} watchers x {args.rate} bids/s, 2 processes: watching {f['watching']} "
                      f"(connected in {f['connect_seconds']:.0f} s), "
                      f"p50 {f['p50_ms']} ms p95 {f['p95_ms']} ms p99 {f['p99_ms']} ms, missed {f['missed']}, "
                      f"delivered {f['delivered_per_s']:.0f}/s, server CPU {f['cpu_ms_per_1k']} ms per 1k deliveries "
                      f"(bids sent {f['bids_sent']}, refused {f['bids_refused']}, bid answered p50 {f['bid_p50_ms']} "
                      f"p95 {f['bid_p95_ms']} ms)", flush=True)
            print(f"fan-out {n}: app/bare throughput {ratio['throughput']:.2f}, p95 ratio {ratio['p95']:.2f}, "
                  f"CPU efficiency (bare CPU per delivery / ours) {ratio['cpu_efficiency']:.2f}", flush=True)
            results.append({"watchers": n, "app": a, "bare": b, "ratio": ratio})
    return results


if __name__ == "__main__":
    emit_result(main())
