"""Voiding bids (DESIGN.md section 4): an admin removes one bidder's maximum from a live auction,
for cause. The engine recomputes the price and the leader from the other maxima.

The public history keeps every entry, so its hash chain and the bid count stay as they were; the
void itself is written to the audit log, watchers see the recomputed lot at once (`lot_updated`),
and the bidder is told. Their card authorisation on the lot no longer backs a maximum, so the
settlement's `release_holds` cancels it on its next pass.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select

import auctions
from auctions import RuleViolation

from .. import validation as v
from ..audit import audit
from ..db import lock_for_update, transaction
from ..errors import BadRequest, Conflict, NotFound, ServiceError, from_rule
from ..models import AuditEntry, Bid, Listing, ListingKind, ProxyBid, User
from .listings import find_listing, updated_payload
from .lots import aliases, auction_of, lot_view, record_event, store_auction
from .notices import notify

MAX_ALIAS = 40  # User.alias's column
VOID_ACTION = "bid.void"  # its audit entries are the record of every void


class VoidService:
    """Lists an auction's bidders for admins and voids one bidder's maximum."""

    def __init__(self, session, clock, publisher):
        self.session = session
        self.clock = clock
        self.publisher = publisher

    def bidders(self, lot_id: int) -> list[dict]:
        """The auction's standing maxima, highest first (the engine's ranking), for admins only:
        each bidder's alias, maximum, whether they lead, and how many history entries are theirs."""
        listing = find_listing(self.session, lot_id)
        proxies = self._proxies(listing.id)
        lot = auction_of(listing, proxies)
        names = aliases(self.session, [p.bidder_id for p in proxies])
        counts = dict(self.session.execute(
            select(Bid.bidder_id, func.count()).where(Bid.listing_id == listing.id).group_by(Bid.bidder_id)).all())
        ranked = sorted(proxies, key=lambda p: (-p.max_cents, p.order))
        return [{"alias": names.get(p.bidder_id), "max_cents": p.max_cents, "leading": p.bidder_id == lot.leader_id,
                 "entries": counts.get(p.bidder_id, 0), "updated_at": p.updated_at} for p in ranked]

    def voided(self, lot_id: int) -> list[dict]:
        """The lot's voids, newest first, as the audit log keeps them: whose, when, by whom, why."""
        rows = self.session.execute(select(AuditEntry).where(
            AuditEntry.action == VOID_ACTION, AuditEntry.target == f"lot:{lot_id}").order_by(AuditEntry.id.desc())).scalars()
        return [{"alias": row.details.get("bidder_alias"), "at": row.at, "by": row.actor,
                 "reason": row.details.get("reason"), "max_cents": row.details.get("max_cents")} for row in rows]

    def preview(self, lot_id: object, bidder_alias: object) -> dict:
        """What voiding this bidder would do, changing nothing (the confirmation page shows it)."""
        listing = find_listing(self.session, lot_id)
        bidder, before, after = self._plan(listing, self._proxies(listing.id), bidder_alias)
        return self._effect(listing, bidder, before, after)

    def void(self, admin: User, lot_id: object, bidder_alias: object, reason: object) -> Listing:
        """Void one bidder's maximum on a live auction, with a reason: in one transaction under the
        lot's row lock, store the recomputed lot, audit it, tell watchers and the bidder."""
        reason = v.reason(reason)
        with transaction(self.publisher):
            listing = self.session.execute(lock_for_update(
                select(Listing).where(Listing.id == find_listing(self.session, lot_id).id))).scalar_one()
            proxies = self._proxies(listing.id)
            bidder, before, after = self._plan(listing, proxies, bidder_alias)
            now = self.clock.now()
            effect = self._effect(listing, bidder, before, after)
            self.session.execute(delete(ProxyBid).where(ProxyBid.listing_id == listing.id,
                                                        ProxyBid.bidder_id == bidder.id))
            store_auction(listing, after)
            audit(self.session, now, admin, VOID_ACTION, f"lot:{listing.id}", {**effect, "reason": reason})
            names = aliases(self.session, [after.leader_id, listing.seller_id])
            record_event(self.session, self.publisher, listing, "lot_updated",
                         updated_payload(lot_view(listing, after, now, names), voided_alias=bidder.alias), now)
            notify(self.session, self.publisher, bidder.id, "bid_voided", now, lot_id=listing.id,
                   handle=listing.handle_display, reason=reason)
        return listing

    # ---- the rules ------------------------------------------------------------------------
    def _proxies(self, listing_id: int) -> list[ProxyBid]:
        """The lot's standing maxima."""
        return list(self.session.execute(select(ProxyBid).where(ProxyBid.listing_id == listing_id)).scalars())

    def _plan(self, listing: Listing, proxies: list[ProxyBid], bidder_alias: object):
        """The bidder and the auction before and after voiding them; refuses, changing nothing, a
        lot that is not a live auction, an unknown alias and an account with no bid on the lot."""
        if listing.kind != ListingKind.AUCTION:
            raise ServiceError("wrong_kind", "Only an auction's bids can be voided.", 422)
        if listing.closed_status or (listing.ends_at is not None and listing.ends_at <= self.clock.now()):
            # Past the end the worker is closing the lot on these maxima: too late to change them.
            raise Conflict("ended", "This auction has ended; its bids can no longer be voided.")
        if not isinstance(bidder_alias, str) or not 1 <= len(bidder_alias.strip()) <= MAX_ALIAS:
            raise BadRequest("invalid_field", "'bidder_alias' must be a bidder's alias, as the bid history shows it.")
        alias = bidder_alias.strip()
        bidder = self.session.execute(select(User).where(User.alias == alias)).scalar_one_or_none()
        if bidder is None:
            raise NotFound("bidder_not_found", "No account has the alias %(alias)s.", alias=alias)
        before = auction_of(listing, proxies)
        try:
            after = auctions.void_bidder(before, bidder.id)
        except RuleViolation as exc:
            raise from_rule(exc) from None
        return bidder, before, after

    def _effect(self, listing: Listing, bidder: User, before, after) -> dict:
        """The void's effect as the audit log and the confirmation page show it: old → new."""
        names = aliases(self.session, [before.leader_id, after.leader_id])
        effect = {"bidder_alias": bidder.alias, "max_cents": before.max_for(bidder.id),
                  "price_cents": {"old": before.current_price_cents, "new": after.current_price_cents},
                  "leader_alias": {"old": names.get(before.leader_id), "new": names.get(after.leader_id)}}
        if listing.reserve_cents is not None:
            effect["reserve_met"] = {"old": before.reserve_met, "new": after.reserve_met}
        return effect
