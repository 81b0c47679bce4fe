"""The handle registry: the platform's accounts and the handles they hold, behind one interface.

The embedded default keeps them in our own database; a deployment for a real platform swaps in
an adapter with the same methods.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .errors import BadRequest
from .extensions import db
from .models import Handle, PlatformAccount

HANDLE_PATTERN = re.compile(r"[A-Za-z0-9_]{1,15}")


def parse_handle(raw: object) -> tuple[str, str]:
    """Return (key, display) for a handle, or refuse it with a clear message.

    The platform's rule: 1–15 characters of A–Z, a–z, 0–9 and _, compared without case. A
    leading @ is allowed and dropped. Anything else, Unicode look-alikes and zero-width
    characters included, is refused, so no two handles can look the same.
    """
    if not isinstance(raw, str):
        raise BadRequest("invalid_handle", "A handle must be text.")
    text = raw.strip()
    if text.startswith("@"):
        text = text[1:]
    if not HANDLE_PATTERN.fullmatch(text):
        raise BadRequest(
            "invalid_handle",
            "A handle is 1 to 15 characters: letters A–Z, digits 0–9 and underscores only.",
        )
    return text.lower(), text


@dataclass(frozen=True)
class HandleInfo:
    """What the registry knows of one handle."""

    id: int
    name: str
    display: str
    released: bool
    protected: bool
    owner_user_id: int | None


class DatabaseRegistry:
    """The embedded registry, kept in our own tables."""

    def __init__(self, session=None):
        self._session = session or db.session

    def lookup(self, raw: str) -> HandleInfo | None:
        """Find a handle, whatever its casing."""
        name, _ = parse_handle(raw)
        row = self._session.execute(select(Handle).where(Handle.name == name)).scalar_one_or_none()
        if row is None:
            return None
        owner = row.account.user_id if row.account is not None else None
        return HandleInfo(row.id, row.name, row.display, row.account_id is None, row.protected, owner)

    def create_account(self, handle: str, now: datetime, user_id: int | None = None,
                       last_active_at: datetime | None = None) -> Handle:
        """Open a platform account holding a handle (seeding and tests)."""
        name, display = parse_handle(handle)
        account = PlatformAccount(user_id=user_id, last_active_at=last_active_at or now, created_at=now)
        self._session.add(account)
        self._session.flush()
        row = Handle(name=name, display=display, account_id=account.id)
        self._session.add(row)
        self._session.flush()
        return row

    def add_released(self, handle: str, now: datetime, protected: bool = False) -> Handle:
        """Put a handle straight into the platform's pool (seeding and tests)."""
        name, display = parse_handle(handle)
        row = Handle(name=name, display=display, account_id=None, released_at=now, protected=protected)
        self._session.add(row)
        self._session.flush()
        return row
