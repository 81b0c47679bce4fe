"""The email outbox: messages written with the events they tell of, sent later by the worker.

Each message is sent at most once: on PostgreSQL the sender holds the row's lock (taken with SKIP
LOCKED, so other workers pass it by) from before the send until sent_at is committed; SQLite runs
in one process, where a process-wide lock lets one sender at a time work. A failed send counts an
attempt and keeps the error; it is retried on a growing schedule and given up after five tries.
Without SMTP settings nothing is sent: the messages stay for the development mailbox page.
"""
from __future__ import annotations

import logging
import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, parseaddr

from flask import current_app
from sqlalchemy import and_, func, or_, select

from ..db import is_sqlite, lock_for_update, transaction
from ..models import EmailMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Attempt n+1 may start this long after the message was written (attempt 1 at once).
RETRY_AFTER = (timedelta(0), timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6))
SMTP_TIMEOUT_SECONDS = 20
_sqlite_sender = threading.Lock()


def smtp_configured(config) -> bool:
    """Say whether the app has an SMTP server to send through."""
    return bool(config.get("MAIL_SMTP_HOST"))


class SmtpMailer:
    """One SMTP connection, opened on first use and reused for the rest of a pass."""

    def __init__(self, config):
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: MimeMessage) -> None:
        """Send one message (raises smtplib.SMTPException or OSError on failure)."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except BaseException:
            self.close()  # the connection's state is unknown now; the next message opens a new one
            raise

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        smtp = smtplib.SMTP(config["MAIL_SMTP_HOST"], int(config.get("MAIL_SMTP_PORT") or 25),
                            timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if config.get("MAIL_SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("MAIL_SMTP_USER"):
                smtp.login(config["MAIL_SMTP_USER"], config.get("MAIL_SMTP_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


class OutboxSender:
    """Sends unsent outbox messages through SMTP, each once."""

    def __init__(self, session, clock, config, mailer=None):
        self.session = session
        self.clock = clock
        self.config = config
        self.mailer = mailer

    def send_pending(self, limit: int = 50) -> int:
        """Send up to `limit` due messages; return how many went out (0 without SMTP settings)."""
        if not smtp_configured(self.config):
            return 0
        mailer = self.mailer or SmtpMailer(self.config)
        sent, tried = 0, []
        try:
            if is_sqlite():
                _sqlite_sender.acquire()
            try:
                while len(tried) < limit:
                    outcome = self._send_one(mailer, tried)
                    if outcome is None:
                        break
                    sent += outcome
            finally:
                if is_sqlite():
                    _sqlite_sender.release()
        finally:
            mailer.close()
        return sent

    def _due(self, now, skip: list[int]):
        """The oldest message due for an attempt (not sent, not given up, its retry time come)."""
        due = or_(*[and_(EmailMessage.attempts == n, EmailMessage.created_at <= now - wait)
                    for n, wait in enumerate(RETRY_AFTER)])
        query = select(EmailMessage).where(EmailMessage.sent_at.is_(None), due)
        if skip:
            query = query.where(EmailMessage.id.not_in(skip))
        return query.order_by(EmailMessage.id).limit(1)

    def _send_one(self, mailer, tried: list[int]) -> int | None:
        """Claim, send and record one message: 1 sent, 0 failed, None when nothing is due."""
        now = self.clock.now()
        if is_sqlite():
            # One sender per process (the lock above); the database's write lock is not held
            # across the network call, so bids go on while a slow server answers.
            row = self.session.execute(self._due(now, tried)).scalar_one_or_none()
            message = self._mime(row) if row is not None else None
            self.session.rollback()
            if row is None:
                return None
            tried.append(row.id)
            error = self._deliver(mailer, message)
            with transaction() as session:
                self._record(session.get(EmailMessage, row.id), error)
            return 0 if error else 1
        with transaction() as session:
            row = session.execute(lock_for_update(self._due(now, tried), skip_locked=True)).scalar_one_or_none()
            if row is None:
                return None
            tried.append(row.id)
            error = self._deliver(mailer, self._mime(row))
            self._record(row, error)
        return 0 if error else 1

    def _deliver(self, mailer, message: MimeMessage) -> str | None:
        """Hand the message to the SMTP server; the error text on failure, else None."""
        try:
            mailer.send(message)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("email %s to %s not sent: %s", message["Message-ID"], message["To"], exc)
            return f"{exc.__class__.__name__}: {exc}"[:200]
        return None

    def _record(self, row: EmailMessage, error: str | None) -> None:
        """Stamp the message sent, or count the failed attempt."""
        row.attempts = (row.attempts or 0) + 1
        if error is None:
            row.sent_at, row.last_error = self.clock.now(), None
        else:
            row.last_error = error
            if row.attempts >= MAX_ATTEMPTS:
                log.error("email %s to %s given up after %s attempts", row.id, row.to_address, row.attempts)

    def _mime(self, row: EmailMessage) -> MimeMessage:
        """The message as sent; its Message-ID names the outbox row, so a receiver can spot repeats."""
        sender = self.config.get("MAIL_FROM") or "no-reply@localhost"
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        message = MimeMessage()
        message["From"] = sender
        message["To"] = row.to_address
        message["Subject"] = row.subject
        message["Date"] = format_datetime(row.created_at)
        message["Message-ID"] = f"<outbox-{row.id}.{int(row.created_at.timestamp())}@{domain}>"
        message.set_content(row.body_text)
        return message


def recent(session, page: int = 1, per_page: int = 20) -> dict:
    """A page of the outbox, newest first (the development mailbox)."""
    total = session.execute(select(func.count()).select_from(EmailMessage)).scalar_one()
    items = list(session.execute(select(EmailMessage).order_by(EmailMessage.id.desc())
                                 .offset((page - 1) * per_page).limit(per_page)).scalars())
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def send_pending(limit: int = 50) -> int:
    """Send due outbox messages with the current app's settings (the worker's job)."""
    from ..extensions import db

    app = current_app._get_current_object()
    return OutboxSender(db.session, app.extensions["clock"], app.config).send_pending(limit)
