"""The handle registry: the platform's accounts and the handles they hold, behind one interface.

The embedded default keeps them in our own database; a deployment for a real platform swaps in
an adapter with the same methods.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .errors import BadRequest, Conflict
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
    held_until: datetime | None = None  # a buyer's previous handle, kept for them until then
    held_back: bool = False  # released but held back for admins (protected names)


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
        return HandleInfo(row.id, row.name, row.display, row.account_id is None, row.protected, owner,
                          row.held_until, row.held_back_at is not None)

    def record_activity(self, account_id: int, now: datetime) -> bool:
        """The account was active at `now`; True when that keeps a handle in its grace period.

        Activity during grace clears the release flag (the owner keeps the handle).
        """
        account = self._session.get(PlatformAccount, account_id)
        if account is None:
            return False
        if account.last_active_at is None or account.last_active_at < now:
            account.last_active_at = now
        kept = account.flagged_at is not None and account.released_at is None
        if kept:
            account.flagged_at = account.release_due_at = account.reminded_at = None
            account.kept_at = now
        self._session.flush()
        return kept

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

    def bio_contains(self, handle_id: int, code: str) -> bool:
        """Whether the bio of the account holding a handle shows `code` (case ignored)."""
        row = self._session.get(Handle, handle_id)
        bio = row.account.bio if row is not None and row.account is not None else None
        return bool(bio and code and code.casefold() in bio.casefold())

    def set_bio(self, handle_id: int, bio: str) -> None:
        """Write the bio of the account holding a handle (the platform's profile editor)."""
        row = self._session.get(Handle, handle_id)
        if row is None or row.account is None:
            raise BadRequest("handle_not_held", "No account holds this handle.")
        row.account.bio = bio[:160] or None
        self._session.flush()

    def link_account(self, handle_id: int, user_id: int) -> PlatformAccount:
        """Link the account holding a handle to the marketplace user who proved they hold it."""
        row = self._session.get(Handle, handle_id)
        if row is None or row.account is None:
            raise Conflict("handle_not_held", "No account holds this handle.")
        row.account.user_id = user_id
        self._session.flush()
        return row.account

    def give_back(self, handle_id: int, user_id: int, now: datetime) -> PlatformAccount:
        """Put a handle kept for a user (swapped out of their account by a purchase) into a new
        account of theirs: their bought handle stays where it is, and both are theirs."""
        row = self._session.get(Handle, handle_id)
        if row is None or row.account_id is not None or row.held_for_user_id != user_id:
            raise Conflict("handle_not_kept", "This handle is not kept for you.")
        account = PlatformAccount(user_id=user_id, last_active_at=now, created_at=now)
        self._session.add(account)
        self._session.flush()
        row.account_id = account.id
        row.held_for_user_id = row.held_until = row.released_at = None
        self._session.flush()
        return account

    def add_released(self, handle: str, now: datetime, protected: bool = False) -> Handle:
        """Put a handle straight into the platform's pool (seeding and tests)."""
        name, display = parse_handle(handle)
        row = Handle(name=name, display=display, account_id=None, released_at=now, protected=protected)
        self._session.add(row)
        self._session.flush()
        return row


class TransferFailed(Exception):
    """The registry could not move a handle (it is no longer the platform's to give)."""


def transfer_to_buyer(session, handle_id: int, buyer_id: int, now: datetime, hold_days: int = 30,
                      seller_id: int | None = None, own_account: bool = False) -> bool:
    """Move a sold handle to the buyer's platform account, in the caller's transaction.

    A platform lot's handle comes from the pool; a seller's lot's handle comes from the seller's
    linked account, and TransferFailed says the seller no longer holds it. The buyer's previous
    handle is held for them for `hold_days` (never dropped into the open pool, where it could be
    snatched). With `own_account` (an organisation, which runs an account per handle) the handle
    gets a new account of the buyer's and nothing is swapped out. Returns False when the buyer
    already holds it (a re-run).
    """
    from datetime import timedelta

    handle = session.get(Handle, handle_id)
    if handle.account is not None and handle.account.user_id == buyer_id:
        return False
    account = None if own_account else session.execute(
        select(PlatformAccount).where(PlatformAccount.user_id == buyer_id).order_by(PlatformAccount.id).limit(1)
    ).scalar_one_or_none()
    if seller_id is None and handle.account_id is not None:
        raise TransferFailed(f"@{handle.display} belongs to an account again; it cannot be transferred.")
    if seller_id is not None and (handle.account is None or handle.account.user_id != seller_id):
        raise TransferFailed(f"The seller no longer holds @{handle.display}; it cannot be transferred.")
    if account is None:
        account = PlatformAccount(user_id=buyer_id, last_active_at=now, created_at=now)
        session.add(account)
        session.flush()
    for previous in session.execute(select(Handle).where(Handle.account_id == account.id)).scalars():
        previous.account_id = None
        previous.held_for_user_id = buyer_id
        previous.held_until = now + timedelta(days=hold_days)
        previous.released_at = now
    handle.account_id = account.id
    handle.held_for_user_id = None
    handle.held_until = None
    account.last_active_at = now
    session.flush()
    return True
