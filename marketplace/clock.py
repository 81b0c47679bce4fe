"""Injectable clocks: the app reads time only through one of these."""
import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The real time, always timezone-aware UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, at: datetime):
        self._at = at
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the frozen time."""
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        """Jump to a given time."""
        with self._lock:
            self._at = at

    def advance(self, seconds: float = 0, **kwargs) -> datetime:
        """Move forward and return the new time."""
        with self._lock:
            self._at = self._at + timedelta(seconds=seconds, **kwargs)
            return self._at


def to_utc(value: datetime | None) -> datetime | None:
    """Treat naive datetimes from the database as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """Format as the API does: ISO 8601 UTC with a Z and millisecond precision."""
    value = to_utc(value)
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
