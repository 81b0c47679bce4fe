"""Database models (SQLAlchemy 2.0 style). Money columns are integer cents named *_cents."""
from __future__ import annotations

import enum
import json
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.schema import DDL

from .extensions import db


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, so SQLite and PostgreSQL compare alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Convert an aware datetime to naive UTC for storage."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use the injected clock")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        """Mark stored values as UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Role(enum.StrEnum):
    """What a user may do.

    buyer: bids and buys (every user); seller: lists handles they own; admin: runs the market.
    """

    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"


class ListingKind(enum.StrEnum):
    """How a lot sells.

    auction: timed proxy-bid auction; fixed: a set price, first checkout wins;
    dutch: a price that halves every half-life down to a floor, first buyer wins.
    """

    AUCTION = "auction"
    FIXED = "fixed"
    DUTCH = "dutch"


class Eligibility(enum.StrEnum):
    """Who may bid or buy on a lot.

    registered: any signed-in user; verified: verified buyers only; organisations: verified
    organisations only; backorderers: only users who backordered the handle before its release.
    """

    REGISTERED = "registered"
    VERIFIED = "verified"
    ORGANISATIONS = "organisations"
    BACKORDERERS = "backorderers"


class User(db.Model):
    """A person using the marketplace; `alias` is the public name in bid histories."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80))
    alias: Mapped[str] = mapped_column(String(40), unique=True)
    roles_csv: Mapped[str] = mapped_column("roles", String(80), default="buyer")
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Accounts known to belong to the same person (shill-bidding guard): same id in this column.
    linked_group: Mapped[str | None] = mapped_column(String(40), index=True)
    # The saved card (Stripe customer and PaymentMethod); bidding and buying need one.
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64))
    payment_method_id: Mapped[str | None] = mapped_column(String(64))
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    # Unpaid wins; three suspend bidding.
    strikes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A seller's Stripe Connect account, for payouts.
    stripe_account_id: Mapped[str | None] = mapped_column(String(64))
    # The organisation the user acts for (one at most); its standing gates inquiries and
    # organisations-only lots.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", use_alter=True,
                                                                   name="fk_users_organisation_id"), index=True)
    # The language the user last chose (an i18n locale code such as "fr"); their emails are
    # written in it. None until they choose: emails then go out in the default language.
    locale: Mapped[str | None] = mapped_column(String(8))

    # Flask-Login's interface.
    is_active = True
    is_anonymous = False
    is_authenticated = True

    def get_id(self) -> str:
        """Return the session id for Flask-Login."""
        return str(self.id)

    @property
    def roles(self) -> list[str]:
        """The user's roles, in a stable order."""
        return sorted({r for r in self.roles_csv.split(",") if r})

    def has_role(self, role: Role | str) -> bool:
        """Say whether the user holds a role."""
        return str(role) in self.roles

    def add_role(self, role: Role | str) -> None:
        """Grant a role."""
        self.roles_csv = ",".join(sorted(set(self.roles) | {str(role)}))

    @property
    def has_payment_method(self) -> bool:
        """Say whether a card is saved."""
        return bool(self.stripe_customer_id and self.payment_method_id)

    @property
    def is_admin(self) -> bool:
        """Say whether the user runs the market."""
        return self.has_role(Role.ADMIN)


class ApiToken(db.Model):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class PlatformAccount(db.Model):
    """An account on the social platform (the registry's embedded default)."""

    __tablename__ = "platform_accounts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The marketplace user who controls this platform account, if linked.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The release pipeline (services/release.py). flagged: found inactive, in its grace period
    # until release_due_at; reminded: the reminder before release was sent; kept: the owner was
    # active again during grace (the flag was cleared); released: its handles left the account.
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The public profile text its holder writes on the platform; a seller proves they hold the
    # account by putting an ownership code there (OwnershipClaim).
    bio: Mapped[str | None] = mapped_column(String(160))


