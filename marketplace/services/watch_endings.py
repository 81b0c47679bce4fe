"""The 'about to end' notice: watchers of a lot are told once, shortly before it ends (worker job)."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select

from ..clock import iso
from ..db import is_sqlite, transaction
from ..errors import NotFound
from ..models import Listing, ListingKind, User, Watch
from .listings import ListingService
from .notices import notify

log = logging.getLogger(__name__)
WINDOW_MINUTES = 15
BATCH_SIZE = 200


class WatchEndingService:
    """Tells each watcher of an open lot, once, that it ends within the window."""

    def __init__(self, session, clock, publisher, listings: ListingService,
                 window_minutes: float = WINDOW_MINUTES, batch_size: int = BATCH_SIZE):
        self.session = session
        self.clock = clock
        self.publisher = publisher
        self.listings = listings
        self.window = timedelta(minutes=window_minutes)
        self.batch_size = batch_size

    def notify_due(self, max_batches: int = 10) -> int:
        """Send the due notices, a bounded batch per transaction; return how many were sent."""
        sent = 0
        for _ in range(max_batches):
            done, claimed = self._one_batch()
            sent += done
            if claimed < self.batch_size:
                break
        return sent

    def _due_watches(self, now):
        """Watches not yet told, of lots that run now and end within the window (never the seller's)."""
        query = (
            select(Watch)
            .join(Listing, Listing.id == Watch.listing_id)
            .where(Watch.ending_notified_at.is_(None),
                   Listing.closed_status.is_(None),
                   Listing.starts_at <= now,
                   Listing.ends_at.is_not(None),
                   Listing.ends_at > now,
                   Listing.ends_at <= now + self.window,
                   or_(Listing.seller_id.is_(None), Listing.seller_id != Watch.user_id))
            .order_by(Listing.ends_at, Watch.id)
            .limit(self.batch_size)
            .execution_options(populate_existing=True))
        if is_sqlite():
            return query  # one writer at a time there (the process lock in transaction())
        # Lock only the watch rows: a bid holding its lot's row must neither wait on us nor be waited on.
        return query.with_for_update(skip_locked=True, of=Watch)

    def _one_batch(self) -> tuple[int, int]:
        """Claim a batch of due watches, notify them and stamp them, in one transaction."""
        with transaction(self.publisher):
            now = self.clock.now()
            watches = list(self.session.execute(self._due_watches(now)).scalars())
            if not watches:
                return 0, 0
            lots = {lst.id: lst for lst in self.session.execute(
                select(Listing).where(Listing.id.in_({w.listing_id for w in watches}))).scalars()}
            views = {view["id"]: view for view in self.listings.views(list(lots.values()))}
            users = {u.id: u for u in self.session.execute(
                select(User).where(User.id.in_({w.user_id for w in watches}))).scalars()}
            sent = 0
            for watch in watches:
                listing, user = lots[watch.listing_id], users[watch.user_id]
                # Stamped even when not told: a private lot the watcher may no longer see is not
                # theirs to hear about, and must not be claimed again on every pass.
                watch.ending_notified_at = now
                if listing.private and not self._may_see(listing, user):
                    continue
                view = views[listing.id]
                notify(self.session, self.publisher, user.id, "lot_ending", now, lot_id=listing.id,
                       handle=listing.handle_display, lot_kind=listing.kind,
                       leading=listing.kind == ListingKind.AUCTION and listing.leader_id == user.id,
                       amount_cents=view.get("current_price_cents"), ends_at=iso(listing.ends_at))
                sent += 1
        if sent:
            log.info("told %s watchers their lots end soon", sent)
        return sent, len(watches)

    def _may_see(self, listing: Listing, user: User) -> bool:
        """Whether the watcher may see this lot, by the same rule as the lot page."""
        try:
            self.listings.get_for(listing.id, user)
        except NotFound:
            return False
        return True
