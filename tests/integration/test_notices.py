"""Notices in the app and by email: notify, the outbox sender (real SMTP), the pages."""
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from marketplace.db import transaction
from marketplace.extensions import db
from marketplace.live import Publisher, RecordingSink
from marketplace.models import EmailMessage, Notification
from marketplace.notices.routes import mailbox_enabled
from marketplace.services.notices import ACCOUNT_KINDS, KINDS, LOT_KINDS, notify
from marketplace.services.outbox import MAX_ATTEMPTS, send_pending
from marketplace.wiring import bidding, closing
from tests.factories import login, make_auction, make_user
from tests.procs import free_port

PUBLIC_URL = "https://hx.example"
AMOUNT_CENTS = 123_450  # "$1,234.50" in mail, "$1,234.50" on pages
WITH_AMOUNT = {"won", "outbid", "payment_taken", "payment_needed", "payment_failed", "second_chance_offer",
               "refunded", "lot_sold", "payout_sent"}


@pytest.fixture
def app_config():
    return {"PUBLIC_URL": PUBLIC_URL}


def notice(user, kind="won", publisher=None, **payload):
    """Make one notice through `notify` and commit it, as a use case would."""
    publisher = publisher or Publisher(RecordingSink())
    payload = {"lot_id": None, "handle": "Aurora", "amount_cents": AMOUNT_CENTS, "order_id": 7, **payload}
    with transaction(publisher) as session:
        made = notify(session, publisher, user.id, kind, _now(), **payload)
    return made


def _now():
    from marketplace.wiring import clock
    return clock().now()


def outbox() -> list[EmailMessage]:
    db.session.expire_all()
    return db.session.query(EmailMessage).order_by(EmailMessage.id).all()


# ---- notify --------------------------------------------------------------------------------

def test_notify_writes_notice_email_and_live_push_in_one_transaction(app):
    alice = make_user(name="Alice")
    sink = RecordingSink()
    publisher = Publisher(sink)
    with pytest.raises(RuntimeError):
        with transaction(publisher) as session:
            notify(session, publisher, alice.id, "payment_taken", _now(), order_id=3, amount_cents=AMOUNT_CENTS,
                   handle="Aurora")
            raise RuntimeError("the use case failed after notifying")
    assert db.session.query(Notification).count() == 0
    assert outbox() == []
    assert sink.sent == []

    with transaction(publisher) as session:
        notify(session, publisher, alice.id, "payment_taken", _now(), order_id=3, amount_cents=AMOUNT_CENTS,
               handle="Aurora")
    [row] = db.session.query(Notification).all()
    assert (row.user_id, row.kind, row.payload["order_id"]) == (alice.id, "payment_taken", 3)
    [mail] = outbox()
    assert (mail.user_id, mail.to_address, mail.kind, mail.sent_at, mail.attempts) == (
        alice.id, alice.email, "payment_taken", None, 0)
    assert sink.sent == [("payment_taken", {"order_id": 3, "amount_cents": AMOUNT_CENTS, "handle": "Aurora"},
                          f"user:{alice.id}")]


# Notices about an organisation's account, not about a handle.
ORGANISATION_KINDS = [k for k in KINDS if k.startswith("organisation_")]


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ORGANISATION_KINDS and k not in ACCOUNT_KINDS])
def test_each_kind_renders_subject_and_body_with_dollars_and_absolute_link(app, kind):
    from marketplace.services.notices import render_email

    alice = make_user(name="Alice")
    payload = {"lot_id": 5, "order_id": 9, "handle": "Aurora", "amount_cents": AMOUNT_CENTS, "strikes": 1,
               "pay_by": "2026-06-03T12:00:00+00:00"}
    subject, body = render_email(kind, payload, alice)
    assert subject and "\n" not in subject and "@Aurora" in subject
    assert body.startswith("Hello Alice,") and "@Aurora" in body
    if kind in WITH_AMOUNT:
        assert "$1,234.50" in body
    link = f"{PUBLIC_URL}/lots/5" if kind in LOT_KINDS else f"{PUBLIC_URL}/orders/9"
    assert link in body
    assert f"{PUBLIC_URL}/account/notifications" in body
    assert "\n\n\n" not in body and "{{" not in body and "&#" not in body
    if kind in ("payment_needed", "second_chance_offer"):
        assert "3 Jun 2026, 12:00 UTC" in body


@pytest.mark.parametrize("kind", ORGANISATION_KINDS)
def test_organisation_notices_name_it_and_link_its_page(app, kind):
    from marketplace.services.notices import render_email

    subject, body = render_email(kind, {"organisation": "Acme Corp", "reason": "No such company."},
                                 make_user(name="Alice"))
    assert subject and "\n" not in subject and "{{" not in subject
    assert body.startswith("Hello Alice,") and "Acme Corp" in body and f"{PUBLIC_URL}/organisation" in body
    assert "\n\n\n" not in body and "{{" not in body and "&#" not in body


