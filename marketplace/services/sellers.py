"""Sellers: prove you hold a platform account, list its handle, follow your sales and payouts.

Ownership is proved the way platforms let third parties check it: the seller puts a one-time code
(`HX-7Q4K2M`) in the account's bio, and the registry reads the bio. A verified claim links the
account to the user (PlatformAccount.user_id); from then on the user may list the handles that
account holds. The handle stays in the seller's account until a sale settles
(registry.transfer_to_buyer moves it to the buyer then).
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

import auctions
from auctions import RuleViolation

from .. import validation as v
from ..audit import audit
from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import BadRequest, Conflict, NotFound, ServiceError, from_rule
from ..models import Handle, Listing, ListingKind, Order, OwnershipClaim, PaymentRecord, PlatformAccount, Role, User
from ..registry import DatabaseRegistry, parse_handle
from .listings import ListingService, holding_lots
from .lots import engine_lot, proxies_by_listing, record_event
from .order_views import payout_state

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read off a screen and typed
CODE_LENGTH = 6
CLAIM_LIFETIME = timedelta(hours=24)
MAX_OPEN_CLAIMS = 3
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 10, 7
SELLER_KINDS = (ListingKind.AUCTION.value, ListingKind.FIXED.value)
LISTING_FIELDS = {"handle", "kind", "start_price_cents", "reserve_cents", "buy_now_price_cents", "price_cents",
                  "duration_days", "accepts_offers", "preview"}


def new_code() -> str:
    """A fresh ownership code, e.g. HX-7Q4K2M (32^6: about a billion)."""
    return "HX-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def claim_status(claim: OwnershipClaim, now) -> str:
    """verified, expired (24 hours passed unverified) or open."""
    if claim.verified_at is not None:
        return "verified"
    return "expired" if claim.expires_at <= now else "open"


def claim_json(claim: OwnershipClaim, now) -> dict:
    """The API shape of an ownership claim."""
    return {"id": claim.id, "handle": claim.handle.display, "code": claim.code,
            "status": claim_status(claim, now), "created_at": iso(claim.created_at),
            "expires_at": iso(claim.expires_at), "verified_at": iso(claim.verified_at)}


def fees(price_cents: int, commission_bps: int) -> dict:
    """What the buyer pays, the platform keeps and the seller receives at a price (whole cents).

    The commission is rounded once (auctions.commission_for) and the seller gets the rest, so
    buyer_pays_cents == seller_receives_cents + commission_cents always.
    """
    commission = auctions.commission_for(price_cents, commission_bps)
    return {"buyer_pays_cents": price_cents, "commission_bps": commission_bps, "commission_cents": commission,
            "seller_receives_cents": price_cents - commission}


class SellerService:
    """Ownership claims, sellers' lots, and the seller's view of their sales."""

    def __init__(self, session, clock, publisher, listings: ListingService, commission_bps: int):
        self.session = session
        self.clock = clock
        self.publisher = publisher
        self.listings = listings
        self.commission_bps = commission_bps

    # ---- ownership claims ------------------------------------------------------------------
    def start_claim(self, user: User, raw_handle: object) -> tuple[OwnershipClaim, bool]:
        """Start proving the user holds the account of a handle; (claim, created). An open claim
        of the user's for the same handle is returned again rather than doubled."""
        name, _ = parse_handle(raw_handle)
        with transaction():
            now = self.clock.now()
            info = DatabaseRegistry(self.session).lookup(name)
            if info is None:
                raise NotFound("unknown_handle", "@%(handle)s is not on the platform.", handle=name)
            if info.released:
                raise Conflict("handle_not_held", "@%(handle)s is not held by any account: it is in the "
                                                  "marketplace's pool, so there is nothing to link.",
                                                  handle=info.display)
            if info.owner_user_id == user.id:
                raise Conflict("already_linked", "@%(handle)s is already linked to your account.", handle=info.display)
            if info.owner_user_id is not None:
                raise Conflict("account_linked", "The account holding @%(handle)s is linked to another user. "
                                                 "Contact support if it is yours.", handle=info.display)
            open_claims = self.session.execute(select(OwnershipClaim).where(
                OwnershipClaim.user_id == user.id, OwnershipClaim.verified_at.is_(None),
                OwnershipClaim.expires_at > now)).scalars().all()
            for claim in open_claims:
                if claim.handle_id == info.id:
                    return claim, False
            if len(open_claims) >= MAX_OPEN_CLAIMS:
                raise Conflict("too_many_claims", "You have %(count)s open claims. Finish or let one expire (24 "
                                                  "hours) before starting another.", count=len(open_claims))
            claim = OwnershipClaim(user_id=user.id, handle_id=info.id, code=new_code(), created_at=now,
                                   expires_at=now + CLAIM_LIFETIME)
            self.session.add(claim)
            self.session.flush()
        return claim, True

    def claims(self, user: User, limit: int = 20) -> list[OwnershipClaim]:
        """The user's most recent claims, newest first."""
        return list(self.session.execute(select(OwnershipClaim).where(OwnershipClaim.user_id == user.id)
                                         .order_by(OwnershipClaim.id.desc()).limit(limit)).scalars())

    def claim(self, user: User, claim_id: object) -> OwnershipClaim:
        """One of the user's claims; 404 for anyone else's."""
        if isinstance(claim_id, bool) or not isinstance(claim_id, int):
            raise NotFound("claim_not_found", "There is no such claim.")
        claim = self.session.get(OwnershipClaim, claim_id)
        if claim is None or claim.user_id != user.id:
            raise NotFound("claim_not_found", "There is no such claim.")
        return claim

    def check_claim(self, user: User, claim_id: object) -> OwnershipClaim:
        """Ask the registry whether the code is in the account's bio; if so, link the account
        to the user, make them a seller, and audit it."""
        with transaction():
            claim = self.session.execute(lock_for_update(select(OwnershipClaim).where(
                OwnershipClaim.id == self.claim(user, claim_id).id))).scalar_one()
            now = self.clock.now()
            if claim.verified_at is not None:
                return claim
            if claim.expires_at <= now:
                raise Conflict("claim_expired", "This code expired (codes last 24 hours). Start a new claim "
                                                "for a fresh code.")
            handle = self.session.get(Handle, claim.handle_id)
            if handle.account_id is None:
                raise Conflict("handle_not_held", "@%(handle)s is no longer held by an account.", handle=handle.display)
            account = self.session.execute(lock_for_update(
                select(PlatformAccount).where(PlatformAccount.id == handle.account_id))).scalar_one()
            if account.user_id not in (None, user.id):
                raise Conflict("account_linked", "The account holding @%(handle)s was linked to another user.",
                                                 handle=handle.display)
            registry = DatabaseRegistry(self.session)
            if not registry.bio_contains(handle.id, claim.code):
                raise ServiceError("code_not_found", "%(claim_code)s is not in @%(handle)s's bio yet. Add it to the bio "
                                                     "on the platform, save, and check again.",
                                                     422, claim_code=claim.code, handle=handle.display)
            registry.link_account(handle.id, user.id)
            claim.verified_at = now
            seller = self.session.get(User, user.id)
            seller.add_role(Role.SELLER)
            audit(self.session, now, user, "seller.link", f"handle:{handle.name}",
                  {"claim_id": claim.id, "account_id": account.id})
        return claim

    def linked_handles(self, user: User) -> list[dict]:
        """The handles in the user's linked accounts, each with whether it can be listed now."""
        rows = self.session.execute(
            select(Handle).join(PlatformAccount, PlatformAccount.id == Handle.account_id)
            .where(PlatformAccount.user_id == user.id).order_by(Handle.name)).scalars().all()
        busy = dict(self.session.execute(
            select(Listing.handle_id, Listing.id).where(Listing.id.in_(holding_lots()),
                                                        Listing.handle_id.in_([h.id for h in rows])))
            .all()) if rows else {}
        return [{"handle": h, "lot_id": busy.get(h.id), "protected": bool(h.protected or h.held_back_at)}
                for h in rows]

    # ---- listing ---------------------------------------------------------------------------
    def list_handle(self, user: User, data: object, preview: bool = False) -> Listing | dict:
        """List a handle of the seller's linked account (auction or fixed price) by the same rules
        as every lot; with `preview`, check everything and return what the sale pays, listing nothing."""
        data = v.require_object(data)
        unknown = set(data) - LISTING_FIELDS
        if unknown:
            raise BadRequest("invalid_field", "Unknown fields: %(fields)s.",
                                              fields=', '.join(sorted(map(str, unknown))))
        preview = preview or _flag(data, "preview")
        name, _ = parse_handle(data.get("handle"))
        kind = v.choice(data, "kind", SELLER_KINDS, default=None)
        accepts_offers = _flag(data, "accepts_offers")
        if accepts_offers and kind != ListingKind.FIXED:
            raise ServiceError("wrong_kind", "Only fixed-price lots take offers.", 422)
        now = self.clock.now()
        days = v.integer(data, "duration_days", minimum=MIN_DAYS, maximum=MAX_DAYS,
                         default=DEFAULT_DAYS if kind == ListingKind.AUCTION else None)
        terms = {"kind": kind, "ends_at": (now + timedelta(days=days)).isoformat() if days else None}
        if kind == ListingKind.AUCTION:
            terms.update(start_price_cents=v.cents(data, "start_price_cents"),
                         reserve_cents=v.cents(data, "reserve_cents", required=False),
                         buy_now_price_cents=v.cents(data, "buy_now_price_cents", required=False))
            if terms["reserve_cents"] is not None and terms["reserve_cents"] < terms["start_price_cents"]:
                raise ServiceError("invalid_reserve", "The reserve must not be below the start price.", 422)
        else:
            terms["price_cents"] = v.cents(data, "price_cents")
        fields = self.listings.terms(terms, now, kinds=SELLER_KINDS)
        fields.update(seller_id=user.id, created_by_id=user.id, created_at=now, accepts_offers=accepts_offers)
        with transaction(self.publisher):
            listing = self.listings.build(self.listings.listable(name, fields["eligibility"], now, seller=user), fields)
            if preview:
                return self.preview_of(listing)
            self.session.add(listing)
            self.session.flush()
            audit(self.session, now, user, "seller.lot.create", f"lot:{listing.id}",
                  {"handle": listing.handle_name, "kind": listing.kind, "price_cents": listing.start_price_cents})
        return listing

    def preview_of(self, listing: Listing) -> dict:
        """What a lot not yet listed would pay: at its price (an auction's start price, the least it
        can sell for) and at its buy-now price."""
        return {"handle": listing.handle_display, "kind": listing.kind, "ends_at": iso(listing.ends_at),
                "accepts_offers": bool(listing.accepts_offers), "reserve_cents": listing.reserve_cents,
                "at_price": fees(listing.start_price_cents, self.commission_bps),
                "at_buy_now": fees(listing.buy_now_price_cents, self.commission_bps)
                if listing.buy_now_price_cents else None}

    def fees(self, price_cents: object) -> dict:
        """What a sale at a price pays (GET /seller/fees)."""
        return fees(v.cents({"price_cents": price_cents}, "price_cents"), self.commission_bps)

    def lot_json(self, listing: Listing, view: dict) -> dict:
        """A seller's lot: the public lot, with the reserve, offers setting, fees and whether it can be cancelled."""
        lot = {**view, "accepts_offers": bool(listing.accepts_offers), "can_cancel": self._cancellable(listing),
               "fees": fees(view.get("current_price_cents") or listing.start_price_cents, self.commission_bps)}
        if listing.reserve_cents is not None:
            lot["reserve_cents"] = listing.reserve_cents
        return lot

    def lots(self, user: User, page: int = 1, per_page: int = 50) -> dict:
        """A page of the seller's lots, newest first."""
        query = select(Listing).where(Listing.seller_id == user.id)
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.session.execute(query.order_by(Listing.created_at.desc(), Listing.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)).scalars().all()
        views = self.listings.views(rows)
        return {"items": [self.lot_json(row, view) for row, view in zip(rows, views, strict=True)],
                "page": page, "per_page": per_page, "total": total}

    def own_lot(self, user: User, lot_id: object) -> Listing:
        """One of the seller's lots; 404 for anyone else (another's lot is not theirs to manage)."""
        if isinstance(lot_id, bool) or not isinstance(lot_id, int):
            raise NotFound("lot_not_found", "There is no such lot.")
        listing = self.session.get(Listing, lot_id)
        if listing is None or listing.seller_id != user.id:
            raise NotFound("lot_not_found", "There is no such lot among yours.")
        return listing

    def _cancellable(self, listing: Listing) -> bool:
        """Open, with no bids and no orders (a checkout in progress is an order)."""
        if listing.closed_status is not None or listing.bid_count:
            return False
        return self.session.execute(select(Order.id).where(Order.listing_id == listing.id).limit(1)).first() is None

    def cancel(self, user: User, lot_id: object) -> Listing:
        """The seller withdraws their lot while nobody has bid on or ordered it; audited."""
        with transaction(self.publisher):
            listing = self.session.execute(lock_for_update(
                select(Listing).where(Listing.id == self.own_lot(user, lot_id).id))).scalar_one()
            now = self.clock.now()
            if listing.bid_count:
                raise Conflict("has_bids", "This lot has bids; bids are final, so it can no longer be cancelled.")
            if not self._cancellable(listing) and listing.closed_status is None:
                raise Conflict("has_orders", "A buyer has ordered this lot; it can no longer be cancelled.")
            try:
                outcome = auctions.cancel(engine_lot(listing, proxies_by_listing(self.session, [listing.id])
                                                     .get(listing.id, ())), now)
            except RuleViolation as exc:
                raise from_rule(exc) from None
            listing.closed_status, listing.closed_at = outcome.lot.closed_status.value, now
            record_event(self.session, self.publisher, listing, "lot_closed",
                         {"status": listing.closed_status, "winner_alias": None, "amount_cents": None}, now)
            audit(self.session, now, user, "seller.lot.cancel", f"lot:{listing.id}", {"handle": listing.handle_name})
        return listing

    # ---- sales and payouts -----------------------------------------------------------------
    def sales(self, user: User, limit: int = 50) -> list[dict]:
        """Orders where the user is the seller, newest first, each with its payout state."""
        rows = self.session.execute(select(Order, Listing).join(Listing, Listing.id == Order.listing_id)
                                    .where(Order.seller_id == user.id)
                                    .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)).all()
        return [{"order": order, "listing": listing, "payout": payout_state(self.session, order)}
                for order, listing in rows]

    def paid_out_cents(self, user: User) -> int:
        """Everything paid out to the seller, from the payment log."""
        return int(self.session.execute(select(func.coalesce(func.sum(PaymentRecord.amount_cents), 0)).where(
            PaymentRecord.user_id == user.id, PaymentRecord.kind == "payout")).scalar_one())

    def start_payouts(self, user: User, gateway, return_url: str, refresh_url: str) -> str:
        """Make the seller's Stripe Connect account once (idempotently), and return its onboarding link."""
        seller = self.session.get(User, user.id)
        account_id = seller.stripe_account_id
        if not account_id:
            account_id = gateway.create_connected_account(seller.email, f"seller:{seller.id}:connect")
            with transaction():
                row = self.session.execute(lock_for_update(select(User).where(User.id == seller.id))).scalar_one()
                if row.stripe_account_id:
                    account_id = row.stripe_account_id  # another tab got there first
                else:
                    row.stripe_account_id = account_id
                    audit(self.session, self.clock.now(), user, "seller.payouts", f"user:{user.id}",
                          {"stripe_account_id": account_id})
        return gateway.account_onboarding_url(account_id, return_url, refresh_url)

    def payout_status(self, user: User, gateway) -> dict:
        """none (no account yet), pending (onboarding not finished) or ready, as Stripe says now."""
        seller = self.session.get(User, user.id)
        if not seller.stripe_account_id:
            return {"state": "none", "details_submitted": False, "payouts_enabled": False}
        status = gateway.account_status(seller.stripe_account_id)
        return {"state": "ready" if status["payouts_enabled"] else "pending", **status}


def _flag(data: dict, name: str) -> bool:
    """A true/false field (absent: false); anything but a boolean is refused."""
    value = data.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest("invalid_field", "'%(name)s' must be true or false.", name=name)
    return value
