"""The demo world (marketplace/demo.py) seeded into an empty database: every journey of the
README's "Try it" has its starting point, seeding again changes nothing, and it is quick."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace import demo
from marketplace.extensions import db
from marketplace.models import Handle, Listing, PlatformAccount, User
from marketplace.registry import DatabaseRegistry
from marketplace.services.organisations import standing_problem
from marketplace.wiring import inquiries, listings, release, sellers

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.fixture
def app_config(stripe_config):
    """Payments through the fake Stripe server, as `make run` has them: demo buyers get cards."""
    return stripe_config


pytestmark = pytest.mark.usefixtures("shared_gateway")


def row_counts() -> dict[str, int]:
    """How many rows each table holds."""
    return {table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables}


def user(email: str) -> User:
    """A demo user by email."""
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def live(kind: str) -> list[dict]:
    """The live lots of one kind, as the market lists them."""
    return listings().search(status="live", kind=kind, per_page=50)["items"]


def test_seeding_an_empty_database_is_quick_and_a_second_run_changes_nothing(app):
    started = time.monotonic()
    said = demo.seed()
    took = time.monotonic() - started
    assert said.startswith("demo data:") and "platform accounts" in said
    assert took < 5, f"seeding took {took:.1f}s"  # a second or two on a developer's machine
    before = row_counts()
    assert before["platform_accounts"] >= 20 and before["listings"] == 15
    assert demo.seed() == "demo data already present"
    assert row_counts() == before


def test_every_journey_has_its_starting_point(app, clock):
    demo.seed()
    now = clock.now()
    alice, bob, carol = (user(email) for email, _ in demo.DEMO_USERS)
    # Bid and win: an auction ends within minutes, and the demo buyers can bid at once (a card).
    soon = [lot for lot in live("auction") if lot["ends_at"]
            and db.session.get(Listing, lot["id"]).ends_at <= now + timedelta(minutes=5)]
    assert soon, "no auction ends within five minutes"
    assert alice.has_payment_method and bob.has_payment_method and carol.has_payment_method
    # Buy: a fixed-price lot and a Dutch lot are on sale.
    assert live("fixed") and live("dutch")

    # A seller's claim: the account holding @alice_studio is active and linked to nobody; Alice
    # proves she holds it with the code in its bio, as the dev platform page writes it, and lists it.
    handle = db.session.execute(select(Handle).where(Handle.name == demo.SELLER_HANDLE)).scalar_one()
    account = db.session.get(PlatformAccount, handle.account_id)
    assert account.user_id is None and account.flagged_at is None
    assert account.last_active_at > now - timedelta(days=7)
    claim, _ = sellers().start_claim(alice, "@" + demo.SELLER_HANDLE)
    DatabaseRegistry(db.session).set_bio(handle.id, f"Studio photos · {claim.code}")
    db.session.commit()
    assert sellers().check_claim(alice, claim.id).verified_at is not None
    lot = sellers().list_handle(user("alice@example.com"), {"handle": demo.SELLER_HANDLE, "kind": "fixed",
                                                            "price_cents": 250_000})
    assert lot.seller_id == alice.id

    # An organisation's inquiry: Carol acts for a verified, subscribed organisation, and the
    # README's example handles get every kind of answer.
    assert standing_problem(db.session, carol, now) is None
    answers = {name: inquiries().assess(name, now)["status"] for name in demo.INQUIRY_EXAMPLE}
    assert answers == {"meadow": "releasable", "quietcove": "releasable", "dealbot_9000": "releasable",
                       "maya_draws": "unavailable", "news": "unavailable", "nova": "available"}
    inquiry = inquiries().submit(user("carol@example.com"), " ".join(demo.INQUIRY_EXAMPLE), "A new product line.")
    assert len(inquiry.items) == len(demo.INQUIRY_EXAMPLE)

    # The release console: accounts in grace already, and a sweep that finds more to do.
    service = release()
    overview = service.overview()
    assert overview["in_grace"] == len(demo.IN_GRACE) and overview["due"] == 1
    run = service.run()
    assert run.total >= 20 and run.processed == run.total
    assert run.flagged == len(demo.INACTIVE)  # the inactive ones, not the active ones or the bots
    assert run.reminded == 1 and run.released == 1  # retro_games is reminded, moonlight released
    grace = service.queue("grace", per_page=100)
    assert {item["handle"] for item in grace["items"]} >= {"quietcove", "staff", "sunset_pics", "retro_games"}
    bots = db.session.execute(select(func.count()).select_from(PlatformAccount)
                              .where(PlatformAccount.is_bot.is_(True))).scalar_one()
    assert bots == len(demo.BOTS)
    assert service.release_now(user("admin@example.com"), "dealbot_9000", "Posts spam every minute.")["state"] == "released"


def test_the_readme_walks_through_each_journey_with_the_demo_names(app):
    try_it = README.split("## Try it", 1)[1].split("\n## ", 1)[0].replace("**", "")
    for name in (demo.SELLER_HANDLE, "/dev/platform/" + demo.SELLER_HANDLE, "carol@example.com", "/admin/release",
                 "press Buy", *demo.INQUIRY_EXAMPLE, *(h for h, *_ in demo.AUCTIONS[:1]),
                 *(h for h, *_ in demo.DUTCH[:1]), *(h for h, _ in demo.FIXED[:1])):
        assert name in try_it, name
    population = len(demo.ACTIVE) + len(demo.BOTS) + len(demo.INACTIVE) + len(demo.IN_GRACE)
    assert f"{population} platform accounts" in try_it and f'"{population} of {population} account ids' in try_it
    # Each journey is a numbered step, and the bot the admin releases is not the one Carol buys.
    assert [n for n in re.findall(r"^(\d)\. ", try_it, re.M)] == ["1", "2", "3", "4", "5"]
    assert "type `follow4follow`" in try_it and "follow4follow" in dict(demo.BOTS)
