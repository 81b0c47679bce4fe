"""Shared helpers for the benchmarks: scratch databases, server processes, percentiles.

Benchmarks print figures; they are never collected by pytest (pyproject's testpaths is `tests`).
Everything runs on 127.0.0.1 and is bounded in time.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LOG_DIR = Path(os.environ.get("BENCH_LOG_DIR", "/tmp/hx-bench"))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values, or nan when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(round(p / 100 * len(ordered) + 0.4999)))
    return ordered[min(rank, len(ordered)) - 1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScratchDatabase:
    """A PostgreSQL database made for one benchmark and dropped afterwards."""

    def __init__(self, label: str):
        self.name = f"hx_bench_{label}_{uuid.uuid4().hex[:8]}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(PG_ADMIN_URL)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def __enter__(self) -> ScratchDatabase:
        self._admin(f'CREATE DATABASE "{self.name}"')
        # The schema comes from the models (create_all), not the migrations, so a benchmark also
        # runs while a model change waits for its migration; the tables and indexes are the same.
        app = app_for(self.url)
        with app.app_context():
            from marketplace.extensions import db

            db.create_all()
            db.engine.dispose()
        return self

    def __exit__(self, *exc) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def app_for(url: str, **overrides):
    """An app bound to the scratch database, for setting up data through the services."""
    from marketplace import create_app
    from marketplace.clock import SystemClock

    config = {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
              "DEMO_DATA": False, "RUN_WORKER": False, "CARD_HOLDS": False, "RATELIMIT_ENABLED": False, "CLOCK": SystemClock(), "REDIS_URL": None,
              "STRIPE_API_BASE": "http://127.0.0.1:9", "STRIPE_SECRET_KEY": "sk_test_unused", **overrides}
    return create_app(config)


def server_env(db_url: str, **extra: str) -> dict[str, str]:
    """The production shape's settings for a benchmark server: card holds and rate limits off (a
    hot lot's 64 bidders would hit the per-bidder limit of 30 bids a minute at once)."""
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "MARKETPLACE_RUN_WORKER": "0",
           "MARKETPLACE_DEMO_DATA": "0", "MARKETPLACE_CARD_HOLDS": "0", "MARKETPLACE_RATELIMIT": "0",
           "STRIPE_API_BASE": "http://127.0.0.1:9", "STRIPE_SECRET_KEY": "sk_test_unused",
           "SECRET_KEY": "bench-" + uuid.uuid4().hex, "GUNICORN_LOG_LEVEL": "warning",
           "PYTHONUNBUFFERED": "1", "SOCKETIO_CHANNEL": "hx-bench-" + uuid.uuid4().hex[:8], **extra}
    env.pop("MARKETPLACE_ENV", None)
    return env


class Server:
    """One server process (gunicorn, the bare relay, ...) on a loopback port, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int | None = None,
                 health: str = "/healthz"):
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.health = health
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        """Start the process and wait until it answers its health check."""
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + self.health, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def pids(self) -> list[int]:
        """The process and its children (gunicorn's workers)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [self.proc.pid] + [int(p) for p in out.stdout.split()]

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the process and its children."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return total

    def stop(self) -> None:
        """Terminate the process group, wait, then kill."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()


def gunicorn(name: str, env: dict[str, str], workers: int = 1) -> Server:
    """The production shape's web process: `gunicorn -c gunicorn.conf.py wsgi:app` (with a
    pyinstrument profile per worker when BENCH_PROFILE is set)."""
    conf = "benchmarks/gunicorn_profile.conf.py" if env.get("BENCH_PROFILE") else "gunicorn.conf.py"
    return Server(name, [str(BIN / "gunicorn"), "-c", conf, "-w", str(workers), "wsgi:app"], env)


def run_node(script: str, args: dict, timeout: float) -> dict:
    """Run a Node load generator; it prints one JSON object as its last line."""
    proc = subprocess.run(["node", str(ROOT / "benchmarks" / script), json.dumps(args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def emit_result(result: dict) -> None:
    """Print a benchmark's result as the last line, JSON, for run_all.py."""
    sys.stdout.flush()
    print("RESULT " + json.dumps(result), flush=True)
