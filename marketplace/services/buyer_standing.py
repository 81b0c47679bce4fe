"""A buyer's standing, as admins decide it: verified (so lots open to verified buyers only take
their bids) and strikes for unpaid wins (at MAX_STRIKES they may no longer bid or buy).

Admins find accounts by email or alias, verify a buyer or take the verification away, and clear
one strike or all of them; each decision needs a reason, is audited, and the buyer is told.
May import models, the audit log, notices and `lots.MAX_STRIKES`; never a blueprint.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from .. import validation as v
from ..audit import audit
from ..clock import iso
from ..db import lock_for_update, transaction
from ..errors import BadRequest, Conflict, NotFound
from ..models import User
from .lots import MAX_STRIKES
from .notices import notify

STANDINGS = ("verified", "unverified", "strikes")  # the users list's filters
MAX_QUERY = 254  # an email address's longest


def admin_user_json(user: User) -> dict:
    """An account as admins see it: who, their roles, and their standing as a buyer."""
    return {"id": user.id, "email": user.email, "display_name": user.display_name, "alias": user.alias,
            "roles": user.roles, "verified": bool(user.verified), "strikes": user.strikes,
            "suspended": user.strikes >= MAX_STRIKES, "has_payment_method": user.has_payment_method,
            "created_at": iso(user.created_at)}


class BuyerStandingService:
    """Finds accounts for admins and changes a buyer's verification and strikes."""

    def __init__(self, session, clock, publisher):
        self.session = session
        self.clock = clock
        self.publisher = publisher

    def search(self, q: str | None = None, standing: str | None = None, page: int = 1, per_page: int = 50) -> dict:
        """A page of accounts, newest first: those whose email (or alias) contains `q`, and with
        `standing` only the verified, the unverified, or those with strikes."""
        if standing is not None and standing not in STANDINGS:
            raise BadRequest("invalid_field", "'standing' must be one of: %(choices)s.", choices=", ".join(STANDINGS))
        query = select(User)
        term = (q or "").strip().lower()[:MAX_QUERY]
        if term:
            query = query.where(or_(func.lower(User.email).contains(term, autoescape=True),
                                    func.lower(User.alias).contains(term.lstrip("@"), autoescape=True)))
        if standing == "verified":
            query = query.where(User.verified.is_(True))
        elif standing == "unverified":
            query = query.where(User.verified.is_(False))
        elif standing == "strikes":
            query = query.where(User.strikes > 0)
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.session.execute(query.order_by(User.id.desc()).offset((page - 1) * per_page).limit(per_page)).scalars()
        return {"items": [admin_user_json(user) for user in rows], "page": page, "per_page": per_page, "total": total}

    def get(self, user_id: object) -> User:
        """An account by id, or 404."""
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise NotFound("user_not_found", "There is no such account.")
        user = self.session.get(User, user_id)
        if user is None:
            raise NotFound("user_not_found", "There is no such account.")
        return user

    def set_verified(self, admin: User, user_id: object, verified: object, reason: object) -> User:
        """Verify a buyer (True) or take the verification away (False), with a reason; audited,
        and the buyer is told. Asking for the state the account is already in is a 409."""
        if not isinstance(verified, bool):
            raise BadRequest("invalid_field", "'verified' must be true or false.")
        reason = v.reason(reason)
        with transaction(self.publisher):
            user = self._locked(user_id)
            if bool(user.verified) == verified:
                if verified:
                    raise Conflict("already_verified", "This account is verified already.")
                raise Conflict("not_verified", "This account is not verified.")
            now = self.clock.now()
            user.verified = verified
            audit(self.session, now, admin, "user.verify" if verified else "user.unverify", f"user:{user.id}",
                  {"email": user.email, "verified": {"old": not verified, "new": verified}, "reason": reason})
            notify(self.session, self.publisher, user.id, "buyer_verified" if verified else "buyer_unverified",
                   now, reason=reason)
        return user

    def clear_strikes(self, admin: User, user_id: object, reason: object, clear_all: object = False) -> User:
        """Clear one strike (or, with `clear_all`, every one) from a buyer, with a reason; audited,
        and the buyer is told. Below MAX_STRIKES they may bid and buy again."""
        if not isinstance(clear_all, bool):
            raise BadRequest("invalid_field", "'all' must be true or false.")
        reason = v.reason(reason)
        with transaction(self.publisher):
            user = self._locked(user_id)
            if user.strikes <= 0:
                raise Conflict("no_strikes", "This account has no strikes to clear.")
            now = self.clock.now()
            old = user.strikes
            user.strikes = 0 if clear_all else old - 1
            audit(self.session, now, admin, "user.clear_strikes", f"user:{user.id}",
                  {"email": user.email, "strikes": {"old": old, "new": user.strikes}, "reason": reason})
            notify(self.session, self.publisher, user.id, "strikes_cleared", now, cleared=old - user.strikes,
                   strikes=user.strikes, max_strikes=MAX_STRIKES, reinstated=old >= MAX_STRIKES > user.strikes,
                   reason=reason)
        return user

    def _locked(self, user_id: object) -> User:
        """The account's row, locked for this decision (two admins at once: one wins, one is told)."""
        self.get(user_id)
        return self.session.execute(lock_for_update(select(User).where(User.id == user_id))).scalar_one()
