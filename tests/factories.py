"""Small factories for test data, through the same services the app uses."""
from __future__ import annotations

import itertools
from datetime import timedelta

from marketplace.extensions import db
from marketplace.models import Role
from marketplace.registry import DatabaseRegistry
from marketplace.wiring import accounts, cards, clock, listings

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def make_user(email: str | None = None, admin: bool = False, name: str = "Tester", card: str | None = None):
    """A registered user (and admin when asked); `card` saves a payment method (e.g. pm_card_visa)."""
    email = email or f"user{next(_counter)}@example.com"
    roles = (Role.BUYER, Role.ADMIN) if admin else (Role.BUYER,)
    user = accounts().register(email, PASSWORD, name, roles=roles)
    if card:
        cards().save_payment_method(user, card)
        db.session.refresh(user)
    return user


def released_handle(name: str | None = None, protected: bool = False):
    """A handle in the platform's pool, ready to list."""
    name = name or f"h{next(_counter)}"
    registry = DatabaseRegistry(db.session)
    row = registry.add_released(name, clock().now() - timedelta(days=31), protected=protected)
    db.session.commit()
    return row


def make_auction(admin=None, minutes: int = 60, start_cents: int = 100_000, reserve_cents=None,
                 buy_now_cents=None, soft_close_seconds: int = 300, handle: str | None = None, **extra):
    """A live auction on a fresh released handle."""
    admin = admin or make_user(admin=True)
    handle = handle or released_handle().display
    data = {"handle": handle, "kind": "auction", "start_price_cents": start_cents,
            "reserve_cents": reserve_cents, "buy_now_price_cents": buy_now_cents,
            "soft_close_seconds": soft_close_seconds,
            "ends_at": (clock().now() + timedelta(minutes=minutes)).isoformat(), **extra}
    return listings().create(admin, data)


def login(client, user, password: str = PASSWORD):
    """Sign a test client in through the sign-in form."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def csrf_token(client) -> str:
    """The CSRF token of the client's session, read from a page's meta tag as the browser does."""
    page = client.get("/").get_data(as_text=True)
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def win_with_failing_card(clock, fake_stripe, card_number="4000000000000341"):
    """Alice bids up to $1,500, Bob wins at $1,600; Bob's hold has lapsed and his card now fails."""
    from marketplace.models import CardHold, Listing, Order, User
    from marketplace.wiring import bidding, closing, settlement
    from tests.support import fake_stripe_card

    lot = make_auction(start_cents=100_000, minutes=30)
    alice, bob = make_user(card="pm_card_visa"), make_user(card="pm_card_visa")
    bidding().place(alice, lot.id, 150_000, "a")
    bidding().place(bob, lot.id, 300_000, "b")
    for hold in db.session.query(CardHold).filter_by(user_id=bob.id):
        hold.expires_at = clock.now()
    db.session.get(User, bob.id).payment_method_id = fake_stripe_card(fake_stripe, card_number)
    db.session.commit()
    clock.set(db.session.get(Listing, lot.id).ends_at)
    closing().close_due()
    settlement().run_once()
    order = db.session.query(Order).filter_by(listing_id=lot.id).one()
    assert order.status == "action_required" and order.buyer_id == bob.id
    db.session.expire_all()
    return lot, alice, db.session.get(User, bob.id), order


def into_sellers_account(listing, seller) -> None:
    """Make a lot a seller's: its handle waits in an account linked to the seller until the sale
    settles (as after an ownership claim), and the lot names the seller."""
    from marketplace.models import Handle, Listing, PlatformAccount

    row = db.session.get(Listing, listing.id)
    row.seller_id = seller.id
    account = PlatformAccount(user_id=seller.id, last_active_at=clock().now(), created_at=clock().now())
    db.session.add(account)
    db.session.flush()
    db.session.get(Handle, row.handle_id).account_id = account.id
    db.session.commit()
