"""A user's own handles: those in the platform accounts linked to them, and the previous handle a
purchase swapped out of their account, kept for them for 30 days (DESIGN.md section 5) so they can
take it back instead of seeing it go to the open pool."""
from __future__ import annotations

from sqlalchemy import select

from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import Conflict, NotFound
from ..models import Handle, User
from ..registry import DatabaseRegistry, parse_handle


def kept_for(session, user_id: int, now) -> list[Handle]:
    """Handles a purchase swapped out of the user's account, still kept for them at `now`."""
    return list(session.execute(
        select(Handle).where(Handle.held_for_user_id == user_id, Handle.account_id.is_(None),
                             Handle.held_until > now)
        .order_by(Handle.held_until, Handle.name)).scalars())


class HandleService:
    """Lists a user's handles and gives a kept one back."""

    def __init__(self, session, clock, linked_handles):
        self.session = session
        self.clock = clock
        self.linked_handles = linked_handles  # SellerService.linked_handles: one rule for "yours"

    def kept(self, user: User) -> list[Handle]:
        """Previous handles kept for the user after a purchase, soonest to lapse first."""
        return kept_for(self.session, user.id, self.clock.now())

    def mine(self, user: User) -> dict:
        """The API shape: owned handles (with an open lot, if any) and kept ones with their lapse."""
        return {"owned": [{"handle": h["handle"].display, "lot_id": h["lot_id"], "protected": h["protected"]}
                          for h in self.linked_handles(user)],
                "kept": [{"handle": h.display, "kept_until": iso(h.held_until)} for h in self.kept(user)]}

    def take_back(self, user: User, raw_handle: object) -> Handle:
        """Put a kept handle back in an account of the user's own, within its 30 days."""
        name, _ = parse_handle(raw_handle)
        with transaction():
            row = self.session.execute(lock_for_update(select(Handle).where(Handle.name == name))).scalar_one_or_none()
            if row is None or row.held_for_user_id != user.id or row.account_id is not None or row.held_until is None:
                raise NotFound("handle_not_kept", "@%(handle)s is not kept for you.", handle=name)
            now = self.clock.now()
            if row.held_until <= now:
                raise Conflict("keep_lapsed", "The time to take back @%(handle)s ended on %(until)s.",
                               handle=row.display, until=row.held_until)
            DatabaseRegistry(self.session).give_back(row.id, user.id, now)
        return row
