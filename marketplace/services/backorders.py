"""Backorders: a user asks for a handle that is not released yet and is told when it is.

When the sweep (or an admin) releases a backordered handle, services/release.py tells its
backorderers; with two or more, an auction open only to them starts (Eligibility.BACKORDERERS).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..clock import iso
from ..db import transaction
from ..errors import Conflict, NotFound, ServiceError
from ..models import Backorder, Listing, User
from ..registry import DatabaseRegistry, parse_handle
from .listings import holding_lots
from .release import is_protected_name


def backorder_json(backorder: Backorder) -> dict:
    """The API's shape of a backorder."""
    status = "waiting" if backorder.notified_at is None else "released"
    return {"id": backorder.id, "handle": backorder.handle_display, "status": status,
            "created_at": iso(backorder.created_at), "notified_at": iso(backorder.notified_at),
            "lot_id": backorder.listing_id}


class BackorderService:
    """Placing, listing and cancelling a user's backorders."""

    def __init__(self, session, clock):
        self.session = session
        self.clock = clock

    def place(self, user: User, raw_handle: object) -> tuple[Backorder, bool]:
        """Backorder a handle that still belongs to an account; (backorder, created).

        Refuses unknown (404), released or listed (409) and protected (422) handles, and the
        user's own handle (409). Backordering the same handle again returns the first backorder.
        """
        name, _ = parse_handle(raw_handle)
        with transaction():
            info = DatabaseRegistry(self.session).lookup(name)
            if info is None:
                raise NotFound("unknown_handle", "@%(handle)s is not in the registry.", handle=name)
            listed = self.session.execute(holding_lots().where(Listing.handle_id == info.id).limit(1)).first()
            if listed:
                raise Conflict("handle_listed", "@%(handle)s is already on sale (lot #%(lot)s); bid or buy there "
                                                "instead.", handle=info.display, lot=listed[0])
            if info.released:
                raise Conflict("handle_released", "@%(handle)s is already released; only handles not yet released "
                                                  "can be backordered.", handle=info.display)
            if info.protected or is_protected_name(self.session, info.name):
                raise ServiceError("protected_handle", "@%(handle)s is protected; it never goes to auction, so it "
                                                       "cannot be backordered.", 422, handle=info.display)
            if info.owner_user_id == user.id:
                raise Conflict("own_handle", "@%(handle)s is already yours.", handle=info.display)
            existing = self.session.execute(select(Backorder).where(
                Backorder.user_id == user.id, Backorder.handle_name == info.name)).scalar_one_or_none()
            if existing is not None:
                return existing, False
            backorder = Backorder(user_id=user.id, handle_name=info.name, handle_display=info.display,
                                  created_at=self.clock.now())
            self.session.add(backorder)
            try:
                self.session.flush()
            except IntegrityError:
                # The same user's double click: the unique constraint decides; answer with the first.
                raise Conflict("already_backordered", "You already backordered @%(handle)s.",
                                                      handle=info.display) from None
        return backorder, True

    def mine(self, user: User, page: int = 1, per_page: int = 50) -> dict:
        """A page of the user's backorders, newest first."""
        query = select(Backorder).where(Backorder.user_id == user.id)
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.session.execute(query.order_by(Backorder.created_at.desc(), Backorder.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)).scalars()
        return {"items": [backorder_json(b) for b in rows], "page": page, "per_page": per_page, "total": total}

    def cancel(self, user: User, backorder_id: object) -> None:
        """Cancel one of the user's backorders while the handle is not released (404 if not theirs)."""
        if isinstance(backorder_id, bool) or not isinstance(backorder_id, int):
            raise NotFound("backorder_not_found", "There is no such backorder.")
        with transaction():
            backorder = self.session.get(Backorder, backorder_id)
            if backorder is None or backorder.user_id != user.id:
                raise NotFound("backorder_not_found", "There is no such backorder.")
            if backorder.notified_at is not None:
                raise Conflict("handle_released", "@%(handle)s is already released; the backorder can no longer be "
                                                  "cancelled.", handle=backorder.handle_display)
            self.session.delete(backorder)
