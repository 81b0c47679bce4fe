"""Offers on fixed-price lots: a buyer offers below the price, the seller answers (DESIGN.md section 3).

A negotiation is one buyer's offers on one lot, oldest first. At most its newest offer is open:
the side that did not make an offer accepts, declines or counters it; the side that made it may
withdraw it. A counter closes the offer it answers and opens a new one, made by the other side.
An offer lives 48 hours (never past the lot's end); after that it can no longer be accepted.
Every command takes the negotiation and `now` and returns the new negotiation with the events
that happened, or raises `RuleViolation` having changed nothing.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import N_, RuleViolation
from .money import check_amount

OFFER_SECONDS = 48 * 3600
MESSAGE_MAX = 500


class Side(StrEnum):
    """Who made an offer (the other side answers it): the buyer, or the seller with a counter."""

    BUYER = "buyer"
    SELLER = "seller"

    @property
    def other(self) -> "Side":
        """The side that answers an offer this side made."""
        return Side.SELLER if self is Side.BUYER else Side.BUYER


class OfferState(StrEnum):
    """Where an offer stands; stored by value (the same values as the marketplace's OfferStatus).

    pending: open for the other side's answer until expires_at.
    accepted: the other side took it; the buyer checks out at its amount.
    declined: the other side turned it down, or the lot was sold or withdrawn meanwhile.
    countered: the other side answered with a new offer (the next one in the negotiation).
    expired: nobody answered before expires_at.
    withdrawn: its maker took it back.
    """

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COUNTERED = "countered"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Offer:
    """One offer of a negotiation."""

    amount_cents: int
    made_by: Side
    created_at: datetime
    expires_at: datetime
    status: OfferState = OfferState.PENDING
    decided_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        """Whether the other side may still answer it at `now`."""
        return self.status == OfferState.PENDING and now < self.expires_at

    def status_at(self, now: datetime) -> OfferState:
        """Its status as people should see it at `now`: a pending offer past its time is expired."""
        if self.status == OfferState.PENDING and now >= self.expires_at:
            return OfferState.EXPIRED
        return self.status


@dataclass(frozen=True)
class Negotiation:
    """One buyer's offers on one fixed-price lot, oldest first, and the lot's terms."""

    price_cents: int
    offers: tuple[Offer, ...] = ()
    lot_ends_at: datetime | None = None

    @property
    def latest(self) -> Offer | None:
        """The newest offer, the only one that can be open."""
        return self.offers[-1] if self.offers else None

    def open_offer(self, now: datetime) -> Offer | None:
        """The offer waiting for an answer at `now`, if any."""
        latest = self.latest
        return latest if latest is not None and latest.is_open(now) else None


# What happened; services turn these into rows and notices.
@dataclass(frozen=True)
class OfferMade:
    """A new offer opened (a buyer's first offer, or a counter by either side)."""

    made_by: Side
    amount_cents: int
    expires_at: datetime
    countered: bool


@dataclass(frozen=True)
class OfferAccepted:
    """`by` accepted the other side's offer: the buyer checks out at `amount_cents`."""

    by: Side
    amount_cents: int


@dataclass(frozen=True)
class OfferDeclined:
    """The offer was turned down by `by`, or ended by the lot (`by` None, with a reason)."""

    by: Side | None
    amount_cents: int
    reason: str | None = None


@dataclass(frozen=True)
class OfferWithdrawn:
    """Its maker took the offer back."""

    by: Side
    amount_cents: int


@dataclass(frozen=True)
class OfferExpired:
    """Nobody answered the offer in time."""

    made_by: Side
    amount_cents: int


@dataclass(frozen=True)
class OfferOutcome:
    """A command's new negotiation and the events it caused, in order."""

    negotiation: Negotiation
    events: tuple[object, ...] = ()


CLOSED_MESSAGES = {
    OfferState.ACCEPTED: N_("This offer was already accepted."),
    OfferState.DECLINED: N_("This offer was declined."),
    OfferState.COUNTERED: N_("This offer was countered; answer the counter-offer instead."),
    OfferState.EXPIRED: N_("This offer has expired."),
    OfferState.WITHDRAWN: N_("This offer was withdrawn."),
}


def closed_message(status: OfferState) -> str:
    """Why an offer in this state can no longer be acted on."""
    return CLOSED_MESSAGES.get(OfferState(status), N_("This offer is no longer open."))


def check_offer_amount(amount_cents, price_cents: int) -> int:
    """A valid offer amount below the lot's price, else RuleViolation."""
    amount = check_amount(amount_cents)
    if amount >= price_cents:
        raise RuleViolation("offer_not_below_price",
                            N_("The price is %(price)s: at or above it, buy it now instead."),
                            price_cents=price_cents)
    return amount


def check_message(message) -> str | None:
    """An optional note with an offer: text of at most MESSAGE_MAX characters (blank is none)."""
    if message is None:
        return None
    if not isinstance(message, str):
        raise RuleViolation("invalid_message", N_("The message must be text."))
    message = message.strip()
    if len(message) > MESSAGE_MAX:
        raise RuleViolation("invalid_message", N_("The message may be at most %(max)s characters."),
                            max=MESSAGE_MAX)
    return message or None


def _new_offer(neg: Negotiation, amount: int, by: Side, now: datetime) -> Offer:
    """An offer opening at `now`, open for 48 hours or until the lot ends, whichever is sooner."""
    expires_at = now + timedelta(seconds=OFFER_SECONDS)
    if neg.lot_ends_at is not None and neg.lot_ends_at < expires_at:
        expires_at = neg.lot_ends_at
    if not expires_at > now:
        raise RuleViolation("ended", N_("This lot is no longer for sale."))
    return Offer(amount_cents=amount, made_by=by, created_at=now, expires_at=expires_at)


def _settled(neg: Negotiation, now: datetime) -> tuple[Negotiation, tuple[object, ...]]:
    """The negotiation with a pending offer past its time marked expired (and that event)."""
    latest = neg.latest
    if latest is None or latest.status != OfferState.PENDING or now < latest.expires_at:
        return neg, ()
    done = replace(latest, status=OfferState.EXPIRED, decided_at=now)
    return replace(neg, offers=neg.offers[:-1] + (done,)), (OfferExpired(latest.made_by, latest.amount_cents),)


def _answerable(neg: Negotiation, by: Side, now: datetime, maker: bool = False) -> Offer:
    """The open offer `by` may act on (as its maker when `maker`), else RuleViolation."""
    latest = neg.latest
    if latest is None:
        raise RuleViolation("no_offer", N_("There is no offer to answer."))
    if not latest.is_open(now):
        raise RuleViolation("offer_closed", closed_message(latest.status_at(now)))
    if maker and latest.made_by != by:
        raise RuleViolation("not_your_offer", N_("Only the side that made an offer may withdraw it."))
    if not maker and latest.made_by == by:
        raise RuleViolation("own_offer", N_("You made this offer; wait for the other side's answer, or withdraw it."))
    return latest


def _close_latest(neg: Negotiation, status: OfferState, now: datetime) -> Negotiation:
    """The negotiation with its newest offer moved to `status` at `now`."""
    done = replace(neg.latest, status=status, decided_at=now)
    return replace(neg, offers=neg.offers[:-1] + (done,))


def make_offer(neg: Negotiation, amount_cents, now: datetime) -> OfferOutcome:
    """The buyer offers `amount_cents` (below the price); one open offer per negotiation."""
    amount = check_offer_amount(amount_cents, neg.price_cents)
    if neg.open_offer(now) is not None:
        raise RuleViolation("offer_pending", N_("An offer between you and the seller is already open on this "
                                                "lot: answer it, or withdraw yours, first."))
    neg, expired = _settled(neg, now)
    offer = _new_offer(neg, amount, Side.BUYER, now)
    return OfferOutcome(replace(neg, offers=neg.offers + (offer,)),
                        expired + (OfferMade(Side.BUYER, amount, offer.expires_at, False),))


def accept(neg: Negotiation, by: Side, now: datetime) -> OfferOutcome:
    """`by` accepts the other side's open offer."""
    offer = _answerable(neg, by, now)
    return OfferOutcome(_close_latest(neg, OfferState.ACCEPTED, now), (OfferAccepted(by, offer.amount_cents),))


def decline(neg: Negotiation, by: Side, now: datetime) -> OfferOutcome:
    """`by` turns the other side's open offer down."""
    offer = _answerable(neg, by, now)
    return OfferOutcome(_close_latest(neg, OfferState.DECLINED, now), (OfferDeclined(by, offer.amount_cents),))


def counter(neg: Negotiation, by: Side, amount_cents, now: datetime) -> OfferOutcome:
    """`by` answers the other side's open offer with a new amount (below the price, not the same)."""
    offer = _answerable(neg, by, now)
    amount = check_offer_amount(amount_cents, neg.price_cents)
    if amount == offer.amount_cents:
        raise RuleViolation("same_amount", N_("A counter-offer must differ from the offer; to agree, accept it."))
    neg = _close_latest(neg, OfferState.COUNTERED, now)
    new = _new_offer(neg, amount, by, now)
    return OfferOutcome(replace(neg, offers=neg.offers + (new,)), (OfferMade(by, amount, new.expires_at, True),))


def withdraw(neg: Negotiation, by: Side, now: datetime) -> OfferOutcome:
    """The side that made the open offer takes it back."""
    offer = _answerable(neg, by, now, maker=True)
    return OfferOutcome(_close_latest(neg, OfferState.WITHDRAWN, now), (OfferWithdrawn(by, offer.amount_cents),))


def expire(neg: Negotiation, now: datetime) -> OfferOutcome:
    """Mark a pending offer past its time expired; nothing happens otherwise (safe to repeat)."""
    neg, events = _settled(neg, now)
    return OfferOutcome(neg, events)


def end(neg: Negotiation, now: datetime, reason: str) -> OfferOutcome:
    """The lot was sold or withdrawn: a pending offer ends declined, with the reason."""
    latest = neg.latest
    if latest is None or latest.status != OfferState.PENDING:
        return OfferOutcome(neg)
    return OfferOutcome(_close_latest(neg, OfferState.DECLINED, now),
                        (OfferDeclined(None, latest.amount_cents, reason),))
