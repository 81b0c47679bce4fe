"""Catalog: 1,000,000 released handles, each listed (auctions, fixed-price lots, some ended), in a
scratch PostgreSQL database filled set-based (INSERT ... SELECT generate_series). Measures the
market list page and search over HTTP through gunicorn: p50/p95 of sequential requests.
Usage: .venv/bin/python benchmarks/catalog.py [--rows 1000000] [--requests 40]
"""
from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ScratchDatabase, emit_result, gunicorn, percentile, server_env  # noqa: E402

# (label, path): the home page (four shelves), the market page as a visitor opens it and deep in
# its pages, a search for one handle and one that matches many, each kind of lot on its own (no
# Dutch lot is in the fill: the worst case for that filter), the API's list by price, the "all"
# tab and the ended lots. (`/?…` redirects to `/market?…`, so the market is asked directly.)
QUERIES = [
    ("home page (four shelves)", "/"),
    ("market page (live, ending soon)", "/market"),
    ("market page 50", "/market?page=50"),
    ("search, one handle", "/market?q=user777777"),
    ("search, many matches", "/market?q=ser12"),
    ("fixed-price lots", "/market?kind=fixed"),
    ("falling-price lots (none)", "/market?kind=dutch"),
    ("API list, price desc", "/api/v1/lots?status=live&sort=price_desc"),
    ("all lots, newest", "/market?status=all&sort=newest"),
    ("ended lots", "/market?status=ended"),
]


def fill(url: str, rows: int) -> float:
    """Insert `rows` handles and one listing each; return the seconds it took."""
    import psycopg2

    started = time.perf_counter()
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("""
                INSERT INTO handles (name, display, account_id, protected, released_at)
                SELECT 'user' || g, 'User' || g, NULL, false, now() - interval '40 days'
                FROM generate_series(1, %(n)s) g""", {"n": rows})
            # 90% auctions ending over the next ~70 days, 10% fixed price; 5% already ended.
            cur.execute("""
                INSERT INTO listings (handle_id, handle_name, handle_display, kind, eligibility,
                    start_price_cents, starts_at, ends_at, soft_close_seconds, closed_status, closed_at,
                    current_price_cents, bid_count, next_order, seq, created_at)
                SELECT h.id, h.name, h.display,
                    CASE WHEN h.id % 10 = 0 THEN 'fixed' ELSE 'auction' END, 'registered',
                    100000 + (h.id % 1000) * 2500, now() - interval '1 day',
                    CASE WHEN h.id % 10 = 0 THEN NULL ELSE now() + (h.id % 100000) * interval '1 minute' END,
                    300,
                    CASE WHEN h.id % 20 = 1 THEN 'ended' END,
                    CASE WHEN h.id % 20 = 1 THEN now() - interval '1 hour' END,
                    100000 + (h.id % 1000) * 2500, 0, 1, 0, now() - (h.id % 1000) * interval '1 minute'
                FROM handles h""")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE handles")
            cur.execute("VACUUM ANALYZE listings")
    finally:
        conn.close()
    return time.perf_counter() - started


# What ListingService.search sends for the market page (status live, ending soon) and for a
# search, written out for EXPLAIN: one page, then the count of matches (at most 10,001 rows).
LIVE = """listings.closed_status IS NULL AND listings.starts_at <= now()
        AND (listings.ends_at IS NULL OR listings.ends_at > now())"""
EXPLAIN = [
    ("page of live lots, ending soon", f"""SELECT listings.id FROM listings WHERE {LIVE}
        ORDER BY listings.ends_at ASC NULLS LAST, listings.id ASC LIMIT 24"""),
    ("capped count of live lots", f"""SELECT count(*) FROM (SELECT listings.id FROM listings WHERE {LIVE}
        LIMIT 10001) AS anon"""),
    ("search page, one handle", f"""SELECT listings.id FROM listings WHERE {LIVE}
        AND listings.handle_name LIKE '%user777777%' ORDER BY listings.ends_at ASC NULLS LAST, listings.id ASC LIMIT 24"""),
    ("search capped count, many matches", f"""SELECT count(*) FROM (SELECT listings.id FROM listings WHERE {LIVE}
        AND listings.handle_name LIKE '%ser12%' LIMIT 10001) AS anon"""),
    ("API page, price desc", f"""SELECT listings.id FROM listings WHERE {LIVE}
        ORDER BY listings.current_price_cents DESC, listings.id DESC LIMIT 50"""),
]


def explain(url: str) -> None:
    """Print EXPLAIN ANALYZE of the market page's statements (the profile evidence)."""
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            for label, sql in EXPLAIN:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + sql)
                print(f"-- {label}\n" + "\n".join("   " + r[0] for r in cur.fetchall()), flush=True)
    finally:
        conn.close()


def timed_get(url: str) -> tuple[float, int]:
    """One GET: (milliseconds, status)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        status = response.status
    return (time.perf_counter() - started) * 1000, status


def main() -> list[dict]:
    """Fill the catalog, start one gunicorn worker, time each query."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--explain", action="store_true", help="print the market page's query plans")
    args = parser.parse_args()
    results = []
    with ScratchDatabase("catalog") as db:
        seconds = fill(db.url, args.rows)
        print(f"catalog: {args.rows:,} handles and listings inserted in {seconds:.1f}s", flush=True)
        if args.explain:
            explain(db.url)
        server = gunicorn("catalog-gunicorn", server_env(db.url)).start()
        try:
            for label, path in QUERIES:
                for _ in range(3):
                    timed_get(server.url + path)  # warm the caches and the connection pool
                times = []
                for _ in range(args.requests):
                    ms, status = timed_get(server.url + path)
                    assert status == 200, (path, status)
                    times.append(ms)
                row = {"query": label, "path": path, "p50_ms": percentile(times, 50),
                       "p95_ms": percentile(times, 95), "rows": args.rows}
                print(f"catalog {label} ({path}): p50 {row['p50_ms']:.1f} ms p95 {row['p95_ms']:.1f} ms", flush=True)
                results.append(row)
        finally:
            server.stop()
    return results


if __name__ == "__main__":
    emit_result(main())
