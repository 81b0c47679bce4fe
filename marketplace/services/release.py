"""The release pipeline: inactive accounts are flagged, warned, reminded, and their handles released.

The sweep walks platform_accounts by primary-key range, `batch_size` ids per transaction, and in
each batch runs a few set-based statements (no Python loop over accounts):

1. keep: flagged accounts whose owner was active again since the flag lose the flag;
2. flag: accounts holding a handle and inactive for `inactive_days` get flagged_at and
   release_due_at = now + grace; owners who are marketplace users get a notice;
3. remind: flagged accounts due within `reminder_days` get one reminder;
4. release: flagged accounts whose release is due give up their handles: protected ones (the
   handle's own flag or the protected-names list) are held back for admins, the rest go to the
   platform's pool; backorderers of a released handle are told, and with two or more of them an
   auction open only to them starts at once.

The run's checkpoint (sweep_runs.last_id) moves in the same transaction as the batch's changes, so
a stopped sweep resumes where it stopped, and every statement's conditions make a second pass a
no-op. Accounts without a marketplace user (user_id) get no notice: there is nobody to tell.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update

import auctions

from ..audit import audit
from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import Conflict, NotFound, ServiceError
from ..models import (
    Backorder,
    Eligibility,
    Handle,
    Listing,
    ListingKind,
    PlatformAccount,
    ProtectedName,
    SweepRun,
    User,
)
from ..registry import DatabaseRegistry, parse_handle
from .listings import holding_lots
from .notices import notify

log = logging.getLogger(__name__)

ACCOUNTS = PlatformAccount.__table__
HANDLES = Handle.__table__
PROTECTED = ProtectedName.__table__
# Seeded by the migration too; `seed_protected_names` restores any that are missing.
DEFAULT_PROTECTED_NAMES = tuple((name, "the platform's own word") for name in (
    "admin", "administrator", "api", "help", "login", "moderator", "official", "platform", "root",
    "security", "settings", "staff", "support", "system", "verified")) + (
    ("handleexchange", "the marketplace's own name"),)
QUEUE_STATES = ("grace", "released", "held_back")
COUNTS = ("flagged", "reminded", "kept", "released", "held_back", "notices")


@dataclass(frozen=True)
class ReleasePolicy:
    """The activity policy's numbers (settings RELEASE_* and SWEEP_BATCH_SIZE)."""

    inactive_days: int = 30
    grace_days: int = 30
    reminder_days: int = 7
    batch_size: int = 10_000
    backorder_auction_hours: int = 24

    @classmethod
    def from_config(cls, config) -> "ReleasePolicy":
        """The policy from the app's settings."""
        return cls(inactive_days=config["RELEASE_INACTIVE_DAYS"], grace_days=config["RELEASE_GRACE_DAYS"],
                   reminder_days=config["RELEASE_REMINDER_DAYS"], batch_size=config["SWEEP_BATCH_SIZE"],
                   backorder_auction_hours=config["BACKORDER_AUCTION_HOURS"])


def release_date_text(moment: datetime) -> str:
    """A release date as mail text: "1 Jul 2026"."""
    return f"{moment.day} {moment:%b %Y}"


def is_protected_name(session, name: str) -> bool:
    """Whether a (case-folded) name is on the protected-names list."""
    return session.execute(select(ProtectedName.id).where(ProtectedName.name == name)).first() is not None


def inactive_rule(now: datetime, policy: ReleasePolicy):
    """The activity policy's one rule, as SQL over platform_accounts: not active (nor kept by an
    admin) for `inactive_days`. The sweep flags by it; inquiries quote handles held by such accounts."""
    cutoff = now - timedelta(days=policy.inactive_days)
    return and_(ACCOUNTS.c.last_active_at <= cutoff, or_(ACCOUNTS.c.kept_at.is_(None), ACCOUNTS.c.kept_at <= cutoff))


