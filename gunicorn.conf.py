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


def post_fork(server, worker):
    """Make psycopg2 cooperate with gevent (marketplace/dbwait.py: a short blocking wait, then
    yield); keep gevent-websocket's per-request log lines (INFO) out, gunicorn's access log is the
    switch for those."""
    import logging

    from marketplace.dbwait import make_psycopg_cooperative

    make_psycopg_cooperative()
    logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
