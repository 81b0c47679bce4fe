"""Offers on fixed-price lots: made, countered, accepted into an order, declined, withdrawn, expired.

The rules live in `auctions.offers`; this service loads one buyer's negotiation on a lot under the
lot's row lock, applies a command, writes the rows back and tells the other side. Accepting starts
the same checkout as buying the lot (the lot is held for the buyer, an order opens at the offer's
amount, settlement charges the saved card), so an accept and a buy-now, or two accepts, cannot both
win: each takes the lot's lock and the second meets the first one's hold.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

import auctions
from auctions import RuleViolation
from auctions import offers as rules
from auctions.offers import Negotiation, OfferDeclined, OfferExpired, OfferMade, Side

from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import BadRequest, Conflict, Forbidden, NotFound, ServiceError, from_rule
from ..models import Listing, ListingKind, Offer, OfferStatus, Order, OrderStatus, User
from .lots import aliases, check_may_take_part, fixed_of, hold_for_checkout
from .notices import notify
from .payments import PaymentRequired
from .settlement import open_order

MAX_KEY_LENGTH = 100
# The buyer accepting a counter is at the screen, so the usual 15-minute checkout hold will do; when
# the seller accepts, the buyer may be away, so a declined card leaves them a day to pay.
SELLER_ACCEPT_HOLD_SECONDS = 24 * 3600
ENDED_ORDER_STATUSES = (OrderStatus.LAPSED, OrderStatus.REFUNDED, OrderStatus.DECLINED)
# Engine refusals and the HTTP status each maps to (the rest are 422).
RULE_STATUS = {
    "invalid_amount": 400,
    "invalid_message": 400,
    "offer_pending": 409,
    "offer_closed": 409,
    "no_offer": 409,
    "ended": 409,
    "not_started": 409,
    "held_by_other": 409,
    "own_offer": 403,
    "not_your_offer": 403,
    "seller_cannot_bid": 403,
}
REASON_SOLD = "The lot was sold."
REASON_CLOSED = "The lot is no longer for sale."
REASON_NO_OFFERS = "The seller no longer takes offers on this lot."


def refused(violation: RuleViolation) -> ServiceError:
    """An engine refusal as a service error with its status."""
    return from_rule(violation, RULE_STATUS)


def offer_for(session, user: User, offer_id: object) -> Offer:
    """An offer its buyer, its seller or an admin may see; 404 for anyone else."""
    if isinstance(offer_id, bool) or not isinstance(offer_id, int):
        raise NotFound("offer_not_found", "There is no such offer.")
    offer = session.get(Offer, offer_id)
    if offer is None or not (user.is_admin or user.id in (offer.buyer_id, offer.seller_id)):
        raise NotFound("offer_not_found", "There is no such offer.")
    return offer


def side_of(user: User, offer: Offer) -> Side | None:
    """Which side of the offer the user is on (None: an admin looking on)."""
    if user.id == offer.buyer_id:
        return Side.BUYER
    if user.id == offer.seller_id:
        return Side.SELLER
    return None


def engine_offer(row: Offer) -> rules.Offer:
    """The engine state of one offer row."""
    return rules.Offer(amount_cents=row.amount_cents, made_by=Side(row.made_by), created_at=row.created_at,
                       expires_at=row.expires_at, status=rules.OfferState(row.status), decided_at=row.decided_at)


def negotiation_rows(session, listing_id: int, buyer_id: int) -> list[Offer]:
    """One buyer's offers on one lot, oldest first (read fresh: the caller holds the lot's lock)."""
    return list(session.execute(
        select(Offer).where(Offer.listing_id == listing_id, Offer.buyer_id == buyer_id).order_by(Offer.id)
        .execution_options(populate_existing=True)).scalars())


def negotiation_of(listing: Listing, rows: list[Offer]) -> Negotiation:
    """The engine's negotiation for a lot and a buyer's offer rows."""
    return Negotiation(price_cents=listing.start_price_cents, offers=tuple(engine_offer(r) for r in rows),
                       lot_ends_at=listing.ends_at)


def store(session, listing: Listing, buyer_id: int, rows: list[Offer], outcome, now,
          message: str | None = None, key: str | None = None) -> Offer | None:
    """Write a command's outcome back to the rows; return the offer it opened, if any."""
    states = outcome.negotiation.offers
    for row, state in zip(rows, states):
        row.status, row.decided_at = state.status.value, state.decided_at
    made = None
    for state in states[len(rows):]:
        event = next(e for e in outcome.events if isinstance(e, OfferMade))
        made = Offer(listing_id=listing.id, buyer_id=buyer_id, seller_id=listing.seller_id,
                     made_by=state.made_by.value, amount_cents=state.amount_cents, message=message,
                     status=state.status.value, parent_id=rows[-1].id if event.countered and rows else None,
                     idempotency_key=key, created_at=state.created_at, expires_at=state.expires_at)
        session.add(made)
    session.flush()
    return made


