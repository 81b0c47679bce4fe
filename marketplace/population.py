"""A realistic population of platform accounts, for the release benchmark and the demo.

Set-based: INSERT ... SELECT FROM generate_series on PostgreSQL; executemany in chunks on SQLite.
Last activity is spread over two years, skewed towards recent days (about a quarter active within
30 days, a long tail of dormant accounts); about 2% of accounts are bots; one in 2,000 handles
is protected. Handles are
`p<id>` so a second run (new ids) never collides with the first.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from .models import Handle, PlatformAccount

SPAN_DAYS = 730
BOT_SHARE = 0.02
PROTECTED_EVERY = 2000


def seed_accounts(session, now: datetime, count: int, chunk: int = 10_000, on_chunk=None) -> int:
    """Add `count` accounts, each holding one handle; commits; returns how many were added."""
    start = (session.execute(select(func.max(PlatformAccount.id))).scalar() or 0) + 1
    if session.get_bind().dialect.name == "postgresql":
        _seed_postgresql(session, now, start, count, chunk, on_chunk)
    else:
        _seed_sqlite(session, now, start, count, chunk, on_chunk)
    return count


def _seed_postgresql(session, now, start, count, chunk, on_chunk) -> None:
    """generate_series per chunk: one statement each for accounts and handles."""
    naive_now = now.replace(tzinfo=None)
    for low in range(start, start + count, chunk):
        high = min(low + chunk, start + count) - 1
        params = {"low": low, "high": high, "now": naive_now, "span": SPAN_DAYS, "bots": BOT_SHARE}
        # power(random(), 2.2) puts most accounts near now and a long tail up to two years back.
        session.execute(text(
            "INSERT INTO platform_accounts (id, user_id, last_active_at, is_bot, created_at) "
            "SELECT g, NULL, :now - make_interval(secs => power(random(), 2.2) * :span * 86400), "
            "random() < :bots, :now - make_interval(days => :span) FROM generate_series(:low, :high) g"), params)
        session.execute(text(
            "INSERT INTO handles (name, display, account_id, protected) "
            "SELECT 'p' || g, 'p' || g, g, g % :every = 0 FROM generate_series(:low, :high) g"),
            {**params, "every": PROTECTED_EVERY})
        session.commit()
        if on_chunk is not None:
            on_chunk(high - low + 1)
    session.execute(text("SELECT setval(pg_get_serial_sequence('platform_accounts', 'id'), "
                         "(SELECT max(id) FROM platform_accounts))"))
    session.commit()


def _seed_sqlite(session, now, start, count, chunk, on_chunk) -> None:
    """executemany in chunks, with a seeded random spread."""
    # bandit: a seeded, repeatable spread of demo/benchmark data, nothing secret.
    rng = random.Random(start)  # nosec B311
    created = now - timedelta(days=SPAN_DAYS)
    accounts, handles = PlatformAccount.__table__, Handle.__table__
    for low in range(start, start + count, chunk):
        ids = range(low, min(low + chunk, start + count))
        session.execute(accounts.insert(), [
            {"id": i, "user_id": None, "is_bot": rng.random() < BOT_SHARE, "created_at": created,
             "last_active_at": now - timedelta(seconds=rng.random() ** 2.2 * SPAN_DAYS * 86400)} for i in ids])
        session.execute(handles.insert(), [
            {"name": f"p{i}", "display": f"p{i}", "account_id": i, "protected": i % PROTECTED_EVERY == 0}
            for i in ids])
        session.commit()
        if on_chunk is not None:
            on_chunk(len(ids))
