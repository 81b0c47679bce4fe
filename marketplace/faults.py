"""Fault injection for the crash-safety tests, inert unless asked for.

`MARKETPLACE_CRASH_AT=<point>` makes the process kill itself with SIGKILL when it reaches that
point (no cleanup, no rollback, no flush: what a power cut or the OOM killer does). The tests
start a real worker with it, then a clean one, and check that nothing was taken or moved twice.
Production refuses to start with it set (config.check_production).
"""
from __future__ import annotations

import os
import signal

# Settlement steps (the worker) and the bid transaction (a server).
POINTS = ("after_capture", "after_charge", "mid_transfer", "after_payout")
BID_POINTS = ("mid_bid", "after_bid_commit")


def crash_point(name: str) -> None:
    """Die here, at once, if this is the point the environment names."""
    if os.environ.get("MARKETPLACE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
