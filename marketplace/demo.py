"""Demo data for the embedded run: buyers, released handles, and lots of every kind."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from .db import transaction
from .extensions import db
from .models import Handle, Listing, User
from .registry import DatabaseRegistry
from .wiring import accounts, cards, clock, listings

log = logging.getLogger(__name__)

# bandit: the README's published password of the demo accounts, not a secret.
DEMO_PASSWORD = "demo-password"  # nosec B105
DEMO_USERS = [("alice@example.com", "Alice"), ("bob@example.com", "Bob"), ("carol@example.com", "Carol")]

# (handle, kind, minutes to run, start $, reserve $, buy-now $)
AUCTIONS = [
    ("sol", 4, 12_000, 15_000, None),
    ("orbit", 11, 8_000, None, 20_000),
    ("nova", 45, 25_000, 40_000, None),
    ("atlas", 180, 60_000, 75_000, None),
    ("pixel", 60 * 24, 5_000, None, None),
    ("quill", 60 * 48, 1_500, 3_000, None),
    ("zen_garden", 60 * 72, 900, None, None),
]
FIXED = [("summit", 50_000), ("harbor", 50_000), ("ledger", 125_000), ("kite", 10_000), ("crown", 500_000)]
# (handle, start $, floor $, half-life minutes)
DUTCH = [("ember", 200_000, 20_000, 2), ("vortex", 80_000, 10_000, 5), ("lumen", 400_000, 50_000, 30)]
WAITING = ["meadow", "cobalt", "falcon", "prism", "tundra"]
PROTECTED = ["news", "support"]


def _save_demo_card(user) -> None:
    """Demo buyers get a test card on the development Stripe server, so they can bid at once."""
    config = current_app.config
    if not config.get("CARD_HOLDS") or not config.get("STRIPE_API_BASE"):
        return
    try:
        cards().save_payment_method(user, "pm_card_visa")
    except Exception:  # noqa: BLE001 - the demo still runs; the user can save a card by hand
        log.exception("could not save a demo card for %s", user.email)


def _demo_organisation(admin) -> None:
    """Carol acts for a verified organisation subscribed on the development Stripe server."""
    from .wiring import organisations

    carol = db.session.execute(select(User).where(User.email == DEMO_USERS[2][0])).scalar_one_or_none()
    if carol is None or carol.organisation_id or not carol.has_payment_method:
        return
    try:
        org = organisations().create(carol, {"name": "Carol & Co", "website": "https://carol.example"})
        organisations().verify(admin, org.id)
        organisations().subscribe(db.session.get(User, carol.id))
    except Exception:  # noqa: BLE001 - the demo still runs; Carol can subscribe by hand
        db.session.rollback()
        log.exception("could not set up the demo organisation")


def seed() -> str:
    """Create the demo world once; return what was done."""
    session = db.session
    if session.execute(select(Listing.id).limit(1)).first():
        return "demo data already present"
    now = clock().now()
    admin = accounts().ensure_admin(current_app.config["ADMIN_EMAIL"], current_app.config["ADMIN_PASSWORD"])
    for email, name in DEMO_USERS:
        if not session.execute(select(User.id).where(User.email == email)).first():
            user = accounts().register(email, DEMO_PASSWORD, name)
            _save_demo_card(user)
    _demo_organisation(admin)
    registry = DatabaseRegistry(session)
    with transaction():
        names = [h[0] for h in AUCTIONS] + [h[0] for h in FIXED] + [h[0] for h in DUTCH] + WAITING
        for name in names:
            if not session.execute(select(Handle.id).where(Handle.name == name)).first():
                registry.add_released(name, now - timedelta(days=31))
        for name in PROTECTED:
            if not session.execute(select(Handle.id).where(Handle.name == name)).first():
                registry.add_released(name, now - timedelta(days=31), protected=True)
    service = listings()
    for handle, minutes, start, reserve, buy_now in AUCTIONS:
        service.create(admin, {"handle": handle, "kind": "auction", "start_price_cents": start * 100,
                               "reserve_cents": reserve * 100 if reserve else None,
                               "buy_now_price_cents": buy_now * 100 if buy_now else None,
                               "ends_at": (now + timedelta(minutes=minutes)).isoformat()})
    for handle, price in FIXED:
        service.create(admin, {"handle": handle, "kind": "fixed", "price_cents": price * 100})
    for handle, start, floor, half_life in DUTCH:
        service.create(admin, {"handle": handle, "kind": "dutch", "start_price_cents": start * 100,
                               "floor_price_cents": floor * 100, "half_life_seconds": half_life * 60})
    return (f"demo data: {len(AUCTIONS)} auctions, {len(FIXED)} fixed, {len(DUTCH)} Dutch; "
            f"users {', '.join(e for e, _ in DEMO_USERS)} (password {DEMO_PASSWORD})")
