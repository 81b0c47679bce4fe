"""Buying at a price: fixed-price checkout, Dutch lots and buy-now, through the order machine."""
from __future__ import annotations

from sqlalchemy import select

import auctions
from auctions import Purchased, RuleViolation

from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import BadRequest, Conflict, NotFound, from_rule
from ..models import Listing, ListingKind, Order, OrderStatus, ProxyBid, User
from .lots import aliases, auction_of, check_may_take_part, dutch_of, fixed_of, hold_for_checkout, record_event
from .payments import PaymentRequired
from .settlement import open_order

MAX_KEY_LENGTH = 100


def close_sold(session, publisher, listing: Listing, buyer_id: int, price_cents: int, now) -> None:
    """Mark a lot sold to a buyer (awaiting settlement) and tell its watchers, in the caller's transaction."""
    listing.closed_status = "ended"
    listing.closed_at = now
    listing.winner_id = buyer_id
    listing.final_price_cents = price_cents
    listing.current_price_cents = price_cents
    listing.hold_buyer_id = listing.hold_until = None
    record_event(session, publisher, listing, "lot_closed", {
        "status": "ended", "winner_alias": aliases(session, [buyer_id]).get(buyer_id),
        "amount_cents": price_cents}, now)


def complete_fixed_checkout(session, publisher, order: Order, now) -> None:
    """A paid fixed-price checkout (or accepted offer) sells the lot and ends its other offers;
    raises RuleViolation if the hold was lost."""
    listing = session.execute(lock_for_update(select(Listing).where(Listing.id == order.listing_id))).scalar_one()
    if listing.closed_status == "ended" and listing.winner_id == order.buyer_id:
        return  # done before a crash
    auctions.complete_purchase(fixed_of(listing), order.buyer_id, now)
    # The order's amount: the price, or a lower one the seller agreed to (an accepted offer).
    close_sold(session, publisher, listing, order.buyer_id, order.amount_cents, now)
    from .offers import REASON_SOLD, end_open_offers
    end_open_offers(session, publisher, listing, now, REASON_SOLD, except_buyer=order.buyer_id)


class PurchaseService:
    """Starts orders for lots bought at a price; the payment is attempted at once."""

    def __init__(self, session, clock, publisher, settlement, commission_bps: int):
        self.session = session
        self.clock = clock
        self.publisher = publisher
        self.settlement = settlement
        self.commission_bps = commission_bps

    def buy(self, user: User, lot_id: object, max_price_cents: object = None, key: object = None) -> Order:
        """Buy a fixed-price or Dutch lot, or an auction at its buy-now price; returns the order.

        `max_price_cents` is the price the buyer saw and confirmed: the order is never above it
        (a Dutch lot whose price fell meanwhile is bought at the lower price). `key` names one
        confirmation: the same key again returns its order, whatever became of it.
        """
        if isinstance(lot_id, bool) or not isinstance(lot_id, int):
            raise NotFound("lot_not_found", "There is no such lot.")
        if max_price_cents is not None:
            try:
                max_price_cents = auctions.check_amount(max_price_cents)
            except RuleViolation as exc:
                raise BadRequest("invalid_amount", exc.template, **exc.params) from None
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH):
            raise BadRequest("invalid_key", "The idempotency key must be text of 1 to %(max)s characters.",
                                            max=MAX_KEY_LENGTH)
        if key is not None:
            earlier = self.session.execute(select(Order).where(
                Order.buyer_id == user.id, Order.idempotency_key == key)).scalar_one_or_none()
            if earlier is not None:
                if earlier.listing_id != lot_id:
                    raise Conflict("idempotency_key_reused", "This key was already used to buy another lot.")
                return earlier  # a resent confirmation: the order it placed
        if not user.has_payment_method:
            raise PaymentRequired("payment_method_required", "Save a card before buying.", "/account/card")
        with transaction(self.publisher):
            listing = self.session.execute(
                lock_for_update(select(Listing).where(Listing.id == lot_id))).scalar_one_or_none()
            if listing is None:
                raise NotFound("lot_not_found", "There is no such lot.")
            now = self.clock.now()
            mine = self.session.execute(select(Order).where(
                Order.listing_id == listing.id, Order.buyer_id == user.id,
                Order.status.not_in([OrderStatus.LAPSED, OrderStatus.REFUNDED, OrderStatus.DECLINED]))).scalar_one_or_none()
            if mine is not None:
                return mine  # a double click, another tab, or a retry: the same order
            check_may_take_part(self.session, user, listing, now, "buy")
            order = self._start(listing, user, max_price_cents, now)
            order.idempotency_key = key
        self.settlement.step(order.id)
        return self.session.get(Order, order.id)

    def _start(self, listing: Listing, user: User, max_price_cents, now) -> Order:
        """Apply the engine's rule for this kind of lot and open the order."""
        try:
            if listing.kind == ListingKind.FIXED:
                _check_price(listing.start_price_cents, max_price_cents)
                hold_for_checkout(self.session, self.publisher, listing, user.id, now)
                order = open_order(self.session, listing, user.id, listing.start_price_cents, "fixed", now,
                                   self.commission_bps)
                order.pay_by = listing.hold_until
                return order
            if listing.kind == ListingKind.DUTCH:
                outcome = auctions.buy(dutch_of(listing), user.id, now, max_price_cents)
                source = "dutch"
            else:
                proxies = self.session.execute(
                    select(ProxyBid).where(ProxyBid.listing_id == listing.id)).scalars().all()
                outcome = auctions.buy_now(auction_of(listing, proxies), user.id, now)
                source = "buy_now"
        except RuleViolation as exc:
            raise from_rule(exc) from None
        price = next(e for e in outcome.events if isinstance(e, Purchased)).price_cents
        _check_price(price, max_price_cents)
        close_sold(self.session, self.publisher, listing, user.id, price, now)
        return open_order(self.session, listing, user.id, price, source, now, self.commission_bps)


def _check_price(price_cents: int, max_price_cents: int | None) -> None:
    """Refuse a price above the one the buyer confirmed (an admin may change a buy-now price)."""
    if max_price_cents is not None and price_cents > max_price_cents:
        raise Conflict("price_changed", "The price is %(price)s, above the %(accepted)s you accepted.",
                       price_cents=price_cents, accepted_cents=max_price_cents)


def order_for(session, user: User, order_id: int) -> Order:
    """An order its buyer, its seller or an admin may see; 404 for anyone else."""
    order = session.get(Order, order_id)
    if order is None or not (user.is_admin or user.id in (order.buyer_id, order.seller_id)):
        raise NotFound("order_not_found", "There is no such order.")
    return order


def order_json(order: Order) -> dict:
    """The API shape of an order; one waiting for its buyer says what they must do next."""
    body = {"id": order.id, "lot_id": order.listing_id, "status": order.status, "source": order.source,
            "amount_cents": order.amount_cents, "commission_cents": order.commission_cents,
            "seller_receives_cents": order.seller_receives_cents, "pay_by": iso(order.pay_by),
            "paid_at": iso(order.paid_at), "transferred_at": iso(order.transferred_at),
            "completed_at": iso(order.completed_at), "created_at": iso(order.created_at),
            "url": f"/orders/{order.id}", "next_action": None}
    if order.status == OrderStatus.ACTION_REQUIRED:
        # A payment the bank holds for the buyer's confirmation, or a card that was refused.
        body["next_action"] = {"type": "authenticate" if order.intent_id else "update_card",
                               "url": f"/orders/{order.id}/pay", "reason": order.failure}
    return body