@pytest.mark.parametrize("kind", sorted(ACCOUNT_KINDS))
def test_notices_about_a_buyers_standing_give_the_reason_and_link_the_market(app, kind):
    from marketplace.services.notices import render_email

    payload = {"reason": "Checked by the team.", "cleared": 2, "strikes": 1, "max_strikes": 3, "reinstated": True}
    subject, body = render_email(kind, payload, make_user(name="Alice"))
    assert subject and "\n" not in subject and "{{" not in subject
    assert body.startswith("Hello Alice,") and "Checked by the team." in body and f"{PUBLIC_URL}/lots" in body
    assert f"{PUBLIC_URL}/account/notifications" in body
    assert "\n\n\n" not in body and "{{" not in body and "&#" not in body
    if kind == "strikes_cleared":
        assert "2 strikes were cleared" in subject and "1 strike left" in body and "bid and buy again" in body


def test_a_kind_without_its_own_template_gets_a_plain_email(app):
    notice(make_user(name="Alice"), "something_new", order_id=4)
    [mail] = outbox()
    assert mail.subject == "News about @Aurora"
    assert "$1,234.50" in mail.body_text and f"{PUBLIC_URL}/orders/4" in mail.body_text


def test_notify_names_the_handle_when_the_caller_gives_only_the_lot(app):
    lot = make_auction()
    alice = make_user()
    notice(alice, "refunded", lot_id=lot.id, handle=None)
    [mail] = outbox()
    assert f"@{lot.handle_display}" in mail.subject


def test_outbid_is_kept_and_pushed_but_never_emailed(app):
    lot = make_auction(start_cents=100_000)
    alice, bob = make_user(), make_user()
    bidding().place(alice, lot.id, 150_000)
    bidding().place(bob, lot.id, 200_000)
    assert [n.kind for n in db.session.query(Notification).filter_by(user_id=alice.id)] == ["outbid"]
    notice(alice, "outbid", lot_id=lot.id)
    assert outbox() == []


def test_closing_tells_the_winner_in_the_app_and_by_email(app, clock):
    lot = make_auction(start_cents=100_000, minutes=10)
    alice = make_user()
    bidding().place(alice, lot.id, 150_000)
    clock.set(clock.now() + timedelta(minutes=11))
    assert closing().close_due() == 1
    [won] = db.session.query(Notification).filter_by(user_id=alice.id, kind="won").all()
    [mail] = outbox()
    assert mail.kind == "won" and mail.to_address == alice.email
    assert "$1,000.00" in mail.body_text
    assert f"{PUBLIC_URL}/orders/{won.payload['order_id']}" in mail.body_text


# ---- sending through SMTP ------------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler that keeps what it receives, or refuses every message with `reply`."""

    def __init__(self):
        self.received = []
        self.reply = None

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.received.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 for this test."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_app(app, smtp_server):
    """The app pointed at the test's SMTP server."""
    controller, _inbox = smtp_server
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=controller.port,
                      MAIL_FROM="Handle Exchange <mail@hx.example>")
    return app


def test_pending_email_is_sent_once_through_smtp(smtp_app, smtp_server, clock):
    _controller, inbox = smtp_server
    alice = make_user()
    notice(alice, "won")
    assert send_pending() == 1
    assert send_pending() == 0
    [envelope] = inbox.received
    assert envelope.rcpt_tos == [alice.email]
    text = envelope.content.decode()
    assert "Subject: You won @Aurora" in text and "$1,234.50" in text and "From: Handle Exchange <mail@hx.example>" in text
    [mail] = outbox()
    assert mail.sent_at == clock.now() and mail.attempts == 1 and mail.last_error is None


def test_refusing_server_leaves_message_unsent_with_error_and_retries_later(smtp_app, smtp_server, clock):
    _controller, inbox = smtp_server
    inbox.reply = "554 5.7.1 Rejected for testing"
    notice(make_user(), "refunded")
    assert send_pending() == 0
    [mail] = outbox()
    assert (mail.sent_at, mail.attempts) == (None, 1)
    assert "554" in mail.last_error
    assert send_pending() == 0 and outbox()[0].attempts == 1  # not again at once

    inbox.reply = None
    clock.set(clock.now() + timedelta(minutes=1))
    assert send_pending() == 1
    [mail] = outbox()
    assert mail.sent_at is not None and mail.attempts == 2 and mail.last_error is None
    assert len(inbox.received) == 1


def test_unreachable_server_counts_an_attempt(app):
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=free_port())
    notice(make_user(), "won")
    assert send_pending() == 0
    [mail] = outbox()
    assert mail.attempts == 1 and mail.sent_at is None and mail.last_error


def test_message_is_given_up_after_five_attempts(smtp_app, smtp_server, clock):
    _controller, inbox = smtp_server
    notice(make_user(), "won")
    mail = outbox()[0]
    mail.attempts, mail.last_error = MAX_ATTEMPTS, "earlier failures"
    db.session.commit()
    clock.set(clock.now() + timedelta(days=30))
    assert send_pending() == 0
    assert inbox.received == [] and outbox()[0].attempts == MAX_ATTEMPTS


