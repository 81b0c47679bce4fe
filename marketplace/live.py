"""Live events: services queue them during a transaction; they go out only after commit."""
from __future__ import annotations

import logging
from typing import Protocol

import socketio

log = logging.getLogger(__name__)


def lot_room(lot_id: int) -> str:
    """The room of everyone watching a lot."""
    return f"listing:{lot_id}"


def user_room(user_id: int) -> str:
    """A user's private room."""
    return f"user:{user_id}"


class PublishFirstRedisManager(socketio.RedisManager):
    """python-socketio's Redis manager, telling the other processes before this one's own clients.

    The library's `emit` hands the event to every local client of the room first and publishes it
    to Redis after; with thousands watching a lot, the other processes wait for that loop.
    Publishing first lets every process deliver at once.
    Relies on `PubSubManager.emit` calling `_handle_emit(message)` then `_publish(message)` with one
    dict (python-socketio 5.x); tests/integration/test_socket_queue.py pins the order.
    """

    _PUBLISHED = "hx_published"

    def _handle_emit(self, message):
        if message.get("host_id") == self.host_id and not message.get(self._PUBLISHED):
            message[self._PUBLISHED] = True  # emitted here: the other processes hear of it first
            super()._publish(message)
        super()._handle_emit(message)

    def _publish(self, data):
        if data.get(self._PUBLISHED):
            return  # published before the local delivery
        super()._publish(data)


class Sink(Protocol):
    """Where published events go (Socket.IO in the app, a list in tests)."""

    def emit(self, event: str, payload: dict, room: str) -> None:
        """Send one event to a room."""


class SocketIOSink:
    """Emits through Flask-SocketIO (through Redis when a message queue is configured)."""

    def __init__(self, socketio):
        self._socketio = socketio

    def emit(self, event: str, payload: dict, room: str) -> None:
        """Emit to the room; a broken broadcast must never undo a committed bid."""
        try:
            self._socketio.emit(event, payload, to=room)
        except Exception:  # noqa: BLE001 - logged; clients catch up by seq
            log.exception("could not broadcast %s to %s", event, room)


class RecordingSink:
    """Keeps what was emitted, for tests and for a worker with no server attached."""

    def __init__(self):
        self.sent: list[tuple[str, dict, str]] = []

    def emit(self, event: str, payload: dict, room: str) -> None:
        """Remember the event."""
        self.sent.append((event, payload, room))


class Publisher:
    """Collects events during one transaction and sends them after it commits."""

    def __init__(self, sink: Sink):
        self._sink = sink
        self._pending: list[tuple[str, dict, str]] = []

    def to_lot(self, lot_id: int, event: str, payload: dict) -> None:
        """Queue an event for a lot's watchers."""
        self._pending.append((event, payload, lot_room(lot_id)))

    def to_user(self, user_id: int, event: str, payload: dict) -> None:
        """Queue a private event for one user."""
        self._pending.append((event, payload, user_room(user_id)))

    def flush(self) -> None:
        """Send what was queued (call after commit)."""
        pending, self._pending = self._pending, []
        for event, payload, room in pending:
            self._sink.emit(event, payload, room)

    def discard(self) -> None:
        """Forget what was queued (the transaction rolled back)."""
        self._pending = []
