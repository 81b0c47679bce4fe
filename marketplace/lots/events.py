"""Socket.IO handlers for watching lots and bidding live (default namespace).

Thin: they check the payload, call the same services as the HTTP routes, and emit.
"""
from flask import current_app, request
from flask_login import current_user
from flask_socketio import emit, join_room, leave_room
from sqlalchemy import select

from flask_babel import gettext as _

from ..clock import iso
from ..errors import ServiceError
from ..extensions import db, socketio
from ..live import lot_room, user_room
from ..models import LotEvent
from ..services.standing import standing
from ..security import hit_bid_limit, origin_allowed, too_many_message
from ..wiring import bidding, clock, listings

REPLAY_LIMIT = 500


def _refuse(code: str, message: str, lot_id=None, **extra) -> dict:
    """Tell the sender why its event was refused (an `error` event and the ack)."""
    body = {"code": code, "message": message, **extra}
    if lot_id is not None:
        body["lot_id"] = lot_id
    emit("error", body)
    return {"error": body}


def _lot_id(data) -> int | None:
    """The lot id from a payload, or None when it is missing or not a whole number."""
    if not isinstance(data, dict):
        return None
    lot_id = data.get("lot_id")
    if isinstance(lot_id, bool) or not isinstance(lot_id, int):
        return None
    return lot_id


@socketio.on("connect")
def on_connect(auth=None):
    """Any browser connects; a signed-in user also joins their private room.

    Sends `hello` with the server's time so countdowns are right whatever the browser's clock says.
    A connection opened by a page on another site (a foreign Origin) is refused.
    """
    if not origin_allowed(request.headers.get("Origin")):
        current_app.logger.warning("socket connection from foreign origin %r refused", request.headers.get("Origin"))
        return False
    if current_user.is_authenticated:
        join_room(user_room(current_user.id))
    emit("hello", {"server_time": iso(clock().now()),
                   "alias": current_user.alias if current_user.is_authenticated else None})


@socketio.on("watch")
def on_watch(data):
    """A client starts watching a lot; it gets `lot_state`, then any events after `since_seq`.

    Sender: any client. Receivers: the sender only (later broadcasts reach it through the room).
    """
    lot_id = _lot_id(data)
    if lot_id is None:
        return _refuse("invalid_lot", _("Send {lot_id: <number>} to watch a lot."))
    since = data.get("since_seq")
    if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
        return _refuse("invalid_seq", _("since_seq must be a whole number."), lot_id)
    try:
        listing = listings().get_for(lot_id, current_user)
        # Join first, then read: an event in between arrives twice at worst, and clients drop
        # anything at or below the seq they already have.
        join_room(lot_room(lot_id))
        state = listings().view(lot_id)
        if current_user.is_authenticated:  # lot_state goes to this client only: say where they stand
            state["you"] = standing(db.session, current_user, listing, state)
    except ServiceError as exc:
        leave_room(lot_room(lot_id))
        return _refuse(exc.code, exc.message, lot_id)
    missed = []
    if since is not None and since < state["seq"]:
        missed = db.session.execute(
            select(LotEvent).where(LotEvent.listing_id == lot_id, LotEvent.seq > since)
            .order_by(LotEvent.seq).limit(REPLAY_LIMIT)).scalars().all()
        for event in missed:
            emit(event.type, event.payload)
    emit("lot_state", state)
    return {"ok": True, "seq": state["seq"], "replayed": len(missed)}


@socketio.on("unwatch")
def on_unwatch(data):
    """A client stops watching a lot. Sender: any client; nothing is broadcast."""
    lot_id = _lot_id(data)
    if lot_id is None:
        return _refuse("invalid_lot", _("Send {lot_id: <number>} to stop watching a lot."))
    leave_room(lot_room(lot_id))
    return {"ok": True}


@socketio.on("bid")
def on_bid(data):
    """A signed-in bidder bids; the ack answers them, `bid_placed` reaches the lot's room.

    Sender: a signed-in user's browser or bot. Receivers: everyone watching the lot (after commit),
    the outbid leader privately (`outbid`), and the sender (ack, or `error`).
    """
    if not current_user.is_authenticated:
        return _refuse("not_signed_in", _("Sign in to bid."))
    lot_id = _lot_id(data)
    if lot_id is None:
        return _refuse("invalid_lot", _("Send {lot_id, max_amount_cents, key} to bid."))
    wait = hit_bid_limit()  # the same per-bidder bucket as the HTTP bid routes
    if wait:
        return _refuse("rate_limited", too_many_message(wait), lot_id, retry_after_seconds=wait)
    try:
        result = bidding().place(current_user, lot_id, data.get("max_amount_cents"), data.get("key"))
    except ServiceError as exc:
        refused = _refuse(exc.code, exc.message, lot_id, **({"details": exc.details} if exc.details else {}))
        if getattr(exc, "action_url", None):
            refused["error"]["action_url"] = exc.action_url
        return refused
    except Exception:  # noqa: BLE001 - a socket handler must answer, never drop the event
        current_app.logger.exception("bid on lot %s failed", lot_id)
        return _refuse("server_error", _("Your bid could not be placed; nothing was charged. Try again."), lot_id)
    return {"ok": True, **result.to_dict()}
