"""Demo data for the embedded run: buyers, released handles, lots of every kind, a verified
organisation, and a small population of platform accounts, so a newcomer can try every journey
(README, "Try it"): bid and win, buy a fixed-price or Dutch lot, claim a handle as a seller, ask as
an organisation, and sweep inactive accounts as the admin.

Each part is made once (seeding again does nothing more), in a second or two.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from .db import transaction
from .extensions import db
from .models import Handle, Listing, PlatformAccount, User
from .registry import DatabaseRegistry
from .services.release import ReleasePolicy
from .wiring import accounts, cards, clock, listings

log = logging.getLogger(__name__)

# bandit: the README's published password of the demo accounts, not a secret.
DEMO_PASSWORD = "demo-password"  # nosec B105
DEMO_USERS = [("alice@example.com", "Alice"), ("bob@example.com", "Bob"), ("carol@example.com", "Carol")]

# (handle, minutes to run, start $, reserve $, buy-now $)
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

# The platform's accounts (the embedded registry), each holding one handle.
# A seller's journey: an account nobody has linked yet, active, which a demo user proves they hold
# (Sell -> Link a handle -> the code in its bio at /dev/platform/alice_studio -> Check) and lists.
SELLER_HANDLE = "alice_studio"
# Active accounts (days since their holder was last active): the sweep keeps them.
ACTIVE = [(SELLER_HANDLE, 1), ("maya_draws", 0), ("techtalk", 1), ("river_cafe", 2), ("nightowl", 3),
          ("lena_runs", 5), ("urban_bee", 8), ("pixelpusher", 12), ("greenthumb", 20), ("chef_marco", 27)]
# Bot-held accounts, busy as bots are: an admin may release them at once, with a reason.
BOTS = [("dealbot_9000", 0), ("follow4follow", 0)]
# Inactive past the policy's 30 days and not yet flagged: the next sweep flags them (and warns
# their owners). "staff" is a protected name: when its grace ends it is held back for admins.
INACTIVE = [("quietcove", 45), ("old_blog", 90), ("wanderer", 120), ("snapshots", 200), ("jazz_nights", 365),
            ("staff", 400)]
# Already in grace: (handle, days since flagged). Flagged 25 days ago, the sweep reminds its owner
# (release within 7 days); flagged 31 days ago, the sweep releases it into the pool.
IN_GRACE = [("sunset_pics", 5), ("retro_games", 25), ("moonlight", 31)]
# The organisation's journey: handles whose answers differ (README, "Try it").
INQUIRY_EXAMPLE = ["meadow", "quietcove", "dealbot_9000", "maya_draws", "news", "nova"]


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


def _seed_lots(admin, now) -> str:
    """Released handles in the pool and lots of every kind on them."""
    session = db.session
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
    return f"{len(AUCTIONS)} auctions, {len(FIXED)} fixed, {len(DUTCH)} Dutch"


def _seed_accounts(now) -> str:
    """The platform's accounts: active, bot-held, inactive, and in their grace period, one handle each.

    Times follow the release policy's numbers, so the console shows what the settings say.
    """
    session = db.session
    policy = ReleasePolicy.from_config(current_app.config)
    registry = DatabaseRegistry(session)
    born = now - timedelta(days=730)
    with transaction():
        def account(name: str, days_idle: float, **fields) -> PlatformAccount:
            """One account holding `name`, last active `days_idle` days ago."""
            row = registry.create_account(name, born, last_active_at=now - timedelta(days=days_idle))
            held = session.get(PlatformAccount, row.account_id)
            for key, value in fields.items():
                setattr(held, key, value)
            return held

        for name, days in ACTIVE:
            account(name, days)
        for name, days in BOTS:
            account(name, days, is_bot=True)
        for name, days in INACTIVE:
            account(name, days)
        for name, flagged_days in IN_GRACE:
            flagged_at = now - timedelta(days=flagged_days)
            # Inactive for the policy's days when the sweep flagged it, and not active since.
            account(name, flagged_days + policy.inactive_days + 3, flagged_at=flagged_at,
                    release_due_at=flagged_at + timedelta(days=policy.grace_days))
    return (f"{len(ACTIVE) + len(BOTS) + len(INACTIVE) + len(IN_GRACE)} platform accounts "
            f"({len(INACTIVE)} inactive, {len(IN_GRACE)} in grace, {len(BOTS)} bots; @{SELLER_HANDLE} to claim)")


def seed() -> str:
    """Create the demo world, each part once (a second run adds nothing); return what was done."""
    session = db.session
    now = clock().now()
    admin = accounts().ensure_admin(current_app.config["ADMIN_EMAIL"], current_app.config["ADMIN_PASSWORD"])
    done = []
    for email, name in DEMO_USERS:
        if not session.execute(select(User.id).where(User.email == email)).first():
            user = accounts().register(email, DEMO_PASSWORD, name)
            _save_demo_card(user)
            done.append(email)
    _demo_organisation(admin)
    if not session.execute(select(Listing.id).limit(1)).first():
        done.append(_seed_lots(admin, now))
    if not session.execute(select(Handle.id).where(Handle.name == SELLER_HANDLE)).first():
        done.append(_seed_accounts(now))
    if not done:
        return "demo data already present"
    return f"demo data: {'; '.join(done)} (password of the demo users: {DEMO_PASSWORD})"
