"""Builds services with the app's collaborators, for views, socket handlers and the worker."""
from flask import current_app

from .extensions import db
from .live import Publisher


def clock():
    """The app's clock."""
    return current_app.extensions["clock"]


def publisher() -> Publisher:
    """A fresh publisher for one use case."""
    return Publisher(current_app.extensions["live_sink"])


def accounts():
    """The account service."""
    from .services.accounts import AccountService
    return AccountService(db.session, clock())


def listings():
    """The listing service."""
    from .services.listings import ListingService
    return ListingService(db.session, clock(), publisher())


def bidding():
    """The bidding service."""
    from .services.bidding import BiddingService
    return BiddingService(db.session, clock(), publisher())


def closing():
    """The closing service (worker)."""
    from .services.closing import ClosingService
    return ClosingService(db.session, clock(), publisher())
