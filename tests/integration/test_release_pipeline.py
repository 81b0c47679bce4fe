"""The release pipeline: flagging inactive accounts, grace, reminders, release, protected names."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    EmailMessage,
    Handle,
    Listing,
    Notification,
    PlatformAccount,
    SweepRun,
)
from marketplace.registry import DatabaseRegistry
from marketplace.wiring import listings, release
from tests.factories import login, make_user


def account(handle: str, days_inactive: float, user=None, protected: bool = False) -> Handle:
    """A platform account holding `handle`, last active `days_inactive` days ago."""
    now = release().clock.now()
    row = DatabaseRegistry(db.session).create_account(handle, now, user_id=user.id if user else None,
                                                      last_active_at=now - timedelta(days=days_inactive))
    row.protected = protected
    db.session.commit()
    return row


def account_of(handle: str) -> PlatformAccount:
    """The platform account that holds (or held) a handle, fresh from the database."""
    db.session.expire_all()
    row = db.session.execute(select(Handle).where(Handle.name == handle)).scalar_one()
    if row.account_id is not None:
        return db.session.get(PlatformAccount, row.account_id)
    return None


def handle_row(name: str) -> Handle:
    """A handle fresh from the database."""
    db.session.expire_all()
    return db.session.execute(select(Handle).where(Handle.name == name)).scalar_one()


def count(model, *where) -> int:
    """Rows of a model matching the conditions."""
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.mark.parametrize("days,flagged", [(29, False), (29.99, False), (30, True), (31, True)])
def test_account_is_flagged_from_thirty_days_inactive(app, clock, days, flagged):
    account("edge", days)
    run = release().run()
    acct = account_of("edge")
    assert (acct.flagged_at is not None) is flagged
    assert run.flagged == (1 if flagged else 0)
    if flagged:
        assert acct.release_due_at == clock.now() + timedelta(days=30)


def test_flag_notifies_the_owner_in_app_and_by_email(app, clock):
    owner = make_user()
    account("Sleepy", 40, user=owner)
    account("orphan", 40)  # no marketplace user: nobody to tell
    run = release().run()
    assert run.flagged == 2 and run.notices == 1
    notice = db.session.execute(select(Notification).where(Notification.user_id == owner.id)).scalar_one()
    assert notice.kind == "release_warning" and notice.payload["handle"] == "Sleepy"
    email = db.session.execute(select(EmailMessage).where(EmailMessage.user_id == owner.id)).scalar_one()
    due = clock.now() + timedelta(days=30)
    assert "@Sleepy" in email.subject and f"{due.day} {due:%b %Y}" in email.subject
    assert "One sign-in during this grace period is enough" in email.body_text
    assert count(Notification) == 1


def test_reminder_is_sent_once_seven_days_before_release(app, clock):
    owner = make_user()
    account("remindme", 30, user=owner)
    release().run()
    clock.advance(days=22)
    assert release().run().reminded == 0
    clock.advance(days=1)
    assert release().run().reminded == 1
    assert release().run().reminded == 0
    kinds = [n.kind for n in db.session.execute(select(Notification).order_by(Notification.id)).scalars()]
    assert kinds == ["release_warning", "release_reminder"]
    email = db.session.execute(select(EmailMessage).where(EmailMessage.kind == "release_reminder")).scalar_one()
    assert "One sign-in before then keeps it" in email.body_text


def test_handle_is_released_after_grace_and_audited(app, clock):
    account("goner", 31)
    release().run()
    clock.advance(days=29, hours=23)
    release().run()
    assert handle_row("goner").account_id is not None
    clock.advance(hours=1)
    run = release().run()
    assert run.released == 1
    handle = handle_row("goner")
    assert handle.account_id is None and handle.released_at == clock.now() and handle.held_back_at is None
    assert "goner" in [h.name for h in listings().released_handles()]
    entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "release.sweep_batch")
                                 .order_by(AuditEntry.id)).scalars().all()
    assert [e.details["flagged"] for e in entries] == [1, 0]
    assert [e.details["released"] for e in entries] == [0, 1]


def test_signing_in_during_grace_keeps_the_handle(app, clock, client):
    owner = make_user()
    account("keeper", 35, user=owner)
    release().run()
    assert account_of("keeper").flagged_at is not None
    clock.advance(days=10)
    login(client, owner)
    acct = account_of("keeper")
    assert acct.flagged_at is None and acct.kept_at == clock.now() and acct.last_active_at == clock.now()
    assert count(AuditEntry, AuditEntry.action == "release.keep", AuditEntry.actor_id == owner.id) == 1
    clock.advance(days=25)
    run = release().run()
    assert run.released == 0 and run.flagged == 0
    assert handle_row("keeper").account_id is not None


def test_activity_recorded_elsewhere_is_kept_by_the_sweep(app, clock):
    account("busy", 31)
    release().run()
    clock.advance(days=3)
    acct = account_of("busy")
    acct.last_active_at = clock.now()  # e.g. the platform's adapter reported activity
    db.session.commit()
    run = release().run()
    assert run.kept == 1
    assert account_of("busy").flagged_at is None


def test_a_second_run_changes_nothing(app, clock):
    owner = make_user()
    for i, days in enumerate((5, 31, 45, 70, 100)):
        account(f"twice{i}", days, user=owner if i % 2 else None)
    release().run()
    clock.advance(days=26)
    release().run()

    def snapshot():
        db.session.expire_all()
        accounts = db.session.execute(select(
            PlatformAccount.id, PlatformAccount.flagged_at, PlatformAccount.release_due_at,
            PlatformAccount.reminded_at, PlatformAccount.kept_at, PlatformAccount.released_at)
            .order_by(PlatformAccount.id)).all()
        handles = db.session.execute(select(Handle.name, Handle.account_id, Handle.released_at, Handle.held_back_at)
                                     .order_by(Handle.name)).all()
        return accounts, handles, count(Notification), count(EmailMessage), count(AuditEntry)

    before = snapshot()
    run = release().run()
    assert (run.flagged, run.reminded, run.kept, run.released, run.notices) == (0, 0, 0, 0, 0)
    assert snapshot() == before


def test_a_stopped_sweep_resumes_from_its_checkpoint(app, clock):
    for i in range(5):
        account(f"resume{i}", 40)
    service = release()
    service.policy = type(service.policy)(batch_size=2)
    first = service.run(max_batches=1)
    assert first.finished_at is None and (first.processed, first.total) == (2, 5)
    assert count(PlatformAccount, PlatformAccount.flagged_at.is_not(None)) == 2
    assert service.progress()["percent"] == 40.0
    again = service.run()
    assert again.id == first.id and again.finished_at is not None
    assert (again.processed, again.total, again.batches, again.flagged) == (5, 5, 3, 5)
    assert count(SweepRun) == 1


def test_protected_handles_are_held_back_never_in_the_open_pool(app, clock):
    admin = make_user(admin=True)
    release().seed_protected_names()
    release().add_protected_name(admin, "AcmeCorp", "a brand")
    account("acmecorp", 31)
    account("support", 31)
    account("Flagged", 31, protected=True)
    account("plain", 31)
    release().run()
    clock.advance(days=30)
    run = release().run()
    assert (run.released, run.held_back) == (1, 3)
    assert [h.name for h in listings().released_handles()] == ["plain"]
    assert {i["handle"] for i in release().queue("held_back")["items"]} == {"acmecorp", "support", "Flagged"}
    for name in ("acmecorp", "support", "Flagged"):
        with pytest.raises(ServiceError) as refused:
            listings().create(admin, {"handle": name, "kind": "auction", "start_price_cents": 1_000_000})
        assert refused.value.code == "protected_handle"
    lot = listings().create(admin, {"handle": "acmecorp", "kind": "auction", "start_price_cents": 1_000_000,
                                    "eligibility": "organisations"})
    assert lot.eligibility == "organisations"
    assert count(Listing, Listing.eligibility != "organisations") == 0


def test_protected_name_in_the_pool_cannot_reach_an_open_lot(app, clock):
    admin = make_user(admin=True)
    DatabaseRegistry(db.session).add_released("Nike", clock.now())
    db.session.commit()
    release().add_protected_name(admin, "nike", "a brand")
    with pytest.raises(ServiceError) as refused:
        listings().create(admin, {"handle": "nike", "kind": "fixed", "price_cents": 5_000_000})
    assert refused.value.code == "protected_handle"


def test_admin_releases_a_bot_held_handle_at_once_with_a_reason(app, clock):
    admin = make_user(admin=True)
    account("spambot", 1)
    with pytest.raises(ServiceError) as refused:
        release().release_now(admin, "spambot", "")
    assert refused.value.code == "reason_required"
    result = release().release_now(admin, "@SpamBot", "posts spam every minute")
    assert result == {"handle": "spambot", "state": "released", "lot_id": None}
    assert handle_row("spambot").account_id is None
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "release.bot")).scalar_one()
    assert entry.actor_id == admin.id and entry.target == "handle:spambot"
    assert entry.details["reason"] == "posts spam every minute"
    assert db.session.execute(select(PlatformAccount.is_bot)).scalar_one() is True


def test_admin_keep_hold_back_and_protected_list_are_audited(app, clock):
    admin = make_user(admin=True)
    account("savedbyadmin", 31)
    release().run()
    release().keep(admin, "savedbyadmin", "verified owner by phone")
    clock.advance(days=29)
    run = release().run()
    assert run.released == 0 and run.flagged == 0  # the keep counts as activity for 30 days
    clock.advance(days=1)
    assert release().run().flagged == 1
    DatabaseRegistry(db.session).add_released("later", clock.now())
    db.session.commit()
    release().hold_back(admin, "later", "legal check")
    assert "later" not in [h.name for h in listings().released_handles()]
    release().return_to_pool(admin, "later", "cleared")
    assert "later" in [h.name for h in listings().released_handles()]
    release().add_protected_name(admin, "BrandX", "brand")
    assert [i["name"] for i in release().protected_names()["items"]] == ["brandx"]
    release().remove_protected_name(admin, "brandx", "mistake")
    actions = [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions.count("release.keep") == 1
    assert {"release.keep", "release.hold_back", "release.return_to_pool", "protected.add",
            "protected.remove"} <= set(actions)


def test_console_overview_and_listing_suggestions(app, clock):
    account("ocean", 31)
    account("zz9_zz", 31)
    release().run()
    overview = release().overview()
    assert overview["in_grace"] == 2 and overview["sweep"]["percent"] == 100.0
    grace = release().queue("grace")["items"]
    assert {i["handle"] for i in grace} == {"ocean", "zz9_zz"}
    clock.advance(days=30)
    release().run()
    suggestions = {s["handle"]: s for s in release().listing_suggestions()}
    assert suggestions["ocean"]["kind"] == "auction" and suggestions["zz9_zz"]["kind"] == "fixed"
    assert all(isinstance(s["start_price_cents"], int) for s in suggestions.values())
    assert release().overview()["released_unlisted"] == 2