def may_release(session, account_id: int, now: datetime, policy: ReleasePolicy) -> bool:
    """Whether an account's handles may leave it now: a bot-held account, or an inactive one."""
    return session.execute(select(ACCOUNTS.c.id).where(
        ACCOUNTS.c.id == account_id, or_(ACCOUNTS.c.is_bot.is_(True), inactive_rule(now, policy)))).first() is not None


def release_handle(session, handle: Handle, now: datetime, bot: bool = False) -> str:
    """Take a handle out of its account into the platform's custody, in the caller's transaction.

    Protected names (the handle's flag or the list) are held back for admins. Returns "released"
    or "held_back". `bot` marks the account bot-held (an admin's finding).
    """
    account = session.get(PlatformAccount, handle.account_id)
    if bot:
        account.is_bot = True
    account.released_at = now
    account.flagged_at = account.flagged_at or now
    held = handle.protected or is_protected_name(session, handle.name)
    handle.account_id = None
    handle.released_at = now
    handle.held_back_at = now if held else None
    session.flush()
    return "held_back" if held else "released"


def run_json(run: SweepRun | None) -> dict | None:
    """A sweep run's progress and counts, for the command and the admin page."""
    if run is None:
        return None
    percent = 100.0 if run.total == 0 else round(100.0 * run.processed / run.total, 1)
    return {"id": run.id, "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "updated_at": iso(run.updated_at), "processed": run.processed, "total": run.total,
            "percent": percent, "batches": run.batches, "batch_size": run.batch_size,
            **{name: getattr(run, name) for name in COUNTS}}


