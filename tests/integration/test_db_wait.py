"""The gevent processes' psycopg2 wait callback (marketplace/dbwait.py), on a real PostgreSQL,
with gevent greenlets.

A statement answered within the spin is waited for without switching greenlets (so a request is
not sent behind every socket writer a broadcast woke); a slower one lets the other greenlets run
after the spin, as psycogreen's callback does, so sockets never stall on a slow statement.
"""
from __future__ import annotations

import pytest

from marketplace.dbwait import cooperative_wait
from tests.support import PG_URL, need, postgres_problem

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def connection():
    need("PostgreSQL", postgres_problem())
    import psycopg2
    from psycopg2 import extensions

    conn = psycopg2.connect(PG_URL.replace("postgresql+psycopg2://", "postgresql://"))
    conn.autocommit = True
    yield conn, extensions
    extensions.set_wait_callback(None)
    conn.close()


def switches_while(connection, spin_seconds: float, sql: str) -> tuple[int, object]:
    """Run `sql` under the callback while another greenlet counts each time it gets to run."""
    import gevent

    conn, extensions = connection
    extensions.set_wait_callback(cooperative_wait(spin_seconds))
    ran = 0

    def other():
        nonlocal ran
        while True:
            ran += 1
            gevent.sleep(0)  # ready again at once: any yield lets it run

    background = gevent.spawn(other)
    gevent.sleep(0)  # it runs once now; count only what happens during the statement
    before = ran
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    during = ran - before
    background.kill()
    return during, row


def test_a_quick_statement_is_waited_for_without_switching(connection):
    during, row = switches_while(connection, 0.5, "SELECT 41 + 1")
    assert row == (42,)
    assert during == 0, "the other greenlet ran while a quick statement was waited for"


def test_a_slow_statement_lets_the_other_greenlets_run_after_the_spin(connection):
    during, row = switches_while(connection, 0.01, "SELECT pg_sleep(0.3), 7")
    assert row[1] == 7
    assert during >= 10, f"the other greenlet ran {during} times in 0.3 s of waiting"


def test_without_a_spin_every_wait_yields(connection):
    during, row = switches_while(connection, 0, "SELECT pg_sleep(0.1), 8")
    assert row[1] == 8
    assert during >= 3
