"""Start and stop real server processes (`python -m marketplace`) for multi-process tests.

Each server writes its output to a log file so a failing test can show what the server said.
Stopping is always terminate, wait, then kill, and every file and pipe is closed, since pytest
runs with warnings as errors (a leaked file or a still-running child is a ResourceWarning).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(method: str, url: str, payload: dict | None = None, token: str | None = None,
              timeout: float = 10) -> tuple[int, dict]:
    """Send a JSON request and return (status, JSON body); HTTP errors are answers, not raises."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, {"raw": raw.decode(errors="replace")[:2000]}


class ServerProcess:
    """One `python -m marketplace` process on a loopback port, logging to a file."""

    def __init__(self, name: str, log_dir: Path, env: dict[str, str], port: int | None = None,
                 args: tuple[str, ...] = ("-m", "marketplace")):
        self.name = name
        self.args = args  # e.g. ("-m", "flask", "--app", "wsgi", "worker") for a worker process
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"server-{name}.log"
        self.env = {**os.environ, **env, "PORT": str(self.port), "HOST": "127.0.0.1",
                    "PYTHONUNBUFFERED": "1"}
        self.env.pop("MARKETPLACE_ENV", None)  # never the production checks in tests
        # Servers in tests sign in and bid faster than people (a test may turn limits on with "1").
        self.env.setdefault("MARKETPLACE_RATELIMIT", "0")
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> ServerProcess:
        """Start the process (it serves once `wait_ready` says so)."""
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, *self.args], cwd=ROOT, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, seconds: float = 20) -> None:
        """Wait until GET /healthz answers 200; fail at once if the process died."""
        deadline = time.monotonic() + seconds
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.proc.returncode} before it was ready:\n"
                                   + self.log_text())
            try:
                status, body = http_json("GET", self.url + "/healthz", timeout=2)
                if status == 200 and body == {"ok": True}:
                    return
                last = f"{status} {body}"
            except OSError as exc:
                last = f"{exc.__class__.__name__}: {exc}"
            time.sleep(0.1)
        raise RuntimeError(f"server {self.name} on {self.url} not ready after {seconds}s ({last}):\n"
                           + self.log_text())

    def log_text(self) -> str:
        """What the server has written so far."""
        if self._log is not None and not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"

    def stop(self, grace: float = 5) -> int | None:
        """Terminate, wait, then kill if needed; always reap the child and close the log."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(grace)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(grace)
            return self.proc.returncode if self.proc is not None else None
        finally:
            if self._log is not None:
                self._log.close()


def stop_all(servers: list[ServerProcess]) -> None:
    """Stop every server, even when stopping one of them fails."""
    errors = []
    for server in servers:
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001 - stop the others, then report
            errors.append(f"{server.name}: {exc!r}")
    if errors:
        raise RuntimeError("could not stop servers: " + "; ".join(errors))


class TcpProxy:
    """A loopback TCP proxy that can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Drop every connection and refuse new ones, as a database that went down."""
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
