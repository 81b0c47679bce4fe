"""Settlement: charge the winner, move the handle, pay the seller — each step exactly once.

An order is a persisted state machine (DESIGN.md section 5). The worker calls `run_once`, which
advances every order one step at a time. Each step first asks Stripe what already happened (a
crash may have left a capture, charge or transfer done but unrecorded), then acts, then records,
so re-running any step after a crash at any point takes money once and moves the handle once.
Idempotency keys go with every Stripe call too, but nothing relies on them alone.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select

import auctions

from ..db import lock_for_update, transaction
from ..faults import crash_point
from ..models import CardHold, HoldStatus, Listing, Order, OrderStatus, ProxyBid, User
from ..payments.gateway import PaymentError
from ..registry import TransferFailed, transfer_to_buyer
from .lots import MAX_STRIKES, record_event
from .notices import notify
from .payments import record

log = logging.getLogger(__name__)

HOLD_GRACE = timedelta(seconds=60)
ACTIVE = (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, OrderStatus.TRANSFERRED)
# Orders waiting on a person: the worker looks at them when their deadline passes, and asks
# Stripe about a payment the buyer started at most this often (the pay page and webhooks ask at once).
WAITING = (OrderStatus.ACTION_REQUIRED, OrderStatus.OFFERED)
RECHECK = timedelta(minutes=2)
SECOND_CHANCE_WINDOW = timedelta(hours=24)
# Orders that are a fixed-price checkout (the lot held for the buyer): buying it, or an accepted offer.
CHECKOUT_SOURCES = ("fixed", "offer")
# Orders whose lapse is no broken promise (nothing was won against other bidders): no strike.
NO_STRIKE_SOURCES = (*CHECKOUT_SOURCES, "inquiry")


def open_order(session, listing: Listing, buyer_id: int, amount_cents: int, source: str, now,
               commission_bps: int) -> Order:
    """Start the order for a sale, in the caller's transaction (closing or buying the lot)."""
    commission = auctions.commission_for(amount_cents, commission_bps) if listing.seller_id else 0
    order = Order(listing_id=listing.id, buyer_id=buyer_id, seller_id=listing.seller_id, source=source,
                  amount_cents=amount_cents, commission_cents=commission, status=OrderStatus.AWAITING_PAYMENT,
                  created_at=now, updated_at=now)
    session.add(order)
    session.flush()
    return order


