"""How a gevent process waits for PostgreSQL (psycopg2's wait callback).

Imported by `gunicorn.conf.py` and `python -m marketplace` before the app, so it imports nothing
from the app, and psycopg2 and gevent only when called.
"""
from __future__ import annotations

import os

# How long a process waits for PostgreSQL's answer before letting its other greenlets run (ms).
# Most of our statements are answered in well under a millisecond; yielding at each one sends the
# request to the back of the process's run queue, behind every socket writer that a broadcast
# woke (a bid under 3,000 watchers took ~110 ms to answer, ~45 ms with this at 1:
# benchmarks/README.md). A slower statement (a lock wait, a report) still yields after this long.
# 0: always yield at once (psycogreen's callback).
SPIN_MS_DEFAULT = "1"


def cooperative_wait(spin_seconds: float):
    """A psycopg2 wait callback for gevent: wait up to `spin_seconds` for the server's answer
    without switching greenlets (the process does nothing else meanwhile), then yield like
    psycogreen's callback until it comes."""
    import psycogreen.gevent

    if not spin_seconds:
        return psycogreen.gevent.gevent_wait_callback

    import psycopg2
    from gevent.monkey import get_original
    from gevent.socket import wait_read, wait_write
    from psycopg2 import extensions

    blocking_select = get_original("select", "select")  # the OS's select, even once patched

    def wait(conn, timeout=None):
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                if not blocking_select([conn.fileno()], [], [], spin_seconds)[0]:
                    wait_read(conn.fileno(), timeout=timeout)
            elif state == extensions.POLL_WRITE:
                wait_write(conn.fileno(), timeout=timeout)
            else:
                raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")

    return wait


def make_psycopg_cooperative() -> None:
    """Install `cooperative_wait` with `DATABASE_WAIT_SPIN_MS` from the environment."""
    from psycopg2 import extensions

    spin_ms = float(os.environ.get("DATABASE_WAIT_SPIN_MS", SPIN_MS_DEFAULT))
    extensions.set_wait_callback(cooperative_wait(spin_ms / 1000))
