"""SQLite with more than one process (a web process beside `make serve-worker`): a use case's
transaction takes the file's write lock before it reads, so it waits for another process's
writer and then sees its commit, as FOR UPDATE does on PostgreSQL. Without it, both could read
an order as unpaid and both charge it."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import select

from marketplace.db import lock_for_update, transaction
from marketplace.extensions import db
from marketplace.models import Order, OrderStatus
from marketplace.services.settlement import open_order
from marketplace.wiring import clock
from tests.factories import make_auction, make_user


@pytest.fixture
def backend():
    """SQLite only: PostgreSQL has row locks."""
    return "sqlite"


def test_a_use_case_waits_for_another_processes_writer_and_reads_its_commit(app, sqlite_url):
    lot = make_auction()
    buyer = make_user()
    order = open_order(db.session, lot, buyer.id, 100_000, "auction", clock().now(), 1_000)
    db.session.commit()
    order_id = order.id

    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=10, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's settlement step, mid-way
    other.execute("UPDATE orders SET status = 'paid' WHERE id = ?", (order_id,))
    seen = {}

    def step():
        with app.app_context():
            with transaction():
                row = db.session.execute(lock_for_update(select(Order).where(Order.id == order_id))).scalar_one()
                seen["status"], seen["at"] = row.status, time.monotonic()

    worker = threading.Thread(target=step)
    worker.start()
    time.sleep(0.5)
    committed_at = time.monotonic()
    other.execute("COMMIT")
    other.close()
    worker.join(15)
    assert seen["status"] == OrderStatus.PAID  # it saw the other process's charge, not the stale state
    assert seen["at"] >= committed_at  # and it waited for it