class SettlementService:
    """Drives orders and card holds forward; safe to run in several workers and to re-run."""

    def __init__(self, session, clock, gateway, publisher, config):
        self.session = session
        self.clock = clock
        self.gateway = gateway
        self.publisher = publisher
        self.payment_window = timedelta(hours=config.get("PAYMENT_WINDOW_HOURS", 48))
        self.transfer_window = timedelta(hours=config.get("TRANSFER_WINDOW_HOURS", 48))
        self.commission_bps = config.get("COMMISSION_BPS", 1_000)

    # ---- the worker's entry point --------------------------------------------------------
    def run_once(self, limit: int = 50) -> dict:
        """Advance due orders and release holds nobody needs; return what was done."""
        done = {"orders": 0, "holds_released": 0}
        now = self.clock.now()
        ids = self.session.execute(select(Order.id).where(or_(
            Order.status.in_([s.value for s in ACTIVE]),
            and_(Order.status.in_([s.value for s in WAITING]),
                 or_(Order.pay_by <= now, Order.updated_at <= now - RECHECK)))).order_by(Order.id).limit(limit)
        ).scalars().all()
        self.session.rollback()
        for order_id in ids:
            while self.step(order_id):
                done["orders"] += 1
        done["holds_released"] = self.release_holds(limit)
        return done

    def step(self, order_id: int) -> bool:
        """Take one step of one order; False when it must wait (or is finished)."""
        order = self.session.get(Order, order_id)
        status = OrderStatus(order.status)
        try:
            if status == OrderStatus.AWAITING_PAYMENT:
                return self._take_payment(order)
            if status == OrderStatus.ACTION_REQUIRED:
                return self._paid_by_buyer(order) or self._expire_if_unpaid(order)
            if status == OrderStatus.OFFERED:
                return self._expire_offer(order)
            if status == OrderStatus.PAID:
                return self._transfer_handle(order)
            if status == OrderStatus.TRANSFERRED:
                return self._pay_seller(order)
        except PaymentError as exc:
            if exc.code == "unavailable":
                log.warning("order %s waits: payments unavailable (%s)", order_id, exc.message)
                self.session.rollback()
                return False
            raise
        finally:
            self.session.rollback()  # end any read transaction; every write above committed
        return False

    # ---- locking -------------------------------------------------------------------------
    def _locked(self, order_id: int, expected: OrderStatus) -> Order | None:
        """The order, locked, if it is still in the expected state (another worker may have moved it)."""
        order = self.session.execute(lock_for_update(select(Order).where(Order.id == order_id))).scalar_one()
        return order if order.status == expected else None

    # ---- awaiting_payment → paid | action_required ---------------------------------------
    def _winning_hold(self, order: Order) -> CardHold | None:
        """The buyer's live authorisation on this lot that covers the price."""
        return self.session.execute(select(CardHold).where(
            CardHold.user_id == order.buyer_id, CardHold.listing_id == order.listing_id,
            CardHold.status == HoldStatus.AUTHORIZED, CardHold.amount_cents >= order.amount_cents,
            CardHold.expires_at > self.clock.now()).order_by(CardHold.amount_cents.desc()).limit(1)
        ).scalar_one_or_none()

    def _take_payment(self, order: Order) -> bool:
        """Capture the winner's hold for the final price, or charge the saved card off-session."""
        hold = self._winning_hold(order)
        buyer = self.session.get(User, order.buyer_id)
        intent = None
        if hold is not None:
            current = self.gateway.retrieve(hold.intent_id)
            if current.status == "requires_capture":
                intent = self.gateway.capture(hold.intent_id, order.amount_cents, f"order:{order.id}:capture")
                crash_point("after_capture")
            elif current.status == "succeeded":
                intent = current  # captured before a crash; only the record was missing
        if intent is None:
            intent = self._find_charge(order, buyer)
        if intent is None:
            if not buyer.has_payment_method:
                return self._needs_buyer(order, "no saved card")
            try:
                intent = self.gateway.charge(buyer.stripe_customer_id, buyer.payment_method_id, order.amount_cents,
                                             f"order:{order.id}:charge",
                                             {"order_id": str(order.id), "payment_method": buyer.payment_method_id})
                crash_point("after_charge")
            except PaymentError as exc:
                if exc.code == "unavailable":
                    raise
                # A payment the bank wants confirmed stays on the order for the pay page.
                return self._needs_buyer(order, exc.message,
                                         exc.intent_id if exc.code == "authentication_required" else None)
            if intent.status != "succeeded":
                return self._needs_buyer(order, "the bank asks the buyer to authenticate", intent.id)
        return self._mark_paid(order, intent, hold, OrderStatus.AWAITING_PAYMENT)

    def _mark_paid(self, order: Order, intent, hold: CardHold | None, expected: OrderStatus) -> bool:
        """Write down money Stripe has taken for the order (once: the order is locked and re-checked)."""
        with transaction(self.publisher):
            locked = self._locked(order.id, expected)
            if locked is None:
                return True
            now = self.clock.now()
            locked.status, locked.paid_at, locked.updated_at = OrderStatus.PAID, now, now
            locked.intent_id, locked.charge_id, locked.failure = intent.id, intent.charge_id, None
            locked.transfer_due_at = now + self.transfer_window
            if hold is not None and hold.intent_id == intent.id:
                captured = self.session.get(CardHold, hold.id)
                captured.status, captured.updated_at = HoldStatus.CAPTURED, now
                locked.hold_id = hold.id
            if order.source in CHECKOUT_SOURCES:
                self._sell_fixed(locked, now)
            record(self.session, "captured" if locked.hold_id else "charged", order.amount_cents, now,
                   order_id=order.id, user_id=order.buyer_id, stripe_id=intent.id,
                   idempotency_key=f"order:{order.id}:{'capture' if locked.hold_id else 'charge'}")
            notify(self.session, self.publisher, order.buyer_id, "payment_taken", now, lot_id=order.listing_id,
                   order_id=order.id, amount_cents=order.amount_cents)
            if order.seller_id is not None:  # the seller hears of the sale once the money is in
                notify(self.session, self.publisher, order.seller_id, "lot_sold", now, lot_id=order.listing_id,
                       order_id=order.id, amount_cents=order.amount_cents,
                       receives_cents=order.seller_receives_cents)
        return True

    def _sell_fixed(self, order: Order, now) -> None:
        """A paid checkout sells the fixed-price lot; if its hold was lost, the transfer step refunds."""
        from .purchases import complete_fixed_checkout

        try:
            with self.session.begin_nested():
                complete_fixed_checkout(self.session, self.publisher, order, now)
        except auctions.RuleViolation as exc:
            order.failure = f"checkout hold lost: {exc.message}"[:200]

    def _find_charge(self, order: Order, buyer: User):
        """A succeeded charge for this order that Stripe has and we did not record (crash recovery)."""
        if not buyer.stripe_customer_id:
            return None
        for intent in self.gateway.list_intents(buyer.stripe_customer_id):
            if intent.metadata.get("order_id") == str(order.id) and intent.status == "succeeded":
                return intent
        return None

    def _needs_buyer(self, order: Order, reason: str, intent_id: str | None = None) -> bool:
        """The card failed: the buyer has the payment window to pay in the browser."""
        with transaction(self.publisher):
            locked = self._locked(order.id, OrderStatus.AWAITING_PAYMENT)
            if locked is None:
                return True
            now = self.clock.now()
            locked.status, locked.updated_at = OrderStatus.ACTION_REQUIRED, now
            # A fixed-price checkout keeps its 15-minute hold as the deadline; a win gets the window.
            locked.pay_by, locked.failure = locked.pay_by or now + self.payment_window, reason[:200]
            locked.intent_id = intent_id
            record(self.session, "charge_failed", order.amount_cents, now, order_id=order.id,
                   user_id=order.buyer_id, stripe_id=intent_id, reason=reason)
            notify(self.session, self.publisher, order.buyer_id, "payment_needed", now, lot_id=order.listing_id,
                   order_id=order.id, amount_cents=order.amount_cents, pay_by=locked.pay_by.isoformat())
        return False

    # ---- action_required → paid | lapsed ----------------------------------------------------
    def confirm_payment(self, order_id: int) -> bool:
        """The buyer says they paid (pay page, bank check, webhook): ask Stripe now, and move on."""
        order = self.session.get(Order, order_id)
        try:
            return order.status == OrderStatus.ACTION_REQUIRED and self._paid_by_buyer(order, at_once=True)
        finally:
            self.session.rollback()

    def advance(self, order_id: int) -> str:
        """Take every step the order can take now; its status after."""
        for _ in range(len(OrderStatus)):
            if not self.step(order_id):
                break
        return self.session.get(Order, order_id).status

    def _paid_by_buyer(self, order: Order, at_once: bool = False) -> bool:
        """A payment the buyer made on the pay page (or confirmed with their bank) has succeeded."""
        now = self.clock.now()
        due = order.pay_by is not None and order.pay_by <= now
        if order.intent_id is None or not (at_once or due or order.updated_at <= now - RECHECK):
            return False
        intent = self.gateway.retrieve(order.intent_id)
        if intent.status != "succeeded":
            return False
        return self._mark_paid(order, intent, None, OrderStatus.ACTION_REQUIRED)

    def _touch(self, order: Order) -> bool:
        """Remember the order was looked at, so the worker looks again only after RECHECK."""
        with transaction():
            self.session.get(Order, order.id).updated_at = self.clock.now()
        return False

    def _expire_if_unpaid(self, order: Order) -> bool:
        """After the payment window the order lapses: a non-paying winner gets a strike and the
        runner-up a second-chance offer; a bought lot goes back on sale."""
        if order.pay_by is None or order.pay_by > self.clock.now():
            return self._touch(order)
        with transaction(self.publisher):
            locked = self._locked(order.id, OrderStatus.ACTION_REQUIRED)
            if locked is None:
                return True
            now = self.clock.now()
            locked.status, locked.updated_at = OrderStatus.LAPSED, now
            buyer = self.session.get(User, order.buyer_id)
            if order.source not in NO_STRIKE_SOURCES:  # an abandoned checkout is no broken promise; a win is
                buyer.strikes += 1
            record(self.session, "lapsed", 0, now, order_id=order.id, user_id=order.buyer_id)
            notify(self.session, self.publisher, order.buyer_id, "order_lapsed", now, lot_id=order.listing_id,
                   order_id=order.id, strikes=buyer.strikes)
            listing = self.session.execute(
                lock_for_update(select(Listing).where(Listing.id == order.listing_id))).scalar_one()
            if order.source in CHECKOUT_SOURCES:
                self._end_checkout_hold(listing, order.buyer_id, now)
            elif order.source == "auction":
                self._offer_second_chance(locked, listing, now)
            else:
                self._back_on_sale(listing, now)
        return True

    def _end_checkout_hold(self, listing: Listing, buyer_id: int, now) -> None:
        """An unpaid checkout frees its fixed-price lot, and every watcher sees it on sale again.

        Only this buyer's hold: once it ran out another buyer may have started checkout."""
        if listing.closed_status is None and listing.hold_buyer_id == buyer_id:
            listing.hold_buyer_id = listing.hold_until = None
            record_event(self.session, self.publisher, listing, "lot_hold_ended", {"held_until": None}, now)

    # ---- second-chance offers: offered → awaiting_payment | declined ------------------------
    def _offer_second_chance(self, lapsed: Order, listing: Listing, now) -> None:
        """Offer the lot to the runner-up at their own highest bid, for 24 hours (once per lot)."""
        runner = self.session.execute(
            select(ProxyBid).join(User, User.id == ProxyBid.bidder_id)
            .where(ProxyBid.listing_id == listing.id, ProxyBid.bidder_id != lapsed.buyer_id,
                   User.strikes < MAX_STRIKES)
            .order_by(ProxyBid.max_cents.desc(), ProxyBid.order).limit(1)).scalar_one_or_none()
        if lapsed.source != "auction" or runner is None or runner.max_cents < (listing.reserve_cents or 0):
            self._close_unsold(listing, now)
            return
        offer = open_order(self.session, listing, runner.bidder_id, runner.max_cents, "second_chance", now,
                           self.commission_bps)
        offer.status, offer.pay_by, offer.second_chance_of_id = OrderStatus.OFFERED, now + SECOND_CHANCE_WINDOW, lapsed.id
        listing.winner_id, listing.final_price_cents = None, None
        record(self.session, "second_chance_offered", offer.amount_cents, now, order_id=offer.id,
               user_id=runner.bidder_id, replaces=lapsed.id)
        notify(self.session, self.publisher, runner.bidder_id, "second_chance_offer", now, lot_id=listing.id,
               order_id=offer.id, handle=listing.handle_display, amount_cents=offer.amount_cents,
               pay_by=offer.pay_by.isoformat())

    def _expire_offer(self, order: Order) -> bool:
        """An offer not accepted within its 24 hours ends, and the lot closes unsold."""
        if order.pay_by > self.clock.now():
            return self._touch(order)
        return self.end_offer(order.id, order.buyer_id, "the offer expired")

    def end_offer(self, order_id: int, user_id: int, why: str) -> bool:
        """The runner-up declined the offer, or let it expire: the lot closes unsold."""
        with transaction(self.publisher):
            locked = self._locked(order_id, OrderStatus.OFFERED)
            if locked is None or locked.buyer_id != user_id:
                return False
            now = self.clock.now()
            locked.status, locked.failure, locked.updated_at = OrderStatus.DECLINED, why, now
            record(self.session, "second_chance_declined", 0, now, order_id=locked.id, user_id=user_id, reason=why)
            listing = self.session.execute(
                lock_for_update(select(Listing).where(Listing.id == locked.listing_id))).scalar_one()
            self._close_unsold(listing, now)
        return True

    def accept_offer(self, order_id: int, user_id: int) -> bool:
        """The runner-up takes the offer: they win the lot at their own highest bid, and pay."""
        with transaction(self.publisher):
            locked = self._locked(order_id, OrderStatus.OFFERED)
            now = self.clock.now()
            if locked is None or locked.buyer_id != user_id or locked.pay_by <= now:
                return False
            listing = self.session.execute(
                lock_for_update(select(Listing).where(Listing.id == locked.listing_id))).scalar_one()
            listing.winner_id, listing.final_price_cents = user_id, locked.amount_cents
            locked.status, locked.pay_by, locked.updated_at = OrderStatus.AWAITING_PAYMENT, None, now
            record(self.session, "second_chance_accepted", locked.amount_cents, now, order_id=locked.id,
                   user_id=user_id)
        return True

    def _close_unsold(self, listing: Listing, now) -> None:
        """Nobody will pay for this lot: it closes unsold (its handle can be listed again)."""
        listing.closed_status, listing.winner_id, listing.final_price_cents = "unsold", None, None
        record_event(self.session, self.publisher, listing, "lot_closed",
                     {"status": "unsold", "winner_alias": None, "amount_cents": None}, now)

    def _back_on_sale(self, listing: Listing, now) -> None:
        """A Dutch or buy-now purchase went unpaid: the lot opens again if its time has not run out."""
        if listing.ends_at is not None and listing.ends_at <= now:
            self._close_unsold(listing, now)
            return
        listing.closed_status = listing.closed_at = listing.winner_id = listing.final_price_cents = None
        if listing.kind == "auction":
            listing.current_price_cents = listing.start_price_cents
        record_event(self.session, self.publisher, listing, "lot_reopened", {"status": "live"}, now)

    # ---- paid → transferred ----------------------------------------------------------------
    def _transfer_handle(self, order: Order) -> bool:
        """Swap the handle into the buyer's account in one registry transaction."""
        try:
            with transaction(self.publisher):
                locked = self._locked(order.id, OrderStatus.PAID)
                if locked is None:
                    return True
                listing = self.session.get(Listing, order.listing_id)
                now = self.clock.now()
                if listing.winner_id != order.buyer_id:
                    raise TransferFailed(f"@{listing.handle_display} went to another buyer.")
                buyer = self.session.get(User, order.buyer_id)
                transfer_to_buyer(self.session, listing.handle_id, order.buyer_id, now,
                                  seller_id=listing.seller_id, own_account=buyer.organisation_id is not None)
                crash_point("mid_transfer")  # the registry swap written, not committed
                locked.status, locked.transferred_at, locked.updated_at = OrderStatus.TRANSFERRED, now, now
                listing.closed_status = "sold"
                notify(self.session, self.publisher, order.buyer_id, "handle_transferred", now,
                       lot_id=listing.id, order_id=order.id, handle=listing.handle_display)
        except TransferFailed as exc:
            return self._refund(order, str(exc))
        return True

    def _refund(self, order: Order, reason: str) -> bool:
        """The handle could not move: give the money back, by the one refund rule (services/refunds.py)."""
        from ..errors import ServiceError
        from .refunds import RefundService

        try:
            RefundService(self.session, self.clock, self.gateway, self.publisher).refund(order.id, reason[:200])
        except ServiceError as exc:
            # Already refunded, or another refund is under way: nothing more to do here; a refused
            # or unreachable Stripe leaves the order paid, and the next run tries again.
            log.warning("order %s not refunded now: %s", order.id, exc.message)
            return exc.code in ("already_refunded", "refund_in_progress")
        return True

    # ---- transferred → completed -----------------------------------------------------------
    def _pay_seller(self, order: Order) -> bool:
        """Pay the seller the price less commission (platform lots complete at once)."""
        payout_id = None
        if order.seller_id is not None:
            seller = self.session.get(User, order.seller_id)
            if not seller.stripe_account_id:
                return False  # waits until the seller finishes payout onboarding
            existing = [t for t in self.gateway.list_transfers(destination=seller.stripe_account_id)
                        if t["metadata"].get("order_id") == str(order.id)]
            payout_id = existing[0]["id"] if existing else self.gateway.transfer(
                order.seller_receives_cents, seller.stripe_account_id, order.charge_id,
                f"order:{order.id}:payout", {"order_id": str(order.id)})
            crash_point("after_payout")
        with transaction(self.publisher):
            locked = self._locked(order.id, OrderStatus.TRANSFERRED)
            if locked is None:
                return True
            now = self.clock.now()
            locked.status, locked.completed_at, locked.updated_at = OrderStatus.COMPLETED, now, now
            locked.payout_id = payout_id
            # The buyer's open order page follows each step live; a platform lot's last one sends
            # no notice, so it says so itself (after the commit, like every event).
            self.publisher.to_user(order.buyer_id, "order_completed", {"order_id": order.id, "lot_id": order.listing_id})
            if payout_id:
                record(self.session, "payout", order.seller_receives_cents, now, order_id=order.id,
                       user_id=order.seller_id, stripe_id=payout_id, commission_cents=order.commission_cents)
                notify(self.session, self.publisher, order.seller_id, "payout_sent", now, lot_id=order.listing_id,
                       order_id=order.id, amount_cents=order.seller_receives_cents)
        return True

    # ---- holds nobody needs ----------------------------------------------------------------
    def release_holds(self, limit: int = 100) -> int:
        """Cancel authorisations that no longer back a leading maximum (outbid, superseded, lost)."""
        now = self.clock.now()
        rows = self.session.execute(select(CardHold, Listing).join(Listing, Listing.id == CardHold.listing_id)
                                    .where(CardHold.status == HoldStatus.AUTHORIZED).limit(limit * 4)).all()
        leaders = {}
        for hold, listing in rows:
            leaders.setdefault(listing.id, listing)
        maxima = {(p.listing_id, p.bidder_id): p.max_cents for p in self.session.execute(
            select(ProxyBid).where(ProxyBid.listing_id.in_(list(leaders)))).scalars()} if leaders else {}
        winners = {o.listing_id: o for o in self.session.execute(
            select(Order).where(Order.listing_id.in_(list(leaders)))).scalars()} if leaders else {}
        doomed = []
        for hold, listing in rows:
            if listing.closed_status is None:
                needed = listing.leader_id == hold.user_id and hold.amount_cents >= maxima.get(
                    (listing.id, hold.user_id), 0)
                newest = needed and not any(
                    h.user_id == hold.user_id and h.listing_id == hold.listing_id and h.id > hold.id
                    and h.amount_cents >= maxima.get((listing.id, hold.user_id), 0) for h, _ in rows)
                keep = needed and newest
            else:
                order = winners.get(listing.id)
                keep = order is not None and order.buyer_id == hold.user_id and order.status in (
                    OrderStatus.AWAITING_PAYMENT, OrderStatus.ACTION_REQUIRED)
            # A fresh hold may belong to a bid still being placed: leave it a minute.
            if not keep and hold.created_at < now - HOLD_GRACE:
                doomed.append(hold.id)
        self.session.rollback()
        released = 0
        for hold_id in doomed[:limit]:
            hold = self.session.get(CardHold, hold_id)
            self.gateway.cancel(hold.intent_id, f"hold:{hold.id}:cancel")
            with transaction():
                row = self.session.execute(lock_for_update(select(CardHold).where(CardHold.id == hold_id))).scalar_one()
                if row.status == HoldStatus.AUTHORIZED:
                    row.status, row.updated_at = HoldStatus.CANCELLED, self.clock.now()
                    record(self.session, "authorization_cancelled", row.amount_cents, self.clock.now(),
                           hold_id=row.id, user_id=row.user_id, stripe_id=row.intent_id)
                    released += 1
        return released
