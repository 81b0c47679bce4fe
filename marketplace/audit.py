"""The audit log: every admin action records who, what, to what, and why."""
import json
from datetime import datetime

from .models import AuditEntry


def audit(session, now: datetime, actor, action: str, target: str, details: dict | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction."""
    entry = AuditEntry(at=now, actor_id=getattr(actor, "id", None), action=action, target=target,
                       details_json=json.dumps(details or {}, default=str))
    session.add(entry)
    return entry
