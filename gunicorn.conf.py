"""gunicorn settings for the production shape (`make serve-prod`): gevent WebSocket workers.

Every value comes from the environment, like the app's own settings (README, "Production shape").
gunicorn's gevent worker monkey-patches the process itself before it imports `wsgi:app`; the
PostgreSQL driver is made cooperative here, once per worker process.
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
# One worker per gunicorn by default: each worker is its own Socket.IO server, and gunicorn hands
# connections to its workers at random, which breaks long-polling sessions. Run one gunicorn per
# port (or per machine) behind a sticky proxy instead; WebSocket-only deployments may raise this.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "10000"))
timeout = 60  # the gevent worker's heartbeat; long-lived sockets are not affected
graceful_timeout = 20
keepalive = 75  # longer than the proxy's upstream keepalive, so the proxy closes first
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for stdout; off by default (costs CPU)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "handle-exchange"
# gunicorn's control socket has one default path per user, which several gunicorns on one machine
# (one per port, as recommended) would fight over: off unless a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# A small database pool per process (see marketplace/config.py); overridable per deployment. A
# worker is one core: more connections add no throughput, only more transactions queued on a hot
# row's lock (hot lot, benchmarks/README.md: 3 + 0 gave ~66 accepted bids/s, 4 + 4 ~47, 8 + 8 36).
os.environ.setdefault("DATABASE_POOL_SIZE", "3")
os.environ.setdefault("DATABASE_MAX_OVERFLOW", "0")


# How long a worker waits for PostgreSQL's answer before letting its other greenlets run (ms).
# Most of our statements are answered in well under a millisecond; yielding at each one sends the
# request to the back of the process's run queue, behind every socket writer that a broadcast
# woke (a bid under 3,000 watchers took ~110 ms to answer, ~45 ms with this at 1: benchmarks/README.md).
# A slower statement (a lock wait, a report) still yields after this long. 0: always yield at once.
os.environ.setdefault("DATABASE_WAIT_SPIN_MS", "1")


def cooperative_wait(spin_seconds: float):
    """A psycopg2 wait callback for gevent: wait up to `spin_seconds` for the server's answer
    without switching greenlets (the process does nothing else meanwhile), then yield like
    psycogreen's callback until it comes."""
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
                if not (spin_seconds and blocking_select([conn.fileno()], [], [], spin_seconds)[0]):
                    wait_read(conn.fileno(), timeout=timeout)
            elif state == extensions.POLL_WRITE:
                wait_write(conn.fileno(), timeout=timeout)
            else:
                raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")

    return wait


def post_fork(server, worker):
    """Make psycopg2 cooperate with gevent (`cooperative_wait`); keep gevent-websocket's
    per-request log lines (INFO) out, gunicorn's access log is the switch for those."""
    import logging

    from psycopg2 import extensions

    extensions.set_wait_callback(cooperative_wait(float(os.environ["DATABASE_WAIT_SPIN_MS"]) / 1000))
    logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
