"""The embedded run: `python -m marketplace` serves the app with gevent on one process.

Monkey-patching must happen before anything else imports sockets or threads.
"""
from gevent import monkey

monkey.patch_all()

from marketplace.dbwait import make_psycopg_cooperative  # noqa: E402

make_psycopg_cooperative()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
# bandit: subprocess only starts our own fake Stripe server (start_fake_stripe).
import subprocess  # noqa: E402  # nosec B404
import sys  # noqa: E402
import time  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.extensions import socketio  # noqa: E402

log = logging.getLogger("marketplace.serve")
_children: list[subprocess.Popen] = []
# bandit: the development webhook secret, published in the README; production sets its own.
DEV_WEBHOOK_SECRET = "whsec_localstripe_dev"  # nosec B105


def _stop(signum, frame):
    """On SIGTERM or Ctrl-C, stop the fake Stripe server too, then exit."""
    for child in _children:
        child.terminate()
    for child in _children:
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
    os._exit(0)


def _wait_for_port(host: str, port: int, seconds: float) -> bool:
    """Wait until something listens on host:port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.1)
    return False


def start_fake_stripe(port: int) -> str:
    """Start localstripe as a child process on 127.0.0.1 and return its base URL."""
    # bandit: a fixed argv (this Python, our module, a number), no shell.
    proc = subprocess.Popen([sys.executable, "-m", "devsupport.fake_stripe", "--port", str(port)])  # nosec B603
    _children.append(proc)
    if not _wait_for_port("127.0.0.1", port, 15):
        raise SystemExit(f"the fake Stripe server did not start on port {port}")
    log.info("fake Stripe server (localstripe) on http://127.0.0.1:%s", port)
    return f"http://127.0.0.1:{port}"


def register_dev_webhook(app) -> None:
    """Have the fake Stripe server deliver its events to our webhook endpoint, signed with the dev secret."""
    from marketplace.payments.gateway import PaymentError
    from marketplace.wiring import gateway

    url = f"http://127.0.0.1:{app.config['PORT']}/webhooks/stripe"
    with app.app_context():
        try:
            gateway().register_dev_webhook(url, app.config["STRIPE_WEBHOOK_SECRET"])
        except PaymentError as exc:  # the worker reconciles anyway; webhooks only speed it up
            log.warning("could not register the development webhook: %s", exc)


def main() -> None:
    """Start the fake Stripe server if needed, make sure the admin and demo data exist, serve."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    overrides = {"SOCKETIO_ASYNC_MODE": "gevent"}
    if not os.environ.get("STRIPE_SECRET_KEY") and not os.environ.get("STRIPE_API_BASE"):
        overrides["STRIPE_API_BASE"] = start_fake_stripe(int(os.environ.get("LOCALSTRIPE_PORT", "8420")))
        # bandit: localstripe accepts any key; this one is public by design.
        overrides["STRIPE_SECRET_KEY"] = "sk_test_localstripe"  # nosec B105
        overrides["STRIPE_PUBLISHABLE_KEY"] = "pk_test_localstripe"
        overrides["STRIPE_WEBHOOK_SECRET"] = os.environ.get("STRIPE_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET
    app = create_app(overrides)
    if "STRIPE_WEBHOOK_SECRET" in overrides:
        register_dev_webhook(app)
    with app.app_context():
        from marketplace.wiring import accounts
        accounts().ensure_admin(app.config["ADMIN_EMAIL"], app.config["ADMIN_PASSWORD"])
        if app.config["DEMO_DATA"]:
            from marketplace.demo import seed
            log.info(seed())
    if app.config["RUN_WORKER"]:
        from marketplace.worker import Worker
        socketio.start_background_task(Worker(app).run_forever)
    host = os.environ.get("HOST", "127.0.0.1")
    log.info("Handle Exchange on http://%s:%s (admin: %s)", host, app.config["PORT"], app.config["ADMIN_EMAIL"])
    socketio.run(app, host=host, port=app.config["PORT"], use_reloader=False, log_output=False)


if __name__ == "__main__":
    main()