def _tell(session, publisher, user_id: int, kind: str, offer: Offer, now, **extra) -> None:
    """A notice about an offer to one side."""
    notify(session, publisher, user_id, kind, now, lot_id=offer.listing_id, offer_id=offer.id,
           amount_cents=offer.amount_cents, **extra)


def end_open_offers(session, publisher, listing: Listing, now, reason: str, except_buyer: int | None = None) -> int:
    """The lot was sold or withdrawn: its open offers end declined, and their buyers are told why.

    Runs in the caller's transaction, which holds the lot's lock.
    """
    buyers = session.execute(select(Offer.buyer_id).where(
        Offer.listing_id == listing.id, Offer.status == OfferStatus.PENDING).distinct()).scalars().all()
    for buyer_id in buyers:
        rows = negotiation_rows(session, listing.id, buyer_id)
        outcome = rules.end(negotiation_of(listing, rows), now, reason)
        if not outcome.events:
            continue
        store(session, listing, buyer_id, rows, outcome, now)
        if buyer_id != except_buyer:
            _tell(session, publisher, buyer_id, "offer_declined", rows[-1], now, reason=reason)
    return len(buyers)


class OfferService:
    """Offers on fixed-price lots, for buyers, sellers and the worker."""

    def __init__(self, session, clock, publisher, settlement, commission_bps: int):
        """Take the session, the clock, the live publisher, settlement (to charge at once) and the commission."""
        self.session = session
        self.clock = clock
        self.publisher = publisher
        self.settlement = settlement
        self.commission_bps = commission_bps

    # ---- reading -------------------------------------------------------------------------
    def get(self, user: User, offer_id: object) -> Offer:
        """An offer the user may see (404 otherwise)."""
        return offer_for(self.session, user, offer_id)

    def views(self, offers: list[Offer], user: User) -> list[dict]:
        """The API shape of several offers, as `user` sees them."""
        now = self.clock.now()
        names = aliases(self.session, [o.buyer_id for o in offers] + [o.seller_id for o in offers])
        return [offer_json(o, user, now, names) for o in offers]

    def view(self, offer: Offer, user: User) -> dict:
        """The API shape of one offer, as `user` sees it."""
        return self.views([offer], user)[0]

    def mine(self, user: User, role: object = "all", page: int = 1, per_page: int = 50) -> dict:
        """A page of the user's offers as buyer, as seller or both, newest first."""
        if role not in ("all", "buyer", "seller"):
            raise BadRequest("invalid_role", "role must be all, buyer or seller.")
        who = {"buyer": Offer.buyer_id == user.id, "seller": Offer.seller_id == user.id,
               "all": or_(Offer.buyer_id == user.id, Offer.seller_id == user.id)}[role]
        total = self.session.execute(select(func.count()).select_from(Offer).where(who)).scalar_one()
        rows = list(self.session.execute(select(Offer).where(who).order_by(Offer.id.desc())
                                         .offset((page - 1) * per_page).limit(per_page)).scalars())
        return {"items": self.views(rows, user), "page": page, "per_page": per_page, "total": total}

    def open_for_seller(self, user: User, limit: int = 20) -> list[dict]:
        """Offers waiting for the seller's answer on the user's lots, soonest to expire first."""
        now = self.clock.now()
        rows = list(self.session.execute(select(Offer).where(
            Offer.seller_id == user.id, Offer.status == OfferStatus.PENDING, Offer.made_by == Side.BUYER.value,
            Offer.expires_at > now).order_by(Offer.expires_at, Offer.id).limit(limit)).scalars())
        return self.views(rows, user)

    def lot_box(self, user: User | None, listing: Listing) -> dict:
        """What a lot page says about offers: whether it takes them, and the user's open one."""
        now = self.clock.now()
        takes = takes_offers(listing) and fixed_of(listing).status(now) == auctions.LotStatus.LIVE
        box = {"accepts_offers": takes, "is_seller": False, "open_offer": None,
               "max_cents": listing.start_price_cents - 1}
        if user is None or not getattr(user, "is_authenticated", False):
            return box
        box["is_seller"] = user.id == listing.seller_id
        pending = self.session.execute(select(Offer).where(
            Offer.listing_id == listing.id, Offer.buyer_id == user.id, Offer.status == OfferStatus.PENDING,
            Offer.expires_at > now).order_by(Offer.id.desc()).limit(1)).scalar_one_or_none()
        box["open_offer"] = self.view(pending, user) if pending is not None else None
        return box

    # ---- the buyer's offer ----------------------------------------------------------------
    def make(self, user: User, lot_id: object, amount_cents: object, message: object = None,
             key: object = None) -> tuple[Offer, bool]:
        """Offer below a fixed-price lot's price; returns (offer, made now). A retried key returns the first."""
        if isinstance(lot_id, bool) or not isinstance(lot_id, int):
            raise NotFound("lot_not_found", "There is no such lot.")
        try:
            amount = auctions.check_amount(amount_cents)
            note = rules.check_message(message)
        except RuleViolation as exc:
            raise refused(exc) from None
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH):
            raise BadRequest("invalid_key", "The idempotency key must be text of 1 to %(max)s characters.",
                                            max=MAX_KEY_LENGTH)
        with transaction(self.publisher):
            listing = self._locked_lot(lot_id)
            now = self.clock.now()
            if key is not None:
                seen = self.session.execute(select(Offer).where(
                    Offer.buyer_id == user.id, Offer.idempotency_key == key)).scalar_one_or_none()
                if seen is not None:
                    if seen.listing_id != listing.id or seen.amount_cents != amount:
                        raise ServiceError("idempotency_key_reused",
                                           "This idempotency key was used for a different offer.", 422)
                    return seen, False
            self._check_open_for_offers(listing, now)
            check_may_take_part(self.session, user, listing, now, "make an offer on")
            if not user.has_payment_method:
                raise PaymentRequired("payment_method_required", "Save a card before making an offer: if "
                                      "the seller accepts, the card is charged.", "/account/card")
            rows = negotiation_rows(self.session, listing.id, user.id)
            try:
                outcome = rules.make_offer(negotiation_of(listing, rows), amount, now)
            except RuleViolation as exc:
                raise refused(exc) from None
            offer = store(self.session, listing, user.id, rows, outcome, now, note, key)
            _tell(self.session, self.publisher, listing.seller_id, "offer_received", offer, now,
                  expires_at=offer.expires_at.isoformat())
        return offer, True

    # ---- answering ------------------------------------------------------------------------
    def accept(self, user: User, offer_id: object) -> tuple[Offer, Order]:
        """Accept the other side's offer: the lot is held for the buyer and an order opens at its amount,
        charged at once to the buyer's saved card."""
        offer = offer_for(self.session, user, offer_id)
        side = self._party(user, offer)
        if side == Side.BUYER and not user.has_payment_method:
            raise PaymentRequired("payment_method_required", "Save a card before accepting: it is charged "
                                  "at once.", "/account/card")
        with transaction(self.publisher):
            listing, rows, offer, now = self._locked_negotiation(offer)
            outcome = self._apply(rules.accept, rows, listing, side, now)
            buyer = self.session.get(User, offer.buyer_id)
            self._check_open_for_offers(listing, now)
            busy = self.session.execute(select(Order.id).where(
                Order.listing_id == listing.id, Order.buyer_id == buyer.id,
                Order.status.not_in([s.value for s in ENDED_ORDER_STATUSES]))).first()
            if busy is not None:
                raise Conflict("order_in_progress", "The buyer already has an order for this lot.")
            try:
                check_may_take_part(self.session, buyer, listing, now, "buy")
            except Forbidden as exc:
                if side == Side.BUYER:
                    raise
                raise Conflict("buyer_cannot_buy", "This buyer may no longer buy this lot.") from exc
            hold = auctions.HOLD_SECONDS if side == Side.BUYER else SELLER_ACCEPT_HOLD_SECONDS
            try:
                hold_for_checkout(self.session, self.publisher, listing, buyer.id, now, hold)
            except RuleViolation as exc:
                raise refused(exc) from None
            order = open_order(self.session, listing, buyer.id, offer.amount_cents, "offer", now, self.commission_bps)
            order.pay_by = listing.hold_until
            store(self.session, listing, buyer.id, rows, outcome, now)
            offer.order_id = order.id
            other = offer.seller_id if side == Side.BUYER else offer.buyer_id
            _tell(self.session, self.publisher, other, "offer_accepted", offer, now, order_id=order.id)
        self.settlement.step(order.id)
        self.session.expire_all()
        return self.session.get(Offer, offer.id), self.session.get(Order, order.id)

    def decline(self, user: User, offer_id: object) -> Offer:
        """Turn the other side's offer down."""
        offer = offer_for(self.session, user, offer_id)
        side = self._party(user, offer)
        with transaction(self.publisher):
            listing, rows, offer, now = self._locked_negotiation(offer)
            outcome = self._apply(rules.decline, rows, listing, side, now)
            store(self.session, listing, offer.buyer_id, rows, outcome, now)
            maker = offer.buyer_id if offer.made_by == Side.BUYER else offer.seller_id
            _tell(self.session, self.publisher, maker, "offer_declined", offer, now)
        return offer

    def counter(self, user: User, offer_id: object, amount_cents: object, message: object = None) -> Offer:
        """Answer the other side's offer with another amount; returns the new (counter) offer."""
        offer = offer_for(self.session, user, offer_id)
        side = self._party(user, offer)
        try:
            amount = auctions.check_amount(amount_cents)
            note = rules.check_message(message)
        except RuleViolation as exc:
            raise refused(exc) from None
        with transaction(self.publisher):
            listing, rows, offer, now = self._locked_negotiation(offer)
            self._check_open_for_offers(listing, now)
            if side == Side.BUYER:
                check_may_take_part(self.session, user, listing, now, "make an offer on")
            outcome = self._apply(rules.counter, rows, listing, side, now, amount)
            made = store(self.session, listing, offer.buyer_id, rows, outcome, now, note)
            other = offer.seller_id if side == Side.BUYER else offer.buyer_id
            _tell(self.session, self.publisher, other, "offer_countered", made, now,
                  expires_at=made.expires_at.isoformat())
        return made

    def withdraw(self, user: User, offer_id: object) -> Offer:
        """The side that made an open offer takes it back."""
        offer = offer_for(self.session, user, offer_id)
        side = self._party(user, offer)
        with transaction(self.publisher):
            listing, rows, offer, now = self._locked_negotiation(offer)
            outcome = self._apply(rules.withdraw, rows, listing, side, now)
            store(self.session, listing, offer.buyer_id, rows, outcome, now)
        return offer

    # ---- the worker -----------------------------------------------------------------------
    def expire_due(self, limit: int = 100) -> int:
        """End open offers past their time (expired) or on lots no longer taking them (declined)."""
        now = self.clock.now()
        due = self.session.execute(
            select(Offer.listing_id, Offer.buyer_id).join(Listing, Listing.id == Offer.listing_id)
            .where(Offer.status == OfferStatus.PENDING,
                   or_(Offer.expires_at <= now, Listing.closed_status.is_not(None), Listing.accepts_offers.is_(False),
                       Listing.ends_at <= now))
            .distinct().limit(limit)).all()
        self.session.rollback()
        ended = 0
        for listing_id, buyer_id in due:
            with transaction(self.publisher):
                listing = self._locked_lot(listing_id)
                now = self.clock.now()
                rows = negotiation_rows(self.session, listing.id, buyer_id)
                neg = negotiation_of(listing, rows)
                live = fixed_of(listing).status(now) == auctions.LotStatus.LIVE if listing.kind == ListingKind.FIXED \
                    else False
                if takes_offers(listing) and live:
                    outcome = rules.expire(neg, now)
                else:
                    reason = (REASON_SOLD if listing.closed_status in ("ended", "sold") else
                              REASON_NO_OFFERS if live else REASON_CLOSED)
                    outcome = rules.end(neg, now, reason)
                if not outcome.events:
                    continue
                store(self.session, listing, buyer_id, rows, outcome, now)
                offer = rows[-1]
                for event in outcome.events:
                    if isinstance(event, OfferExpired):
                        maker = offer.buyer_id if event.made_by == Side.BUYER else offer.seller_id
                        _tell(self.session, self.publisher, maker, "offer_expired", offer, now)
                    elif isinstance(event, OfferDeclined):
                        _tell(self.session, self.publisher, offer.buyer_id, "offer_declined", offer, now,
                              reason=event.reason)
                ended += 1
        return ended

    # ---- helpers --------------------------------------------------------------------------
    def _locked_lot(self, lot_id: int) -> Listing:
        """The lot's row, locked for this transaction (404 if there is none)."""
        listing = self.session.execute(
            lock_for_update(select(Listing).where(Listing.id == lot_id))).scalar_one_or_none()
        if listing is None:
            raise NotFound("lot_not_found", "There is no such lot.")
        return listing

    def _locked_negotiation(self, offer: Offer):
        """Lock the offer's lot and read its negotiation fresh; the offer must be its newest."""
        listing = self._locked_lot(offer.listing_id)
        now = self.clock.now()
        rows = negotiation_rows(self.session, listing.id, offer.buyer_id)
        current = next(r for r in rows if r.id == offer.id)
        if rows[-1].id != current.id:
            raise Conflict("offer_closed", rules.closed_message(current.status))
        return listing, rows, current, now

    def _apply(self, command, rows: list[Offer], listing: Listing, side: Side, now, *args):
        """Run an engine command on the negotiation, as a service error when refused."""
        try:
            return command(negotiation_of(listing, rows), side, *args, now) if args else command(
                negotiation_of(listing, rows), side, now)
        except RuleViolation as exc:
            raise refused(exc) from None

    @staticmethod
    def _party(user: User, offer: Offer) -> Side:
        """The user's side of the offer; an admin who is neither side may look but not act."""
        side = side_of(user, offer)
        if side is None:
            raise Forbidden("not_a_party", "Only the buyer and the seller may answer an offer.")
        return side

    @staticmethod
    def _check_open_for_offers(listing: Listing, now) -> None:
        """Refuse lots that take no offers, or are not on sale now."""
        if not takes_offers(listing):
            raise ServiceError("offers_not_accepted", "This lot does not take offers.", 422)
        status = fixed_of(listing).status(now)
        if status == auctions.LotStatus.SCHEDULED:
            raise Conflict("not_started", "This lot is not on sale yet.")
        if status != auctions.LotStatus.LIVE:
            raise Conflict("ended", "This lot is no longer for sale.")


