"""Organisations: who may send handle inquiries and buy lots restricted to organisations."""
from __future__ import annotations

from datetime import datetime

from ..errors import Forbidden
from ..models import Organisation, SubscriptionStatus, User


def standing_problem(session, user: User, now: datetime) -> Forbidden | None:
    """Why the user may not act for a verified, subscribed organisation now, or None when they may."""
    org = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if org is None:
        return Forbidden("organisation_required", "Only verified organisations may do this. "
                                                  "Create your organisation's account first.")
    if org.verified_at is None:
        return Forbidden("organisation_unverified", "Your organisation is not verified yet; "
                                                    "an admin checks new organisations.")
    if not org.in_good_standing(now):
        if org.subscription_status == SubscriptionStatus.PAST_DUE:
            return Forbidden("subscription_inactive", "Your organisation's subscription payment failed; "
                                                      "update the card to carry on.")
        return Forbidden("subscription_inactive", "Your organisation's subscription is not active; "
                                                  "subscribe to carry on.")
    return None


def require_good_standing(session, user: User, now: datetime) -> Organisation:
    """The user's organisation, verified and subscribed; otherwise refuse with the reason (403)."""
    problem = standing_problem(session, user, now)
    if problem is not None:
        raise problem
    return session.get(Organisation, user.organisation_id)
