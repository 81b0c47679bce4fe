"""Closing lots when their time is up: exactly once, even with several workers."""
from __future__ import annotations

import logging

from sqlalchemy import select

import auctions
from auctions import Closed, LotStatus, RuleViolation

from ..db import lock_for_update, transaction
from ..models import Listing, ListingKind, ProxyBid
from .lots import aliases, auction_of, record_event, store_auction
from .notices import notify
from .settlement import open_order

log = logging.getLogger(__name__)


class ClosingService:
    """Closes due lots one at a time, each in its own short transaction."""

    def __init__(self, session, clock, publisher, commission_bps: int = 1_000):
        self.session = session
        self.clock = clock
        self.publisher = publisher
        self.commission_bps = commission_bps

    def close_due(self, limit: int = 100) -> int:
        """Close up to `limit` lots whose end has passed; return how many were closed."""
        closed = 0
        while closed < limit:
            if not self._close_one():
                break
            closed += 1
        return closed

    def _close_one(self) -> bool:
        """Lock one due lot (skipping any another worker or a bid holds) and close it."""
        with transaction(self.publisher):
            now = self.clock.now()
            listing = self.session.execute(lock_for_update(
                select(Listing)
                .where(Listing.closed_status.is_(None), Listing.ends_at.is_not(None), Listing.ends_at <= now)
                .order_by(Listing.ends_at).limit(1), skip_locked=True)).scalar_one_or_none()
            if listing is None:
                return False
            if listing.kind == ListingKind.AUCTION:
                proxies = list(self.session.execute(
                    select(ProxyBid).where(ProxyBid.listing_id == listing.id)).scalars())
                try:
                    outcome = auctions.close(auction_of(listing, proxies), now)
                except RuleViolation:
                    log.exception("lot %s could not close", listing.id)
                    return False
                store_auction(listing, outcome.lot)
                event = next(e for e in outcome.events if isinstance(e, Closed))
                status, winner_id, price = event.status, event.winner_id, event.price_cents
            else:
                # A fixed or Dutch lot nobody bought by its end time.
                status, winner_id, price = LotStatus.UNSOLD, None, None
            listing.closed_status = status.value
            listing.closed_at = now
            listing.winner_id = winner_id
            listing.final_price_cents = price if winner_id else None
            users = aliases(self.session, [winner_id])
            record_event(self.session, self.publisher, listing, "lot_closed", {
                "status": status.value, "winner_alias": users.get(winner_id),
                "amount_cents": listing.final_price_cents}, now)
            if winner_id is not None:
                order = open_order(self.session, listing, winner_id, price, "auction", now, self.commission_bps)
                notify(self.session, self.publisher, winner_id, "won", now, lot_id=listing.id,
                       handle=listing.handle_display, amount_cents=price, order_id=order.id)
            log.info("closed lot %s (%s) as %s at %s", listing.id, listing.handle_name, status.value, price)
        return True
