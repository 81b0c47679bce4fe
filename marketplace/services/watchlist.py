"""Watchlists: a user keeps lots they may bid on in one place, with their live prices."""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..clock import iso
from ..db import transaction
from ..models import Listing, User, Watch
from .listings import ListingService


class WatchlistService:
    """Watching and unwatching lots, and listing what a user watches."""

    def __init__(self, session, clock, listings: ListingService):
        self.session = session
        self.clock = clock
        self.listings = listings

    def _visible_lot(self, user: User, lot_id: object) -> Listing:
        """The lot, if this user may see it; 404 otherwise (a private lot is not theirs to watch)."""
        return self.listings.get_for(lot_id, user)

    def watch(self, user: User, lot_id: object) -> tuple[Watch, bool]:
        """Put a lot on the user's watchlist; (watch, created). Watching it again changes nothing."""
        with transaction():
            listing = self._visible_lot(user, lot_id)
            existing = self._find(user.id, listing.id)
            if existing is not None:
                return existing, False
            watch = Watch(user_id=user.id, listing_id=listing.id, created_at=self.clock.now())
            self.session.add(watch)
            try:
                with self.session.begin_nested():
                    self.session.flush()
            except IntegrityError:
                # The same user's double click won the race: the unique pair decides, answer with it.
                return self._find(user.id, listing.id), False
        return watch, True

    def unwatch(self, user: User, lot_id: object) -> bool:
        """Take a lot off the user's watchlist; whether it was on it. Unknown lots are 404."""
        with transaction():
            listing = self._visible_lot(user, lot_id)
            result = self.session.execute(delete(Watch).where(Watch.user_id == user.id,
                                                              Watch.listing_id == listing.id))
        return bool(result.rowcount)

    def _find(self, user_id: int, listing_id: int) -> Watch | None:
        """The user's watch of a lot, if any."""
        return self.session.execute(select(Watch).where(
            Watch.user_id == user_id, Watch.listing_id == listing_id)).scalar_one_or_none()

    def watched_ids(self, user, lot_ids: list[int]) -> set[int]:
        """Which of these lots the user watches (nothing for a visitor who is not signed in)."""
        if not lot_ids or user is None or not getattr(user, "is_authenticated", False):
            return set()
        return set(self.session.execute(select(Watch.listing_id).where(
            Watch.user_id == user.id, Watch.listing_id.in_(lot_ids))).scalars())

    def mine(self, user: User, page: int = 1, per_page: int = 50) -> dict:
        """A page of the user's watched lots, most recently watched first, each with its live view."""
        base = select(Watch).where(Watch.user_id == user.id)
        total = self.session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        watches = list(self.session.execute(
            base.order_by(Watch.created_at.desc(), Watch.id.desc())
            .offset((page - 1) * per_page).limit(per_page)).scalars())
        rows = {lst.id: lst for lst in self.session.execute(
            select(Listing).where(Listing.id.in_([w.listing_id for w in watches]))).scalars()}
        views = {view["id"]: view for view in self.listings.views(list(rows.values()))}
        items = [{"lot": views[w.listing_id], "watched_at": iso(w.created_at)} for w in watches]
        return {"items": items, "page": page, "per_page": per_page, "total": total}
