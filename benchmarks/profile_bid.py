"""Profile the hot path in one process: bid requests through the Flask test client on PostgreSQL.

Prints pyinstrument's call tree (or cProfile's top functions with --cprofile). No network, no
concurrency: this shows where one bid's CPU goes.
Usage: .venv/bin/python benchmarks/profile_bid.py [--bids 400] [--refused] [--cprofile | --plain | --count-sql]

--count-sql lists one accepted bid's SQL statements (and one refused bid's), marking those sent
while the lot's row lock is held (from the `SELECT ... FOR UPDATE` to the COMMIT or ROLLBACK).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ScratchDatabase, app_for  # noqa: E402
from benchmarks.hotlot import START_CENTS, seed  # noqa: E402


def count_statements(engine, action, label: str) -> None:
    """Run `action` once and print the SQL statements it sent, marking those under the row lock."""
    from sqlalchemy import event

    sent: list[tuple[bool, str]] = []
    locked = False

    def before(conn, cursor, statement, parameters, context, executemany):
        nonlocal locked
        if "FOR UPDATE" in statement:
            locked = True
        sent.append((locked, " ".join(statement.split())[:110]))

    def end(conn):
        nonlocal locked
        sent.append((locked, "COMMIT" if end.kind == "commit" else "ROLLBACK"))
        locked = False

    def on_commit(conn):
        end.kind = "commit"
        end(conn)

    def on_rollback(conn):
        end.kind = "rollback"
        if conn.in_transaction():
            end(conn)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
    print(f"{label}: {len(sent)} round trips, {sum(1 for held, _ in sent if held)} while the lot's row lock is held")
    for held, text in sent:
        print(f"  {'LOCKED' if held else '      '} {text}")


def main() -> None:
    """Seed a lot, then profile serial bids alternating between two bidders."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--bids", type=int, default=400)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--plain", action="store_true", help="no profiler: time the bids only")
    parser.add_argument("--redis", action="store_true", help="emit through Redis, as the servers do")
    parser.add_argument("--count-sql", action="store_true", help="list the statements of one bid")
    parser.add_argument("--refused", action="store_true",
                        help="profile or time bids below the minimum (refused before the lock) instead")
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
        if args.refused:
            def bid(i):  # noqa: F811 - the same request, below the minimum: refused before the lock
                r = client.post(f"/api/v1/lots/{lot_id}/bids", json={"max_amount_cents": START_CENTS},
                                headers={"Authorization": f"Bearer {tokens[i % 2]}"})
                assert r.status_code == 409, r.get_json()
        if args.count_sql:
            with app.app_context():
                from marketplace.extensions import db as sa
                engine = sa.engine
            count_statements(engine, lambda: bid(0), "accepted bid")

            def refused():
                r = client.post(f"/api/v1/lots/{lot_id}/bids", json={"max_amount_cents": START_CENTS},
                                headers={"Authorization": f"Bearer {tokens[1]}"})
                assert r.get_json()["error"]["code"] == "below_minimum", r.get_json()
            count_statements(engine, refused, "refused bid (below the minimum)")
        elif args.plain:
            import time
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(args.bids):
                bid(i)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"{args.bids} bids in {wall:.2f}s: {1000 * wall / args.bids:.1f} ms per bid, "
                  f"{1000 * cpu / args.bids:.1f} ms of this process's CPU per bid, serial")
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