def test_without_smtp_settings_nothing_is_sent(app):
    assert not app.config.get("MAIL_SMTP_HOST")
    notice(make_user(), "won")
    assert send_pending() == 0
    assert outbox()[0].attempts == 0


def test_two_senders_at_once_send_each_message_once(smtp_app, smtp_server):
    _controller, inbox = smtp_server
    users = [make_user() for _ in range(6)]
    for user in users:
        notice(user, "payout_sent")
    counts, errors = [], []

    def sender():
        try:
            with smtp_app.app_context():
                try:
                    counts.append(send_pending())
                finally:
                    db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(counts) == 6
    assert sorted(e.rcpt_tos[0] for e in inbox.received) == sorted(u.email for u in users)
    assert all(m.sent_at is not None and m.attempts == 1 for m in outbox())


def test_worker_pass_sends_the_outbox(smtp_app, smtp_server):
    from marketplace.worker import Worker

    _controller, inbox = smtp_server
    notice(make_user(), "handle_transferred")
    Worker(smtp_app).run_once()
    assert len(inbox.received) == 1


# ---- the notifications page ------------------------------------------------------------------

def test_notifications_page_needs_sign_in(client, app):
    response = client.get("/account/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_notifications_page_lists_only_my_notices_newest_first(client, app, clock):
    alice, bob = make_user(), make_user()
    notice(alice, "won", handle="First", order_id=11)
    clock.set(clock.now() + timedelta(minutes=1))
    lot = make_auction()
    notice(alice, "outbid", handle="Second", lot_id=lot.id, order_id=None)
    notice(bob, "won", handle="Secret", order_id=12)
    login(client, alice)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "@Secret" not in page
    assert page.index("@Second") < page.index("@First")
    assert "You won @First at $1,234.50." in page
    assert 'href="/orders/11"' in page and f'href="/lots/{lot.id}"' in page
    assert 'data-testid="notice-count" data-count="2"' in page


def test_notifications_page_has_a_helpful_empty_state(client, app):
    login(client, make_user())
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'data-testid="empty-state"' in page and "No notices yet" in page
    assert 'data-testid="mark-read"' not in page


def test_notifications_page_is_paginated(client, app):
    alice = make_user()
    for n in range(30):
        notice(alice, "won", handle=f"h{n}")
    login(client, alice)
    first = client.get("/account/notifications").get_data(as_text=True)
    second = client.get("/account/notifications?page=2").get_data(as_text=True)
    assert first.count('data-testid="notice"') == 25 and second.count('data-testid="notice"') == 5
    assert 'data-testid="pagination"' in first


def test_mark_all_read_clears_only_my_unread(client, app):
    alice, bob = make_user(), make_user()
    notice(alice, "won")
    notice(bob, "won")
    login(client, alice)
    response = client.post("/account/notifications/read")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.query(Notification).filter_by(user_id=alice.id).one().read_at is not None
    assert db.session.query(Notification).filter_by(user_id=bob.id).one().read_at is None
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'data-count="0"' in page and 'data-testid="mark-read"' not in page


@pytest.mark.parametrize("app_config", [{"PUBLIC_URL": PUBLIC_URL, "WTF_CSRF_ENABLED": True}])
def test_mark_all_read_needs_the_csrf_token(client, app):
    alice = make_user()
    notice(alice, "won")
    with client.session_transaction() as session:
        session["_user_id"] = str(alice.id)
        session["_fresh"] = True
    refused = client.post("/account/notifications/read")
    assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.query(Notification).one().read_at is None
    page = client.get("/account/notifications").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/account/notifications/read", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.query(Notification).one().read_at is not None


def test_nav_badge_lists_the_live_kinds_and_loads_its_script(client, app):
    login(client, make_user())
    page = client.get("/").get_data(as_text=True)
    assert f'data-kinds="{" ".join(KINDS)}"' in page
    assert "js/notifications.js" in page


# ---- the development mailbox ---------------------------------------------------------------

def test_dev_mailbox_shows_the_outbox_newest_first(client, app):
    alice = make_user()
    notice(alice, "won", handle="Older")
    notice(alice, "refunded", handle="Newer")
    page = client.get("/dev/mailbox")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert alice.email in text and text.index("@Newer") < text.index("@Older")
    assert "Refund for @Newer" in text and "$1,234.50" in text
    assert 'data-testid="dev-mailbox-link"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"DEV_MAILBOX": False}])
def test_dev_mailbox_is_404_when_switched_off(client, app):
    assert client.get("/dev/mailbox").status_code == 404
    assert 'data-testid="dev-mailbox-link"' not in client.get("/").get_data(as_text=True)


def test_dev_mailbox_is_never_on_in_production_or_with_smtp():
    assert mailbox_enabled({"DEV_MAILBOX": True, "ENV_NAME": "development"})
    assert not mailbox_enabled({"DEV_MAILBOX": True, "ENV_NAME": "production"})
    assert not mailbox_enabled({"DEV_MAILBOX": True, "ENV_NAME": "development", "MAIL_SMTP_HOST": "smtp.example"})
