"""Benchmark (not a test): seed accounts into a scratch PostgreSQL database and time a full sweep.

    .venv/bin/python benchmarks/release_sweep.py [--accounts 1000000] [--batch 10000]

Creates the database hx_bench_<pid> on TEST_POSTGRES_URL's server (default
postgresql://postgres@127.0.0.1:5432/test), migrates it, seeds, sweeps, prints accounts per
second and peak memory, and drops the database.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DATABASE = f"hx_bench_{os.getpid()}"


def admin(sql: str) -> None:
    """Run one statement on the server outside a transaction."""
    import psycopg2
    conn = psycopg2.connect(SERVER_URL)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def main() -> dict:
    """Seed, sweep, report, clean up; return the figures (for run_all.py)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.clock import FrozenClock
    from marketplace.extensions import db
    from marketplace.population import seed_accounts
    from marketplace.services.release import ReleasePolicy, ReleaseService
    from marketplace.live import Publisher, RecordingSink

    admin(f"CREATE DATABASE {DATABASE}")
    try:
        url = SERVER_URL.rsplit("/", 1)[0] + "/" + DATABASE
        now = datetime.now(UTC)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CLOCK": FrozenClock(now), "RUN_WORKER": False,
                          "DEMO_DATA": False, "TESTING": True, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            seed_accounts(db.session, now, args.accounts, chunk=50_000)
            seeded = time.perf_counter() - started
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
            print(f"seeded {args.accounts:,} accounts in {seeded:.1f}s ({args.accounts / seeded:,.0f}/s)")
            figures = {"accounts": args.accounts, "batch": args.batch}

            service = ReleaseService(db.session, app.extensions["clock"], lambda: Publisher(RecordingSink()),
                                     ReleasePolicy(batch_size=args.batch))
            tracemalloc.start()
            started = time.perf_counter()
            run = service.run()
            elapsed = time.perf_counter() - started
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"first sweep: {run.processed:,} ids in {run.batches} batches of {args.batch:,}, "
                  f"{elapsed:.1f}s = {run.processed / elapsed:,.0f} accounts/s; flagged {run.flagged:,}, "
                  f"held back {run.held_back:,}")
            print(f"peak memory: Python allocations {traced_peak / 2**20:.1f} MiB (tracemalloc), "
                  f"process RSS {rss_peak_mb:.0f} MiB")
            figures.update(first_s=elapsed, first_per_s=run.processed / elapsed, flagged=run.flagged,
                           traced_peak_mib=traced_peak / 2**20, rss_peak_mib=rss_peak_mb)

            app.extensions["clock"].advance(days=30)
            started = time.perf_counter()
            run = service.run()
            elapsed = time.perf_counter() - started
            print(f"sweep 30 days later: {elapsed:.1f}s = {run.processed / elapsed:,.0f} accounts/s; "
                  f"released {run.released:,}, held back {run.held_back:,}")
            figures.update(release_s=elapsed, release_per_s=run.processed / elapsed, released=run.released)
            started = time.perf_counter()
            run = service.run()
            elapsed = time.perf_counter() - started
            print(f"a sweep with nothing to do: {elapsed:.1f}s = {run.processed / elapsed:,.0f} accounts/s")
            figures.update(idle_s=elapsed, idle_per_s=run.processed / elapsed)
            db.session.remove()
            db.engine.dispose()
    finally:
        admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    return figures


if __name__ == "__main__":
    from benchmarks.common import emit_result

    emit_result(main())