class Handle(db.Model):
    """A handle on the platform; `name` is the case-folded key, `display` keeps the casing."""

    __tablename__ = "handles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(15), unique=True)
    display: Mapped[str] = mapped_column(String(15))
    # None: released into the marketplace's pool (the platform holds it for sale).
    account_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("platform_accounts.id"), index=True
    )
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A buyer's previous handle, kept for them after a swap so nobody can snatch it at once.
    held_for_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A released protected handle (or one an admin held back): out of the open pool until an
    # admin decides; it may be listed for verified organisations only.
    held_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    account: Mapped[PlatformAccount | None] = relationship()


class Listing(db.Model):
    """A lot: one handle offered by auction, at a fixed price, or at a falling (Dutch) price.

    Engine state is stored in columns; `current_price_cents` and `leader_id` are written back
    after every engine step so lists can sort and filter in SQL. `closed_status` is empty while
    the lot runs; scheduled and live follow from the clock.
    """

    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_open_ends", "closed_status", "ends_at"),
        Index("ix_listings_handle_name", "handle_name"),
        # The catalog (ListingService.search): `q` is LIKE '%term%', served by trigrams (PostgreSQL
        # only; the extension is created by the migration, and by the listener below for create_all).
        Index("ix_listings_handle_name_trgm", "handle_name", postgresql_using="gin",
              postgresql_ops={"handle_name": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        # Open lots in each sort's order (ORDER BY ends_at NULLS LAST / created_at / price, then id),
        # so a page is an index range scan; the full ones serve the "all" tab.
        Index("ix_listings_live_ending", "ends_at", "id",
              postgresql_where=text("closed_status IS NULL"), sqlite_where=text("closed_status IS NULL")),
        Index("ix_listings_live_newest", "created_at", "id",
              postgresql_where=text("closed_status IS NULL"), sqlite_where=text("closed_status IS NULL")),
        Index("ix_listings_live_price", "current_price_cents", "id",
              postgresql_where=text("closed_status IS NULL"), sqlite_where=text("closed_status IS NULL")),
        Index("ix_listings_live_starts", "starts_at",
              postgresql_where=text("closed_status IS NULL"), sqlite_where=text("closed_status IS NULL")),
        # Open lots of one kind, ending soonest first (the market's kind filter, the home page's
        # falling-price shelf): through the ending index above, a rare kind (Dutch) or one whose
        # lots have no end (fixed price, last in that order) meant walking every open lot first.
        Index("ix_listings_live_kind_ending", "kind", "ends_at", "id",
              postgresql_where=text("closed_status IS NULL"), sqlite_where=text("closed_status IS NULL")),
        Index("ix_listings_ending", "ends_at", "id"),
        Index("ix_listings_newest", "created_at", "id"),
        Index("ix_listings_price", "current_price_cents", "id"),
        # The home page's recent sales: sold lots, newest sale first.
        Index("ix_listings_closed", "closed_status", "closed_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle_id: Mapped[int] = mapped_column(ForeignKey("handles.id"))
    handle_name: Mapped[str] = mapped_column(String(15))
    handle_display: Mapped[str] = mapped_column(String(15))
    kind: Mapped[str] = mapped_column(String(16))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    eligibility: Mapped[str] = mapped_column(String(16), default=Eligibility.REGISTERED.value)
    start_price_cents: Mapped[int] = mapped_column(BigInteger)
    reserve_cents: Mapped[int | None] = mapped_column(BigInteger)
    buy_now_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    floor_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    half_life_seconds: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    soft_close_seconds: Mapped[int] = mapped_column(Integer, default=300)
    closed_status: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_price_cents: Mapped[int] = mapped_column(BigInteger)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bid_count: Mapped[int] = mapped_column(Integer, default=0)
    next_order: Mapped[int] = mapped_column(Integer, default=1)
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    final_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    hold_buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # The hash of the last entry in the bid history (the chain's head), so a bid need not read it.
    last_bid_hash: Mapped[str | None] = mapped_column(String(64))
    # Fixed-price lots: the seller takes offers below the price (Offer).
    accepts_offers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Not in the catalog: a lot made for one buyer (an accepted inquiry quote).
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    handle: Mapped[Handle] = relationship()
    seller: Mapped[User | None] = relationship(foreign_keys=[seller_id])
    leader: Mapped[User | None] = relationship(foreign_keys=[leader_id])
    winner: Mapped[User | None] = relationship(foreign_keys=[winner_id])


# create_all (the benchmarks' scratch databases) needs pg_trgm before ix_listings_handle_name_trgm.
event.listen(Listing.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


def include_for_dialect(dialect_name: str):
    """Alembic's `include_object`: leave out what the models make only on another database
    (`Index(...).ddl_if(dialect=...)`), so comparing models and migrations holds on both."""
    def include(obj, name, type_, reflected, compare_to):
        only = getattr(obj, "_ddl_if", None)
        if only is None or only.dialect is None:
            return True
        return dialect_name in ((only.dialect,) if isinstance(only.dialect, str) else only.dialect)
    return include


class ProxyBid(db.Model):
    """A bidder's current maximum on an auction (private; never shown to others)."""

    __tablename__ = "proxy_bids"
    __table_args__ = (UniqueConstraint("listing_id", "bidder_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    max_cents: Mapped[int] = mapped_column(BigInteger)
    order: Mapped[int] = mapped_column("bid_order", Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bid(db.Model):
    """One accepted bid: an entry in the lot's public, hash-chained history.

    `amount_cents` is the lot's price right after the bid; `max_cents` is the bidder's private
    maximum. `idempotency_key` makes a retried bid (double click, client retry) count once.
    """

    __tablename__ = "bids"
    __table_args__ = (
        UniqueConstraint("listing_id", "seq"),
        UniqueConstraint("bidder_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    alias: Mapped[str] = mapped_column(String(40))
    max_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))


class LotEvent(db.Model):
    """A broadcast event kept for catch-up: a client that missed seq N asks for it again."""

    __tablename__ = "lot_events"
    __table_args__ = (UniqueConstraint("listing_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    payload_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def payload(self) -> dict:
        """The event body as sent to clients."""
        return json.loads(self.payload_json)


class Notification(db.Model):
    """A private notice to a user (outbid, won, ...), also pushed live to their room."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    payload_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def payload(self) -> dict:
        """The notice's details."""
        return json.loads(self.payload_json)


class AuditEntry(db.Model):
    """Who did what to what, and why: every admin action writes one."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(120))
    details_json: Mapped[str] = mapped_column(Text, default="{}")

    actor: Mapped[User | None] = relationship()

    @property
    def details(self) -> dict:
        """The entry's details."""
        return json.loads(self.details_json)


class IdempotentResponse(db.Model):
    """The first answer to a write sent with an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotent_responses"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HoldStatus(enum.StrEnum):
    """A card authorisation backing a bidder's maximum on one lot.

    pending: recorded, Stripe not yet answered (a crash here is reconciled); authorized: the card is held for amount_cents; requires_action: the bank asks the buyer to
    authenticate first; cancelled: released (outbid, superseded, lost); captured: taken as payment
    for the lot won; failed: the card refused.
    """

    PENDING = "pending"
    AUTHORIZED = "authorized"
    REQUIRES_ACTION = "requires_action"
    CANCELLED = "cancelled"
    CAPTURED = "captured"
    FAILED = "failed"


class CardHold(db.Model):
    """One Stripe PaymentIntent (manual capture) authorising a bidder's maximum on a lot."""

    __tablename__ = "card_holds"
    __table_args__ = (Index("ix_card_holds_user_listing", "user_id", "listing_id"),
                      Index("ix_card_holds_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderStatus(enum.StrEnum):
    """Where a sale stands (DESIGN.md section 5).

    awaiting_payment: won or bought, not yet charged; action_required: the charge needs the
    buyer (declined or bank authentication), until pay_by; paid: money taken; transferred: the
    handle is the buyer's; completed: the seller is paid (or the platform sold it); lapsed: the
    buyer did not pay in time; refunded: money returned (the transfer failed or an admin refunded);
    offered: a second-chance offer to the runner-up, open until pay_by; declined: an offer the
    runner-up turned down or let expire.
    """

    AWAITING_PAYMENT = "awaiting_payment"
    ACTION_REQUIRED = "action_required"
    PAID = "paid"
    TRANSFERRED = "transferred"
    COMPLETED = "completed"
    LAPSED = "lapsed"
    REFUNDED = "refunded"
    OFFERED = "offered"
    DECLINED = "declined"


class Order(db.Model):
    """A sale in progress: a persisted state machine whose every step can be re-run safely."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status", "status"),
                      # A purchase's key (one per confirmation page): a resend finds its order.
                      Index("ix_orders_buyer_key", "buyer_id", "idempotency_key", unique=True))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    commission_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("card_holds.id"))
    intent_id: Mapped[str | None] = mapped_column(String(64))
    charge_id: Mapped[str | None] = mapped_column(String(64))
    payout_id: Mapped[str | None] = mapped_column(String(64))
    pay_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transfer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure: Mapped[str | None] = mapped_column(String(200))
    # A second-chance offer names the lapsed order it replaces.
    second_chance_of_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    # The buyer's idempotency key for a purchase they started (Buy, confirmed); NULL for a win.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    listing: Mapped[Listing] = relationship()
    buyer: Mapped[User] = relationship(foreign_keys=[buyer_id])

    @property
    def seller_receives_cents(self) -> int:
        """What the seller is paid: the price less the commission."""
        return self.amount_cents - self.commission_cents


class PaymentRecord(db.Model):
    """Append-only log of what happened with money: authorised, captured, refunded, paid out."""

    __tablename__ = "payment_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("card_holds.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    stripe_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    details_json: Mapped[str] = mapped_column(Text, default="{}")


class WebhookEvent(db.Model):
    """A Stripe event already handled: a second delivery changes nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmailMessage(db.Model):
    """The email outbox: written in the same transaction as the event it tells of, sent by the worker.

    With SMTP configured the worker sends and stamps sent_at; without it the messages stay here
    and the development mailbox page shows them.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(200))


class SweepRun(db.Model):
    """One pass of the release sweep over platform_accounts by id range: its checkpoint and counts.

    A run with no finished_at is resumed from last_id; ids up to max_id (read at the start) are
    covered, so processed/total is (last_id - first_id) / (max_id - first_id).
    """

    __tablename__ = "sweep_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_id: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    max_id: Mapped[int] = mapped_column(BigInteger)
    batch_size: Mapped[int] = mapped_column(Integer)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    reminded: Mapped[int] = mapped_column(Integer, default=0)
    kept: Mapped[int] = mapped_column(Integer, default=0)
    released: Mapped[int] = mapped_column(Integer, default=0)
    held_back: Mapped[int] = mapped_column(Integer, default=0)
    notices: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def total(self) -> int:
        """How many account ids the run covers."""
        return max(0, self.max_id - self.first_id)

    @property
    def processed(self) -> int:
        """How many of those ids are done."""
        return max(0, min(self.last_id, self.max_id) - self.first_id)


class ProtectedName(db.Model):
    """A name that never goes to open auction (brands, public figures, the platform's own words)."""

    __tablename__ = "protected_names"
    __table_args__ = (UniqueConstraint("name", name="uq_protected_names_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(15))
    reason: Mapped[str] = mapped_column(String(200))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    added_by: Mapped[User | None] = relationship()


class Backorder(db.Model):
    """A user's wish for a handle not yet released; notified_at is set when it is released."""

    __tablename__ = "backorders"
    __table_args__ = (UniqueConstraint("user_id", "handle_name", name="uq_backorders_user_handle"),
                      Index("ix_backorders_handle_name", "handle_name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    handle_name: Mapped[str] = mapped_column(String(15))
    handle_display: Mapped[str] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))


class Watch(db.Model):
    """A user keeps an eye on a lot: it is on their watchlist (one row per user and lot)."""

    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("user_id", "listing_id", name="uq_watches_user_listing"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the watcher was told the lot is about to end (once per watch; a soft-close extension
    # afterwards does not tell them again).
    ending_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OwnershipClaim(db.Model):
    """A seller's proof that they hold a platform account: a code they put in its bio.

    Open until verified_at (the registry showed the code in the account's bio while the claim was
    open) or expires_at; once verified, the account is linked to the user (PlatformAccount.user_id).
    """

    __tablename__ = "ownership_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    handle_id: Mapped[int] = mapped_column(ForeignKey("handles.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    handle: Mapped[Handle] = relationship()


class OfferStatus(enum.StrEnum):
    """Where an offer on a fixed-price lot stands.

    pending: waiting for the other side until expires_at; countered: answered by a counter-offer
    (a new Offer whose parent_id is this one); accepted: became an order; declined, expired,
    withdrawn: ended without a sale.
    """

    PENDING = "pending"
    COUNTERED = "countered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class Offer(db.Model):
    """An offer on a fixed-price lot, from the buyer or (a counter) from the seller."""

    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_status_expires", "status", "expires_at"),
                      UniqueConstraint("buyer_id", "idempotency_key", name="uq_offers_buyer_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # "buyer" or "seller": who made this offer (the other side answers it).
    made_by: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    listing: Mapped[Listing] = relationship()


class SubscriptionStatus(enum.StrEnum):
    """An organisation's Stripe Billing subscription, as Stripe last told us.

    none: never subscribed; incomplete: the first payment is not through; active: paid up;
    past_due: a renewal failed (paused until paid); canceled: ended.
    """

    NONE = "none"
    INCOMPLETE = "incomplete"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Organisation(db.Model):
    """A company buying handles: verified by an admin, subscribed at $1,000 a month."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", name="fk_organisations_owner_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Admin verification: verified_at set, or rejected_at with a reason.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", name="fk_organisations_verified_by_id"))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(String(200))
    # Stripe Billing.
    subscription_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    subscription_status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.NONE.value,
                                                     server_default="none")
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subscription_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def in_good_standing(self, now: datetime) -> bool:
        """Verified with an active subscription: may send inquiries and buy organisations-only lots."""
        return (self.verified_at is not None and self.subscription_status == SubscriptionStatus.ACTIVE
                and (self.current_period_end is None or self.current_period_end > now))


class InquiryItemStatus(enum.StrEnum):
    """The assistant's answer for one handle of an inquiry.

    pending: not answered yet (due by the inquiry's due_at); available: a live lot sells it now;
    releasable: held by an inactive or bot account, quoted; unavailable: an active owner holds it,
    or it is protected (an admin may override with a quote).
    """

    PENDING = "pending"
    AVAILABLE = "available"
    RELEASABLE = "releasable"
    UNAVAILABLE = "unavailable"


class Inquiry(db.Model):
    """An organisation asks whether, and at what price, it can have one or more handles."""

    __tablename__ = "inquiries"
    __table_args__ = (Index("ix_inquiries_open_due", "answered_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # 3 business days after created_at (auctions.calendar), shown from the moment of asking.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Every item answered; the quote's discount is fixed then.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discount_bps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship()
    items: Mapped[list["InquiryItem"]] = relationship(order_by="InquiryItem.id", back_populates="inquiry")


class InquiryItem(db.Model):
    """One handle of an inquiry: the answer, the quote, and the order once accepted."""

    __tablename__ = "inquiry_items"
    __table_args__ = (UniqueConstraint("inquiry_id", "handle_name", name="uq_inquiry_items_handle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    handle_name: Mapped[str] = mapped_column(String(15))
    handle_display: Mapped[str] = mapped_column(String(15))
    status: Mapped[str] = mapped_column(String(12), default=InquiryItemStatus.PENDING.value)
    note: Mapped[str | None] = mapped_column(String(300))
    # available: the live lot; accepted: the private lot made for the order.
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    # releasable: the valuation (list_cents) and the price after the inquiry's bulk discount.
    list_cents: Mapped[int | None] = mapped_column(BigInteger)
    price_cents: Mapped[int | None] = mapped_column(BigInteger)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: the assistant answered; otherwise the admin who answered or overrode.
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))

    inquiry: Mapped[Inquiry] = relationship(back_populates="items")
