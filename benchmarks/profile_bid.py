"""Profile the hot path in one process: bid requests through the Flask test client on PostgreSQL.

Prints pyinstrument's call tree (or cProfile's top functions with --cprofile). No network, no
concurrency: this shows where one bid's CPU goes.
Usage: .venv/bin/python benchmarks/profile_bid.py [--bids 400] [--cprofile]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ScratchDatabase, app_for  # noqa: E402
from benchmarks.hotlot import START_CENTS, seed  # noqa: E402


def main() -> None:
    """Seed a lot, then profile serial bids alternating between two bidders."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--bids", type=int, default=400)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--plain", action="store_true", help="no profiler: time the bids only")
    parser.add_argument("--redis", action="store_true", help="emit through Redis, as the servers do")
    args = parser.parse_args()
    import auctions

    with ScratchDatabase("profile") as db:
        lot_id, tokens, _ = seed(db.url, 2)
        from benchmarks.common import REDIS_URL
        app = app_for(db.url, **({"REDIS_URL": REDIS_URL, "SOCKETIO_CHANNEL": "hx-bench-profile"} if args.redis else {}))
        client = app.test_client()
        amount = START_CENTS

        def bid(i):
            nonlocal amount
            amount += auctions.increment_for(amount) * 2
            r = client.post(f"/api/v1/lots/{lot_id}/bids", json={"max_amount_cents": amount},
                            headers={"Authorization": f"Bearer {tokens[i % 2]}"})
            assert r.status_code == 201, r.get_json()

        for i in range(20):
            bid(i)
        if args.plain:
            import time
            started = time.perf_counter()
            for i in range(args.bids):
                bid(i)
            print(f"{args.bids} bids in {time.perf_counter() - started:.2f}s: "
                  f"{1000 * (time.perf_counter() - started) / args.bids:.1f} ms per bid, serial")
        elif args.cprofile:
            import cProfile
            import pstats
            prof = cProfile.Profile()
            prof.enable()
            for i in range(args.bids):
                bid(i)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(35)
        else:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for i in range(args.bids):
                bid(i)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        with app.app_context():
            from marketplace.extensions import db as sa
            sa.session.remove()
            sa.engine.dispose()


if __name__ == "__main__":
    main()
