"""The worker loop: closes due lots, tells watchers of lots about to end, settles orders, reconciles
with Stripe, sweeps inactive accounts and sends the email outbox."""
from __future__ import annotations

import logging
import threading
import time

from .extensions import db

log = logging.getLogger(__name__)
RECONCILE_EVERY_SECONDS = 60.0


class Worker:
    """Runs the periodic jobs; safe to run in several processes at once."""

    def __init__(self, app, stop: threading.Event | None = None):
        self.app = app
        self.interval = app.config.get("WORKER_INTERVAL_SECONDS", 0.25)
        self.stop = stop or threading.Event()
        self._next_reconcile = 0.0
        # The release sweep: first a while after start, then every SWEEP_INTERVAL_SECONDS; an
        # unfinished run continues on the next pass (a few batches a pass, so lots still close on time).
        self.sweep_interval = float(app.config.get("SWEEP_INTERVAL_SECONDS", 0) or 0)
        self._next_sweep = time.monotonic() + min(self.sweep_interval, 60.0)

    def run_once(self) -> int:
        """One pass of every job; returns how many lots were closed."""
        from .services.outbox import send_pending
        from .wiring import closing, offers, settlement
        with self.app.app_context():
            try:
                closed = closing().close_due()
                offers().expire_due()  # offers past their 48 hours, or on lots no longer for sale
                from .wiring import watch_endings
                watch_endings().notify_due()  # watchers of lots about to end, once per watch
                if self.app.config.get("STRIPE_API_BASE") or self.app.config.get("STRIPE_SECRET_KEY"):
                    settlement().run_once()
                    self._reconcile()
                self._sweep()
                from .wiring import inquiries
                inquiries().answer_due()  # the inquiry assistant: a bounded batch, oldest first
                send_pending()  # the email outbox; does nothing without SMTP settings
                return closed
            finally:
                db.session.remove()

    def _sweep(self) -> None:
        """Run a few batches of the release sweep when one is due or unfinished."""
        if self.sweep_interval <= 0 or time.monotonic() < self._next_sweep:
            return
        from .wiring import release
        run = release().run(max_batches=self.app.config.get("SWEEP_BATCHES_PER_PASS", 20))
        if run.finished_at is not None:
            self._next_sweep = time.monotonic() + self.sweep_interval
            log.info("release sweep #%s finished: %s", run.id, {"flagged": run.flagged, "released": run.released})

    def _reconcile(self) -> None:
        """Now and then (it lists intents at Stripe), make card holds and organisations' subscriptions agree with Stripe."""
        if time.monotonic() < self._next_reconcile:
            return
        self._next_reconcile = time.monotonic() + RECONCILE_EVERY_SECONDS
        from .services.reconcile import Reconciler
        from .wiring import clock, gateway
        done = Reconciler(db.session, clock(), gateway()).run_once()
        from .wiring import organisations
        done["subscriptions_changed"] = organisations().refresh_due()
        if any(done.values()):
            log.info("reconciled with Stripe: %s", done)

    def run_forever(self) -> None:
        """Loop until stopped; a failing pass is logged and retried, never fatal."""
        log.info("worker started (every %.2fs)", self.interval)
        while not self.stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the loop must survive a database blip
                log.exception("worker pass failed; retrying")
                time.sleep(min(5.0, self.interval * 10))
            time.sleep(self.interval)
