"""Lots: admins create and edit them; everyone lists, searches and views them."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from auctions import RuleViolation

from .. import validation as v
from ..audit import audit
from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import Conflict, Forbidden, NotFound, ServiceError, from_rule
from ..models import Eligibility, Handle, Listing, ListingKind, Order, OrderStatus, ProtectedName, User
from ..registry import DatabaseRegistry, HandleInfo, parse_handle
from .lots import aliases, engine_lot, lot_view, proxies_by_listing, record_event

STATUSES = ("scheduled", "live", "ended", "sold", "unsold", "cancelled")
SORTS = ("ending_soon", "newest", "price_asc", "price_desc")
DEFAULT_AUCTION_HOURS = 72
# Lists count at most this many matches (one more tells "more than"); a page then says "10,000+".
COUNT_CAP = 10_000
# Orders whose handle has not moved yet: their lot still holds the handle.
UNSETTLED = (OrderStatus.AWAITING_PAYMENT, OrderStatus.ACTION_REQUIRED, OrderStatus.PAID, OrderStatus.OFFERED)
# What an admin may change on a lot that has not ended (ListingService.update).
EDITABLE = ("reserve_cents", "buy_now_price_cents", "ends_at")
# The lot's fields a `lot_updated` event carries; the lot page applies each one it finds.
UPDATED_FIELDS = ("current_price_cents", "min_next_bid_cents", "reserve_met", "buy_now_price_cents", "ends_at",
                  "leader_alias", "bid_count")


def holding_lots():
    """Lots that tie up their handle: open, or sold with the handle not moved yet (an unsettled
    order). Once the handle has moved (or the sale was refunded or ended unsold), it is free again."""
    orders = select(Order.listing_id)
    return select(Listing.id).where(or_(
        Listing.closed_status.is_(None),
        Listing.id.in_(orders.where(Order.status.in_([s.value for s in UNSETTLED]))),
        and_(Listing.closed_status == "ended", Listing.id.not_in(orders))))


def find_listing(session, lot_id: object) -> Listing:
    """A listing by id, or 404 (an id that is not a whole number is no lot either)."""
    if isinstance(lot_id, bool) or not isinstance(lot_id, int):
        raise NotFound("lot_not_found", "There is no such lot.")
    listing = session.get(Listing, lot_id)
    if listing is None:
        raise NotFound("lot_not_found", "There is no such lot.")
    return listing


class ListingService:
    """Creates, edits, lists and shows lots."""

    def __init__(self, session, clock, publisher, count_cap: int = COUNT_CAP):
        self.session = session
        self.clock = clock
        self.publisher = publisher
        self.count_cap = count_cap

    # ---- reading -------------------------------------------------------------------------
    def get(self, lot_id: object) -> Listing:
        """A listing by id, or 404."""
        return find_listing(self.session, lot_id)

    def get_for(self, lot_id: object, user) -> Listing:
        """A listing by id as `user` may see it: a private lot (made for one buyer, an accepted
        inquiry) is its buyer's and admins' only; 404 for anyone else, as for no lot at all."""
        listing = self.get(lot_id)
        if listing.private and not self._may_see_private(listing, user):
            raise NotFound("lot_not_found", "There is no such lot.")
        return listing

    def _may_see_private(self, listing: Listing, user) -> bool:
        """Whether `user` is the private lot's buyer or an admin."""
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if user.is_admin or listing.winner_id == user.id:
            return True
        return self.session.execute(select(Order.id).where(Order.listing_id == listing.id,
                                                           Order.buyer_id == user.id)).first() is not None

    def views(self, listings: list[Listing], admin: bool = False) -> list[dict]:
        """Public shapes of several lots, with two queries in all."""
        now = self.clock.now()
        proxies = proxies_by_listing(
            self.session, [lst.id for lst in listings if lst.kind == ListingKind.AUCTION])
        users = aliases(self.session, [u for lst in listings for u in (lst.leader_id, lst.winner_id, lst.seller_id)])
        return [lot_view(lst, engine_lot(lst, proxies.get(lst.id, ())), now, users, admin) for lst in listings]

    def view(self, lot_id: object, admin: bool = False) -> dict:
        """The public shape of one lot."""
        return self.views([self.get(lot_id)], admin)[0]

    def status_filter(self, status: str):
        """SQL for a lot status; scheduled and live follow from the clock."""
        now = self.clock.now()
        open_ = Listing.closed_status.is_(None)
        if status == "scheduled":
            return and_(open_, Listing.starts_at > now)
        if status == "live":
            return and_(open_, Listing.starts_at <= now, or_(Listing.ends_at.is_(None), Listing.ends_at > now))
        if status == "ended":
            # Closing happens within a second of the end; until then the lot counts as ended.
            return or_(Listing.closed_status == "ended", and_(open_, Listing.ends_at <= now))
        return Listing.closed_status == status

    def search(self, status: str | None = None, kind: str | None = None, q: str | None = None,
               sort: str = "ending_soon", page: int = 1, per_page: int = 50) -> dict:
        """A page of lots, filtered and sorted.

        `total` is exact up to `count_cap`; past it the count stops there, `total` is a lower bound
        and `total_capped` is true (counting a million matches costs a full scan on every page).
        """
        if status is not None and status not in STATUSES:
            raise ServiceError("invalid_field", "'status' must be one of: %(choices)s.",
                                                400, choices=', '.join(STATUSES))
        if kind is not None and kind not in [k.value for k in ListingKind]:
            raise ServiceError("invalid_field", "'kind' must be one of: auction, fixed, dutch.", 400)
        if sort not in SORTS:
            raise ServiceError("invalid_field", "'sort' must be one of: %(choices)s.", 400, choices=', '.join(SORTS))
        query = self.catalog_query(status, kind, q)
        order = self.sort_order(sort)
        offset = (page - 1) * per_page
        rows = self.session.execute(query.order_by(*order).offset(offset).limit(per_page)).scalars().all()
        capped = False
        if (rows and len(rows) < per_page) or (not rows and page == 1):
            total = offset + len(rows)  # the last page: no count needed
        else:
            cap = self.count_cap
            limited = query.with_only_columns(Listing.id).limit(cap + 1).subquery()
            total = self.session.execute(select(func.count()).select_from(limited)).scalar_one()
            if total > cap:
                capped, total = True, max(cap, offset + len(rows))
        page_ = {"items": self.views(rows), "page": page, "per_page": per_page, "total": total}
        if capped:
            page_["total_capped"] = True
        return page_

    def catalog_query(self, status: str | None = None, kind: str | None = None, q: str | None = None):
        """The catalog's lots with these filters (checked by the caller), private lots left out."""
        query = select(Listing).where(Listing.private.is_(False))  # a lot made for one buyer is not on the market
        if status:
            query = query.where(self.status_filter(status))
        if kind:
            query = query.where(Listing.kind == kind)
        if q:
            term = q.strip().lstrip("@").lower()[:15]
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(Listing.handle_name.like(f"%{escaped}%", escape="\\"))
        return query

    @staticmethod
    def sort_order(sort: str) -> tuple:
        """ORDER BY for a catalog sort; each ends with the id (ties are deterministic) and matches
        an index (models.Listing)."""
        return {
            "ending_soon": (Listing.ends_at.asc().nulls_last(), Listing.id.asc()),
            "newest": (Listing.created_at.desc(), Listing.id.desc()),
            "price_asc": (Listing.current_price_cents.asc(), Listing.id.asc()),
            "price_desc": (Listing.current_price_cents.desc(), Listing.id.desc()),
        }[sort]

    def front_page(self, per_section: int = 4) -> dict[str, list[dict]]:
        """The home page's sections, a few lots each and nothing counted: live lots ending soonest,
        the newest live lots, live falling-price (Dutch) lots, and the latest sales."""
        def shelf(query, order) -> list[dict]:
            """The first few lots of one section."""
            return self.views(list(self.session.execute(query.order_by(*order).limit(per_section)).scalars()))

        return {
            "ending_soon": shelf(self.catalog_query("live").where(Listing.ends_at.is_not(None)),
                                 self.sort_order("ending_soon")),
            "newest": shelf(self.catalog_query("live"), self.sort_order("newest")),
            "dutch": shelf(self.catalog_query("live", "dutch"), self.sort_order("ending_soon")),
            "sold": shelf(self.catalog_query("sold"), (Listing.closed_at.desc(), Listing.id.desc())),
        }

    def released_handles(self, limit: int = 200) -> list[Handle]:
        """Handles in the pool that no open or sold lot holds: what an admin can list."""
        taken = holding_lots().with_only_columns(Listing.handle_id)
        now = self.clock.now()
        return list(self.session.execute(
            select(Handle).where(Handle.account_id.is_(None), Handle.held_back_at.is_(None), Handle.id.not_in(taken),
                                 or_(Handle.held_until.is_(None), Handle.held_until <= now))
            .order_by(Handle.name).limit(limit)).scalars())

    # ---- writing -------------------------------------------------------------------------
    def create(self, admin: User, data: object) -> Listing:
        """An admin lists a released handle as an auction, fixed-price or Dutch lot."""
        data = v.require_object(data)
        now = self.clock.now()
        name, _ = parse_handle(data.get("handle"))
        fields = self.terms(data, now)
        fields.update(seller_id=None, created_by_id=admin.id, created_at=now)
        with transaction(self.publisher):
            listing = self.build(self.listable(name, fields["eligibility"], now), fields)
            self.session.add(listing)
            self.session.flush()
            audit(self.session, now, admin, "lot.create", f"lot:{listing.id}",
                  {"handle": listing.handle_name, "kind": listing.kind, "reserve_cents": fields.get("reserve_cents")})
        return listing

    def terms(self, data: dict, now, kinds=tuple(k.value for k in ListingKind)) -> dict:
        """A lot's kind, prices and times from the request, checked (the one rule for admins and sellers)."""
        kind = v.choice(data, "kind", kinds, default="auction")
        eligibility = v.choice(data, "eligibility", [e.value for e in Eligibility], default="registered")
        starts_at = v.timestamp(data, "starts_at", default=now)
        fields = dict(kind=kind, eligibility=eligibility, starts_at=starts_at)
        if kind == ListingKind.AUCTION:
            start = v.cents(data, "start_price_cents")
            fields.update(
                start_price_cents=start,
                reserve_cents=v.cents(data, "reserve_cents", required=False),
                buy_now_price_cents=v.cents(data, "buy_now_price_cents", required=False),
                ends_at=v.timestamp(data, "ends_at", default=starts_at + timedelta(hours=DEFAULT_AUCTION_HOURS)),
                soft_close_seconds=v.integer(data, "soft_close_seconds", default=300, maximum=3600),
                current_price_cents=start,
            )
            if fields["buy_now_price_cents"] is not None and fields["buy_now_price_cents"] <= start:
                raise ServiceError("invalid_buy_now", "The buy-now price must be above the start price.", 422)
        elif kind == ListingKind.FIXED:
            price = v.cents(data, "price_cents", required=False) or v.cents(
                data, "start_price_cents", required=False) or 50_000_00
            fields.update(start_price_cents=price, current_price_cents=price,
                          ends_at=v.timestamp(data, "ends_at"))
        else:
            start = v.cents(data, "start_price_cents")
            floor = v.cents(data, "floor_price_cents")
            if floor > start:
                raise ServiceError("invalid_floor", "The floor price must not be above the start price.", 422)
            fields.update(start_price_cents=start, floor_price_cents=floor, current_price_cents=start,
                          half_life_seconds=v.integer(data, "half_life_seconds", default=3600,
                                                      minimum=1, maximum=365 * 86400),
                          ends_at=v.timestamp(data, "ends_at"))
        if fields.get("ends_at") is not None and fields["ends_at"] <= max(starts_at, now):
            raise ServiceError("invalid_time", "The end time must be in the future and after the start.", 422)
        return fields

    def listable(self, name: str, eligibility: str, now, seller: User | None = None) -> HandleInfo:
        """The handle, if it may be listed now: from the pool by an admin, or from the seller's
        own linked account by a seller; never while another lot holds it."""
        handle = DatabaseRegistry(self.session).lookup(name)
        if handle is None:
            raise NotFound("unknown_handle", "@%(handle)s is not in the registry.", handle=name)
        if seller is None:
            if not handle.released:
                raise Conflict("handle_not_released", "@%(handle)s still belongs to an account; only released "
                                                      "handles can be listed.", handle=handle.display)
            if handle.held_until is not None and handle.held_until > now:
                raise Conflict("handle_held", "@%(handle)s is held for its previous owner until %(until)s.",
                                              handle=handle.display, until=handle.held_until.date())
        elif handle.released or handle.owner_user_id != seller.id:
            raise Forbidden("not_your_handle", "@%(handle)s is not in an account linked to you. "
                                               "Prove you hold it first (Sell → Link a handle).", handle=handle.display)
        protected = handle.protected or handle.held_back or self.session.execute(
            select(ProtectedName.id).where(ProtectedName.name == handle.name)).first() is not None
        if protected and (seller is not None or eligibility != Eligibility.ORGANISATIONS):
            raise ServiceError("protected_handle", "@%(handle)s is protected: it may be offered to verified "
                                                   "organisations only, by the platform.", 422, handle=handle.display)
        busy = self.session.execute(holding_lots().where(Listing.handle_id == handle.id).limit(1)).first()
        if busy:
            raise Conflict("handle_listed", "@%(handle)s already has a lot (#%(lot)s).",
                                            handle=handle.display, lot=busy[0])
        return handle

    def build(self, handle: HandleInfo, fields: dict) -> Listing:
        """A new lot for a listable handle, checked by the engine; the caller adds it (or only previews it)."""
        listing = Listing(handle_id=handle.id, handle_name=handle.name, handle_display=handle.display, **fields)
        try:
            engine_lot(listing)  # the engine checks the lot's own consistency
        except RuleViolation as exc:
            raise from_rule(exc) from None
        return listing

    def update(self, admin: User, lot_id: object, data: object) -> Listing:
        """An admin changes a lot that has not ended: its reserve, buy-now price or end time.

        Each field that changes is audited as old -> new, and watchers see the lot's new terms at
        once (a `lot_updated` event); a request that changes nothing writes nothing.
        """
        data = v.require_object(data)
        unknown = set(data) - set(EDITABLE)
        if unknown:
            raise ServiceError("invalid_field", "These fields cannot be edited: %(fields)s.",
                                                400, fields=', '.join(sorted(unknown)))
        with transaction(self.publisher):
            listing = self.session.execute(
                lock_for_update(select(Listing).where(Listing.id == self.get(lot_id).id))).scalar_one()
            now = self.clock.now()
            if listing.closed_status or (listing.ends_at and listing.ends_at <= now):
                raise Conflict("ended", "This lot has ended; it can no longer be changed.")
            before = {name: getattr(listing, name) for name in EDITABLE}
            if "reserve_cents" in data:
                if listing.kind != ListingKind.AUCTION:
                    raise ServiceError("wrong_kind", "Only auctions have a reserve price.", 422)
                listing.reserve_cents = v.cents(data, "reserve_cents", required=False)
            if "buy_now_price_cents" in data:
                if listing.kind != ListingKind.AUCTION:
                    raise ServiceError("wrong_kind", "Only auctions have a buy-now price.", 422)
                if listing.bid_count:
                    raise Conflict("buy_now_unavailable", "Buy-now cannot change once bidding has started.")
                buy_now = v.cents(data, "buy_now_price_cents", required=False)
                if buy_now is not None and buy_now <= listing.start_price_cents:
                    raise ServiceError("invalid_buy_now", "The buy-now price must be above the start price.", 422)
                listing.buy_now_price_cents = buy_now
            if "ends_at" in data:
                ends_at = v.timestamp(data, "ends_at")
                if ends_at is None or ends_at <= now:
                    raise ServiceError("invalid_time", "The end time must be in the future.", 422)
                listing.ends_at = ends_at
            changes = {name: {"old": _audited(before[name]), "new": _audited(getattr(listing, name))}
                       for name in EDITABLE if getattr(listing, name) != before[name]}
            if not changes:
                return listing
            self.session.flush()
            proxies = proxies_by_listing(self.session, [listing.id])[listing.id]
            try:
                lot = engine_lot(listing, proxies)
            except RuleViolation as exc:
                raise from_rule(exc) from None
            if listing.kind == ListingKind.AUCTION:
                listing.current_price_cents = lot.current_price_cents
            audit(self.session, now, admin, "lot.update", f"lot:{listing.id}", changes)
            # Watchers see the new reserve status, price and terms at once.
            users = aliases(self.session, [listing.leader_id, listing.seller_id])
            record_event(self.session, self.publisher, listing, "lot_updated",
                         updated_payload(lot_view(listing, lot, now, users)), now)
        return listing


def updated_payload(view: dict, **extra) -> dict:
    """What a `lot_updated` event tells watchers, from the lot's view after the change."""
    return {**{k: view.get(k) for k in UPDATED_FIELDS}, **extra}


def _audited(value):
    """A field's value as the audit log keeps it: times in the API's ISO form, the rest as is."""
    return iso(value) if isinstance(value, datetime) else value
