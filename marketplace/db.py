"""One transaction per use case, and the database settings both backends need."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

# SQLite has no row locks: the embedded run (one process) serialises writers with this lock.
# Under gevent it is monkey-patched into a cooperative lock.
_sqlite_write_lock = threading.RLock()


def is_sqlite() -> bool:
    """Say whether the bound database is SQLite."""
    return db.engine.dialect.name == "sqlite"


@contextmanager
def transaction(publisher=None):
    """Run a use case in one transaction; publish its events only after commit."""
    session = db.session
    lock = _sqlite_write_lock if is_sqlite() else None
    if lock is not None:
        lock.acquire()
    try:
        try:
            if lock is not None:
                _begin_immediate(session)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            if publisher is not None:
                publisher.discard()
            raise
    finally:
        if lock is not None:
            lock.release()
    if publisher is not None:
        publisher.flush()


def _begin_immediate(session) -> None:
    """On SQLite, take the database's write lock before the use case reads anything.

    The process lock serialises this process's writers; another process on the same file (a web
    process beside `make serve-worker`, a CLI) is only kept out by SQLite's own lock. Taken at
    once, its reads see every earlier writer's commit, as FOR UPDATE does on PostgreSQL: two
    processes can never both find an order unpaid and both charge it. A connection already in a
    transaction (a write made before the use case began) keeps that one.
    """
    raw = session.connection().connection.dbapi_connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


def lock_for_update(query, skip_locked: bool = False):
    """Add FOR UPDATE on PostgreSQL (SQLite relies on the process lock above).

    populate_existing: a row already in the session is overwritten with what was just read
    under the lock, never used stale.
    """
    query = query.execution_options(populate_existing=True)
    if is_sqlite():
        return query
    return query.with_for_update(skip_locked=skip_locked)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets readers run beside the writer; a busy timeout rides out a CLI writing."""
    module = type(dbapi_connection).__module__
    if "sqlite" not in module:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