def takes_offers(listing: Listing) -> bool:
    """Whether a lot takes offers: a seller's fixed-price lot with offers switched on."""
    return listing.kind == ListingKind.FIXED and bool(listing.accepts_offers) and listing.seller_id is not None


def offer_json(offer: Offer, user: User, now, names: dict[int, str]) -> dict:
    """The API shape of an offer, with what the viewing user may do with it now."""
    state = engine_offer(offer)
    side = side_of(user, offer)
    actions: list[str] = []
    if side is not None and state.is_open(now):
        actions = ["withdraw"] if side == Side(offer.made_by) else ["accept", "decline", "counter"]
    listing = offer.listing
    return {"id": offer.id, "lot_id": offer.listing_id, "handle": listing.handle_display,
            "price_cents": listing.start_price_cents, "status": state.status_at(now).value,
            "made_by": offer.made_by, "amount_cents": offer.amount_cents, "message": offer.message,
            "buyer_alias": names.get(offer.buyer_id), "seller_alias": names.get(offer.seller_id),
            "your_side": side.value if side else None, "actions": actions, "parent_id": offer.parent_id,
            "order_id": offer.order_id, "created_at": iso(offer.created_at), "expires_at": iso(offer.expires_at),
            "decided_at": iso(offer.decided_at)}
