"""Hot lot: 64 bidders (each their own user and bearer token) bid over HTTP on one lot through
the production shape (gunicorn, gevent WebSocket workers, PostgreSQL scratch database) for a fixed
time; then the stored lot is checked against a serial replay of its bid history through the engine.

Card holds are OFF (MARKETPLACE_CARD_HOLDS=0): this measures the bid transaction, not Stripe.
Usage: .venv/bin/python benchmarks/hotlot.py [--seconds 10] [--bidders 64] [--workers 2] [--profile]
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ScratchDatabase, app_for, emit_result, gunicorn, run_node, server_env  # noqa: E402

START_CENTS = 100_000


def seed(url: str, bidders: int) -> tuple[int, list[str], object]:
    """Admin, bidders with tokens, and one live auction ending in a day; returns the engine's start state."""
    app = app_for(url)
    with app.app_context():
        from marketplace.extensions import db
        from marketplace.models import Role
        from marketplace.registry import DatabaseRegistry
        from marketplace.services.lots import auction_of
        from marketplace.wiring import accounts, clock, listings

        admin = accounts().register("bench-admin@example.com", "bench-password-123", "Admin",
                                    roles=(Role.BUYER, Role.ADMIN))
        tokens = []
        for i in range(bidders):
            user = accounts().register(f"bidder{i}@example.com", "bench-password-123", f"Bidder {i}")
            tokens.append(accounts().issue_token(user))
        DatabaseRegistry(db.session).add_released("hotlot", clock().now() - timedelta(days=31))
        db.session.commit()
        lot = listings().create(admin, {"handle": "hotlot", "kind": "auction", "start_price_cents": START_CENTS,
                                        "soft_close_seconds": 300,
                                        "ends_at": (clock().now() + timedelta(days=1)).isoformat()})
        initial = auction_of(lot, [])
        lot_id = lot.id
        db.session.remove()
        db.engine.dispose()
    return lot_id, tokens, initial


def verify(url: str, lot_id: int, initial, accepted: int) -> tuple[bool, str]:
    """The stored lot equals the engine's serial replay of the stored history, and every accepted
    answer is one history entry."""
    import auctions

    app = app_for(url)
    with app.app_context():
        from sqlalchemy import select

        from marketplace.clock import iso
        from marketplace.extensions import db
        from marketplace.models import Bid, Listing, ProxyBid
        from marketplace.services.bidding import GENESIS_HASH, chain_hash
        from marketplace.services.lots import auction_of

        listing = db.session.get(Listing, lot_id)
        proxies = list(db.session.execute(select(ProxyBid).where(ProxyBid.listing_id == lot_id)).scalars())
        bids = list(db.session.execute(select(Bid).where(Bid.listing_id == lot_id).order_by(Bid.seq)).scalars())
        replayed = auctions.replay(initial, [(b.bidder_id, b.max_cents, b.at) for b in bids])
        problems = []
        if auction_of(listing, proxies) != replayed:
            problems.append("stored lot != replay")
        if len(bids) != accepted or listing.bid_count != accepted:
            problems.append(f"history {len(bids)} / bid_count {listing.bid_count} != accepted answers {accepted}")
        prev = GENESIS_HASH
        for b in bids:
            if b.prev_hash != prev or b.hash != chain_hash(prev, b.seq, b.alias, b.amount_cents, iso(b.at)):
                problems.append(f"hash chain broken at {b.seq}")
                break
            prev = b.hash
        state = initial
        for b in bids:
            state = auctions.place_bid(state, b.bidder_id, b.max_cents, b.at).lot
            if b.amount_cents != state.current_price_cents:
                problems.append(f"history entry {b.seq} shows {b.amount_cents}, replay {state.current_price_cents}")
                break
        db.session.remove()
        db.engine.dispose()
    return not problems, "; ".join(problems) or "ok"


def main() -> dict:
    """Run the hot-lot benchmark once and return its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--bidders", type=int, default=64)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_HOT_WORKERS", "2")))
    parser.add_argument("--profile", action="store_true", help="profile one worker with pyinstrument")
    parser.add_argument("--spread", type=int, default=4,
                        help="each bid names the last minimum heard of plus 0 to SPREAD-1 increments")
    args = parser.parse_args()
    with ScratchDatabase("hotlot") as db:
        lot_id, tokens, initial = seed(db.url, args.bidders)
        extra = {"BENCH_PROFILE": "/tmp/hx-bench/hotlot-profile"} if args.profile else {}
        server = gunicorn("hotlot-gunicorn", server_env(db.url, **extra), workers=args.workers).start()
        try:
            cpu0 = server.cpu_seconds()
            figures = run_node("hotlot_client.js", {"url": server.url, "lot_id": lot_id, "tokens": tokens,
                                                    "seconds": args.seconds, "start_cents": START_CENTS,
                                                    "spread": args.spread},
                               timeout=args.seconds + 120)
            cpu = server.cpu_seconds() - cpu0
        finally:
            server.stop()
        consistent, detail = verify(db.url, lot_id, initial, figures["accepted"])
    figures.update(consistent=consistent, detail=detail, workers=args.workers, bidders=args.bidders,
                   server_cpu_s=round(cpu, 1), card_holds=False, spread=args.spread,
                   cpu_ms_per_bid=round(1000 * cpu / max(figures["attempts"], 1), 2))
    print(f"hot lot: {args.bidders} bidders, {args.workers} gunicorn workers, card holds OFF, spread {args.spread}, "
          f"{figures['elapsed']:.1f}s: {figures['accepted_per_s']:.0f} accepted bids/s "
          f"({figures['accepted']} accepted, refused {figures['refused']}, errors {figures['errors']}; "
          f"{figures['attempts_per_s']:.0f} handled/s, {figures['cpu_ms_per_bid']} ms server CPU each), "
          f"latency p50 {figures['p50_ms']:.1f} ms p95 {figures['p95_ms']:.1f} ms p99 {figures['p99_ms']:.1f} ms, "
          f"server CPU {cpu:.1f}s; consistent: {'yes' if consistent else 'no'} ({detail})")
    return figures


if __name__ == "__main__":
    emit_result(main())