class ReleaseService:
    """The sweep, the admin actions on the release queue, and the protected-names list.

    `publishers` makes a fresh live-event publisher per transaction (wiring.publisher).
    """

    def __init__(self, session, clock, publishers, policy: ReleasePolicy | None = None):
        self.session = session
        self.clock = clock
        self.publishers = publishers
        self.policy = policy or ReleasePolicy()

    # ---- the sweep ------------------------------------------------------------------------
    def latest_run(self) -> SweepRun | None:
        """The most recent sweep run, finished or not."""
        return self.session.execute(select(SweepRun).order_by(SweepRun.id.desc()).limit(1)).scalar_one_or_none()

    def progress(self) -> dict | None:
        """The latest run's progress (processed/total ids, percent) and counts; None before any run."""
        return run_json(self.latest_run())

    def start_or_resume(self) -> SweepRun:
        """The unfinished run to continue, or a new run over every account id up to the current maximum."""
        with transaction():
            run = self.session.execute(select(SweepRun).where(SweepRun.finished_at.is_(None))
                                       .order_by(SweepRun.id.desc()).limit(1)).scalar_one_or_none()
            if run is not None:
                return run
            now = self.clock.now()
            low, high = self.session.execute(select(func.min(ACCOUNTS.c.id), func.max(ACCOUNTS.c.id))).one()
            first = (low or 1) - 1
            run = SweepRun(started_at=now, updated_at=now, first_id=first, last_id=first, max_id=high or first,
                           batch_size=self.policy.batch_size, batches=0, **{name: 0 for name in COUNTS})
            if run.max_id <= run.first_id:
                run.finished_at = now
            self.session.add(run)
        return run

    def run(self, max_batches: int | None = None, on_batch=None) -> SweepRun:
        """Sweep to the end (or `max_batches` batches), resuming an unfinished run; returns the run.

        `on_batch(run)` is called after each committed batch (the command's progress bar).
        """
        run_id = self.start_or_resume().id
        done = 0
        while max_batches is None or done < max_batches:
            more = self.run_batch(run_id)
            done += 1
            if on_batch is not None:
                on_batch(self.session.get(SweepRun, run_id))
            if not more:
                break
        return self.session.get(SweepRun, run_id)

    def run_batch(self, run_id: int) -> bool:
        """Sweep the run's next id range in one transaction; True while ids remain.

        The run's row is locked (skipping it when another worker holds it), so two workers never
        sweep the same batch at once.
        """
        publisher = self.publishers()
        with transaction(publisher):
            run = self.session.execute(lock_for_update(select(SweepRun).where(SweepRun.id == run_id),
                                                       skip_locked=True)).scalar_one_or_none()
            if run is None or run.finished_at is not None:
                return False
            now = self.clock.now()
            after = run.last_id
            upto = min(after + run.batch_size, run.max_id)
            counts = self.sweep_range(after, upto, now, publisher)
            run.last_id = upto
            run.batches += 1
            run.updated_at = now
            for name in COUNTS:
                setattr(run, name, getattr(run, name) + counts[name])
            if upto >= run.max_id:
                run.finished_at = now
            if any(counts[name] for name in ("flagged", "kept", "released", "held_back")):
                audit(self.session, now, None, "release.sweep_batch", f"sweep:{run.id}",
                      {"after_id": after, "upto_id": upto, **counts})
            return run.finished_at is None

    def sweep_range(self, after: int, upto: int, now: datetime, publisher) -> dict:
        """The four phases over account ids in (after, upto], in the caller's transaction; the counts."""
        policy = self.policy
        counts = dict.fromkeys(COUNTS, 0)
        in_range = and_(ACCOUNTS.c.id > after, ACCOUNTS.c.id <= upto)
        flagged = and_(ACCOUNTS.c.flagged_at.is_not(None), ACCOUNTS.c.released_at.is_(None))
        still_inactive = ACCOUNTS.c.last_active_at <= ACCOUNTS.c.flagged_at

        # 1. Active again during grace: the handle is kept.
        kept = self.session.execute(
            update(ACCOUNTS).where(in_range, flagged, ~still_inactive)
            .values(flagged_at=None, release_due_at=None, reminded_at=None, kept_at=now)
            .returning(ACCOUNTS.c.id)).all()
        counts["kept"] = len(kept)

        # 2. Newly inactive (an admin's keep counts as activity): flag and warn.
        due = now + timedelta(days=policy.grace_days)
        rows = self.session.execute(
            update(ACCOUNTS).where(
                in_range, ACCOUNTS.c.flagged_at.is_(None), ACCOUNTS.c.released_at.is_(None),
                inactive_rule(now, policy), exists().where(HANDLES.c.account_id == ACCOUNTS.c.id))
            .values(flagged_at=now, release_due_at=due, reminded_at=None)
            .returning(ACCOUNTS.c.id, ACCOUNTS.c.user_id)).all()
        counts["flagged"] = len(rows)
        counts["notices"] += self._tell_owners(rows, "release_warning", due, now, publisher)

        # 3. Release close: one reminder (never in the batch that flagged the account).
        soon = now + timedelta(days=policy.reminder_days)
        rows = self.session.execute(
            update(ACCOUNTS).where(in_range, flagged, still_inactive, ACCOUNTS.c.reminded_at.is_(None),
                                   ACCOUNTS.c.flagged_at < now, ACCOUNTS.c.release_due_at > now,
                                   ACCOUNTS.c.release_due_at <= soon)
            .values(reminded_at=now)
            .returning(ACCOUNTS.c.id, ACCOUNTS.c.user_id, ACCOUNTS.c.release_due_at)).all()
        counts["reminded"] = len(rows)
        for account_id, user_id, due_at in rows:
            counts["notices"] += self._tell_owners([(account_id, user_id)], "release_reminder",
                                                   _aware(due_at), now, publisher)

        # 4. Grace over: release. Protected handles are held back, never put in the open pool.
        releasing = and_(in_range, flagged, still_inactive, ACCOUNTS.c.release_due_at <= now)
        due_accounts = select(ACCOUNTS.c.id).where(releasing)
        protected = or_(HANDLES.c.protected.is_(True), HANDLES.c.name.in_(select(PROTECTED.c.name)))
        held = self.session.execute(
            update(HANDLES).where(HANDLES.c.account_id.in_(due_accounts), protected)
            .values(account_id=None, released_at=now, held_back_at=now).returning(HANDLES.c.id)).all()
        released = self.session.execute(
            update(HANDLES).where(HANDLES.c.account_id.in_(due_accounts))
            .values(account_id=None, released_at=now, held_back_at=None)
            .returning(HANDLES.c.id)).all()
        self.session.execute(update(ACCOUNTS).where(releasing).values(released_at=now))
        counts["held_back"] = len(held)
        counts["released"] = len(released)
        if released:
            counts["notices"] += self.after_release([r[0] for r in released], now, publisher)
        return counts

    def _tell_owners(self, rows, kind: str, due: datetime, now: datetime, publisher) -> int:
        """Notify the marketplace users behind flagged accounts about each of their handles."""
        owners = {account_id: user_id for account_id, user_id in rows if user_id is not None}
        if not owners:
            return 0
        sent = 0
        handles = self.session.execute(select(HANDLES.c.account_id, HANDLES.c.display)
                                       .where(HANDLES.c.account_id.in_(list(owners)))
                                       .order_by(HANDLES.c.account_id, HANDLES.c.id)).all()
        for account_id, display in handles:
            notify(self.session, publisher, owners[account_id], kind, now, handle=display,
                   release_at=iso(due), release_date=release_date_text(due),
                   grace_days=self.policy.grace_days, inactive_days=self.policy.inactive_days)
            sent += 1
        return sent

    def after_release(self, handle_ids: list[int], now: datetime, publisher) -> int:
        """Tell the backorderers of just-released handles; two or more get an auction of their own.

        Returns how many notices were sent.
        """
        sent = 0
        for start in range(0, len(handle_ids), 500):
            chunk = handle_ids[start:start + 500]
            rows = self.session.execute(
                select(Backorder, Handle).join(Handle, Handle.name == Backorder.handle_name)
                .where(Handle.id.in_(chunk), Backorder.notified_at.is_(None))
                .order_by(Handle.id, Backorder.created_at, Backorder.id)).all()
            by_handle: dict[int, list[Backorder]] = defaultdict(list)
            handles = {}
            for backorder, handle in rows:
                by_handle[handle.id].append(backorder)
                handles[handle.id] = handle
            for handle_id, backorders in by_handle.items():
                handle = handles[handle_id]
                listing = self._backorder_auction(handle, len(backorders), now) if len(backorders) >= 2 else None
                for backorder in backorders:
                    backorder.notified_at = now
                    backorder.listing_id = listing.id if listing else None
                    payload = {"handle": handle.display, "backorderers": len(backorders)}
                    if listing is not None:
                        payload.update(lot_id=listing.id, ends_at=iso(listing.ends_at))
                    notify(self.session, publisher, backorder.user_id, "backorder_released", now, **payload)
                    sent += 1
        return sent

    def _backorder_auction(self, handle: Handle, backorderers: int, now: datetime) -> Listing:
        """An auction of a just-released handle open to its backorderers only, for 24 hours."""
        suggestion = auctions.suggest(handle.name)
        listing = Listing(handle_id=handle.id, handle_name=handle.name, handle_display=handle.display,
                          kind=ListingKind.AUCTION.value, seller_id=None, eligibility=Eligibility.BACKORDERERS.value,
                          start_price_cents=suggestion.start_price_cents, reserve_cents=None,
                          current_price_cents=suggestion.start_price_cents, starts_at=now,
                          ends_at=now + timedelta(hours=self.policy.backorder_auction_hours),
                          soft_close_seconds=300, bid_count=0, next_order=1, seq=0, created_at=now)
        self.session.add(listing)
        self.session.flush()
        audit(self.session, now, None, "lot.create", f"lot:{listing.id}",
              {"handle": handle.name, "kind": listing.kind, "eligibility": listing.eligibility,
               "start_price_cents": listing.start_price_cents, "backorderers": backorderers})
        return listing

    # ---- activity -------------------------------------------------------------------------
    def record_sign_in(self, user: User) -> int:
        """The user signed in: every platform account they own was active now; returns how many kept.

        An account in its grace period keeps its handle (audited as release.keep).
        """
        with transaction():
            now = self.clock.now()
            registry = DatabaseRegistry(self.session)
            ids = self.session.execute(select(PlatformAccount.id).where(PlatformAccount.user_id == user.id)).scalars()
            kept = 0
            for account_id in list(ids):
                if registry.record_activity(account_id, now):
                    kept += 1
                    audit(self.session, now, user, "release.keep", f"account:{account_id}", {"why": "signed in"})
        return kept

    # ---- admin actions --------------------------------------------------------------------
    def _handle(self, raw: object) -> Handle:
        """A handle row by name, or 404."""
        name, _ = parse_handle(raw)
        handle = self.session.execute(lock_for_update(select(Handle).where(Handle.name == name))).scalar_one_or_none()
        if handle is None:
            raise NotFound("unknown_handle", "@%(handle)s is not in the registry.", handle=name)
        return handle

    @staticmethod
    def _reason(reason: object) -> str:
        """A required reason for the audit log."""
        if not isinstance(reason, str) or not reason.strip():
            raise ServiceError("reason_required", "Give a reason; it is kept in the audit log.", 400)
        return reason.strip()[:500]

    def release_now(self, admin: User, raw_handle: object, reason: object) -> dict:
        """Release a bot-held account's handle at once (marks the account a bot); audited.

        Returns {"handle", "state": "released" | "held_back", "lot_id"} (lot_id: a backorderers' auction).
        """
        reason = self._reason(reason)
        publisher = self.publishers()
        with transaction(publisher):
            now = self.clock.now()
            handle = self._handle(raw_handle)
            if handle.account_id is None:
                raise Conflict("handle_released", "@%(handle)s is already released.", handle=handle.display)
            account_id = handle.account_id
            state = release_handle(self.session, handle, now, bot=True)
            audit(self.session, now, admin, "release.bot", f"handle:{handle.name}",
                  {"account_id": account_id, "state": state, "reason": reason})
            if state == "released":
                self.after_release([handle.id], now, publisher)
            lot_id = self.session.execute(select(Backorder.listing_id).where(
                Backorder.handle_name == handle.name, Backorder.listing_id.is_not(None))).scalar()
        return {"handle": handle.display, "state": state, "lot_id": lot_id}

    def keep(self, admin: User, raw_handle: object, reason: object) -> dict:
        """Keep a flagged account's handle with its owner (clears the flag; counts as activity); audited."""
        reason = self._reason(reason)
        with transaction():
            now = self.clock.now()
            handle = self._handle(raw_handle)
            if handle.account_id is None:
                raise Conflict("handle_released", "@%(handle)s is already released.", handle=handle.display)
            account = self.session.get(PlatformAccount, handle.account_id)
            was_flagged = account.flagged_at is not None
            account.flagged_at = account.release_due_at = account.reminded_at = None
            account.kept_at = now
            audit(self.session, now, admin, "release.keep", f"handle:{handle.name}",
                  {"account_id": account.id, "was_flagged": was_flagged, "reason": reason})
        return {"handle": handle.display, "state": "kept"}

    def hold_back(self, admin: User, raw_handle: object, reason: object) -> dict:
        """Hold a released handle out of the open pool (organisations-only listing still allowed); audited."""
        reason = self._reason(reason)
        with transaction():
            now = self.clock.now()
            handle = self._handle(raw_handle)
            if handle.account_id is not None:
                raise Conflict("handle_not_released", "@%(handle)s still belongs to an account.", handle=handle.display)
            if handle.held_back_at is None:
                handle.held_back_at = now
            audit(self.session, now, admin, "release.hold_back", f"handle:{handle.name}", {"reason": reason})
        return {"handle": handle.display, "state": "held_back"}

    def return_to_pool(self, admin: User, raw_handle: object, reason: object) -> dict:
        """Put a held-back handle into the released pool; protected names stay organisations-only."""
        reason = self._reason(reason)
        with transaction():
            now = self.clock.now()
            handle = self._handle(raw_handle)
            if handle.account_id is not None:
                raise Conflict("handle_not_released", "@%(handle)s still belongs to an account.", handle=handle.display)
            handle.held_back_at = None
            audit(self.session, now, admin, "release.return_to_pool", f"handle:{handle.name}", {"reason": reason})
        return {"handle": handle.display, "state": "released"}

    # ---- protected names ------------------------------------------------------------------
    def protected_names(self, page: int = 1, per_page: int = 50, q: str | None = None) -> dict:
        """A page of the protected-names list, alphabetical, each with its reason and who added it."""
        query = select(ProtectedName)
        if q:
            query = query.where(ProtectedName.name.like(f"%{q.strip().lstrip('@').lower()[:15]}%"))
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.session.execute(query.order_by(ProtectedName.name)
                                    .offset((page - 1) * per_page).limit(per_page)).scalars()
        items = [{"id": r.id, "name": r.name, "reason": r.reason, "created_at": iso(r.created_at),
                  "added_by": r.added_by.email if r.added_by else None} for r in rows]
        return {"items": items, "page": page, "per_page": per_page, "total": total}

    def add_protected_name(self, admin: User, raw_name: object, reason: object) -> ProtectedName:
        """Add a name to the protected list (409 if there); audited."""
        name, _ = parse_handle(raw_name)
        reason = self._reason(reason)
        with transaction():
            if is_protected_name(self.session, name):
                raise Conflict("already_protected", "@%(handle)s is already protected.", handle=name)
            now = self.clock.now()
            row = ProtectedName(name=name, reason=reason[:200], added_by_id=admin.id, created_at=now)
            self.session.add(row)
            self.session.flush()
            audit(self.session, now, admin, "protected.add", f"handle:{name}", {"reason": reason})
        return row

    def remove_protected_name(self, admin: User, raw_name: object, reason: object) -> None:
        """Take a name off the protected list (404 if absent); audited."""
        name, _ = parse_handle(raw_name)
        reason = self._reason(reason)
        with transaction():
            row = self.session.execute(select(ProtectedName).where(ProtectedName.name == name)).scalar_one_or_none()
            if row is None:
                raise NotFound("not_protected", "@%(handle)s is not on the protected list.", handle=name)
            self.session.delete(row)
            audit(self.session, self.clock.now(), admin, "protected.remove", f"handle:{name}", {"reason": reason})

    def seed_protected_names(self) -> int:
        """Add any missing default protected names (the platform's own words); returns how many."""
        with transaction():
            have = set(self.session.execute(select(ProtectedName.name)).scalars())
            now = self.clock.now()
            missing = [(n, r) for n, r in DEFAULT_PROTECTED_NAMES if n not in have]
            for name, reason in missing:
                self.session.add(ProtectedName(name=name, reason=reason, created_at=now))
        return len(missing)

    # ---- the console's views --------------------------------------------------------------
    def overview(self) -> dict:
        """Counts for the release console: in grace, due, released and unlisted, held back; sweep progress."""
        now = self.clock.now()
        in_grace = and_(PlatformAccount.flagged_at.is_not(None), PlatformAccount.released_at.is_(None))
        count = lambda *where: self.session.execute(  # noqa: E731
            select(func.count()).select_from(PlatformAccount).where(*where)).scalar_one()
        return {
            "in_grace": count(in_grace),
            "due": count(in_grace, PlatformAccount.release_due_at <= now),
            "released_unlisted": self.session.execute(
                select(func.count()).select_from(self._released_query().subquery())).scalar_one(),
            "held_back": self.session.execute(select(func.count()).select_from(Handle).where(
                Handle.account_id.is_(None), Handle.held_back_at.is_not(None))).scalar_one(),
            "protected_names": self.session.execute(select(func.count()).select_from(ProtectedName)).scalar_one(),
            "sweep": self.progress(),
        }

    def _released_query(self):
        """Handles in the pool, not held back, that no lot holds (listings.holding_lots): ready to list."""
        now = self.clock.now()
        taken = holding_lots().with_only_columns(Listing.handle_id)
        return select(Handle).where(Handle.account_id.is_(None), Handle.held_back_at.is_(None),
                                    Handle.id.not_in(taken), or_(Handle.held_until.is_(None), Handle.held_until <= now))

    def queue(self, state: str, page: int = 1, per_page: int = 50, q: str | None = None) -> dict:
        """A page of the release queue: "grace" (flagged accounts with their release date),
        "released" (ready to list) or "held_back"."""
        if state not in QUEUE_STATES:
            raise ServiceError("invalid_field", "'state' must be one of: %(choices)s.",
                                                400, choices=', '.join(QUEUE_STATES))
        term = q.strip().lstrip("@").lower()[:15] if q else None
        if state == "grace":
            query = (select(Handle, PlatformAccount).join(PlatformAccount, PlatformAccount.id == Handle.account_id)
                     .where(PlatformAccount.flagged_at.is_not(None), PlatformAccount.released_at.is_(None)))
            order = (PlatformAccount.release_due_at, Handle.name)
        elif state == "released":
            query = self._released_query()
            order = (Handle.released_at.desc(), Handle.name)
        else:
            query = select(Handle).where(Handle.account_id.is_(None), Handle.held_back_at.is_not(None))
            order = (Handle.held_back_at.desc(), Handle.name)
        if term:
            query = query.where(Handle.name.like(f"%{term}%"))
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.session.execute(query.order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
        items = []
        for row in rows:
            handle = row[0]
            item = {"handle_id": handle.id, "handle": handle.display, "protected": handle.protected,
                    "released_at": iso(handle.released_at), "held_back_at": iso(handle.held_back_at)}
            if state == "grace":
                account = row[1]
                item.update(account_id=account.id, is_bot=account.is_bot, flagged_at=iso(account.flagged_at),
                            last_active_at=iso(account.last_active_at), release_due_at=iso(account.release_due_at),
                            reminded=account.reminded_at is not None)
            items.append(item)
        return {"items": items, "state": state, "page": page, "per_page": per_page, "total": total}

    def listing_suggestions(self, limit: int = 200) -> list[dict]:
        """Released handles ready to list, each with the valuation's suggested kind and prices (cents)."""
        handles = self.session.execute(self._released_query().order_by(Handle.name).limit(limit)).scalars().all()
        backorders = dict(self.session.execute(
            select(Backorder.handle_name, func.count()).where(Backorder.handle_name.in_([h.name for h in handles]))
            .group_by(Backorder.handle_name)).all()) if handles else {}
        protected = set(self.session.execute(select(ProtectedName.name).where(
            ProtectedName.name.in_([h.name for h in handles]))).scalars()) if handles else set()
        found = []
        for handle in handles:
            s = auctions.suggest(handle.name)
            found.append({"handle_id": handle.id, "handle": handle.display, "released_at": iso(handle.released_at),
                          "kind": s.kind, "value_cents": s.value_cents, "start_price_cents": s.start_price_cents,
                          "reserve_cents": s.reserve_cents, "floor_price_cents": s.floor_price_cents,
                          "reasons": list(s.reasons), "backorders": backorders.get(handle.name, 0),
                          "protected": handle.protected or handle.name in protected})
        return found


def _aware(value):
    """Rows read through Core keep the column type, so values are already aware; be sure."""
    from ..clock import to_utc
    return to_utc(value)
