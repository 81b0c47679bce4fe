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
    return ListingService(db.session, clock(), publisher(), current_app.config["CATALOG_COUNT_CAP"])


def gateway():
    """The Stripe gateway, built once per app from its settings."""
    gw = current_app.extensions.get("gateway")
    if gw is None:
        from .payments.gateway import StripeGateway
        config = current_app.config
        gw = StripeGateway(config["STRIPE_SECRET_KEY"] or "sk_test_unset", api_base=config["STRIPE_API_BASE"],
                           publishable_key=config["STRIPE_PUBLISHABLE_KEY"],
                           webhook_secret=config["STRIPE_WEBHOOK_SECRET"])
        current_app.extensions["gateway"] = gw
    return gw


def holds():
    """The card-hold service, or None where bids are not card-backed."""
    if not current_app.config["CARD_HOLDS"]:
        return None
    from .services.payments import HoldService
    return HoldService(db.session, clock(), gateway())


def cards():
    """The saved-card service."""
    from .services.payments import CardService
    return CardService(db.session, clock(), gateway())


def bidding():
    """The bidding service."""
    from .services.bidding import BiddingService
    return BiddingService(db.session, clock(), publisher(), holds())


def voids():
    """Admins voiding bids (the engine recomputes the price from the other maxima)."""
    from .services.voids import VoidService
    return VoidService(db.session, clock(), publisher())


def buyer_standing():
    """Admins finding accounts, verifying buyers and clearing strikes."""
    from .services.buyer_standing import BuyerStandingService
    return BuyerStandingService(db.session, clock(), publisher())


def settlement():
    """The settlement service (worker)."""
    from .services.settlement import SettlementService
    return SettlementService(db.session, clock(), gateway(), publisher(), current_app.config)


def closing():
    """The closing service (worker)."""
    from .services.closing import ClosingService
    return ClosingService(db.session, clock(), publisher(), current_app.config["COMMISSION_BPS"])


def purchases():
    """The purchase service (fixed price, Dutch, buy-now)."""
    from .services.purchases import PurchaseService
    return PurchaseService(db.session, clock(), publisher(), settlement(), current_app.config["COMMISSION_BPS"])


def buyer_orders():
    """Paying a waiting order and answering second-chance offers."""
    from .services.buyer_orders import BuyerOrders
    return BuyerOrders(db.session, clock(), gateway(), settlement())


def release():
    """The release pipeline: the sweep, the release console's actions, protected names."""
    from .services.release import ReleasePolicy, ReleaseService
    return ReleaseService(db.session, clock(), publisher, ReleasePolicy.from_config(current_app.config))


def inquiries():
    """Handle inquiries from organisations, the assistant's answers and accepting quotes."""
    from .services.inquiries import InquiryService
    return InquiryService(db.session, clock(), publisher, current_app.config, settlement)


def backorders():
    """Backorders of handles not yet released."""
    from .services.backorders import BackorderService
    return BackorderService(db.session, clock())


def organisations():
    """Organisations: creation, admin verification, the Stripe Billing subscription."""
    from .services.organisations import OrganisationService
    return OrganisationService(db.session, clock(), gateway(), publisher())


def sellers():
    """Sellers: ownership claims, sellers' lots, sales and payouts."""
    from .services.sellers import SellerService
    return SellerService(db.session, clock(), publisher(), listings(), current_app.config["COMMISSION_BPS"])


def handles():
    """A user's own handles, and previous ones kept for them after a purchase."""
    from .services.handles import HandleService
    return HandleService(db.session, clock(), sellers().linked_handles)


def offers():
    """Offers on fixed-price lots: buyers', sellers' answers, and their expiry (worker)."""
    from .services.offers import OfferService
    return OfferService(db.session, clock(), publisher(), settlement(), current_app.config["COMMISSION_BPS"])


def watchlist():
    """Watchlists: the lots each user watches."""
    from .services.watchlist import WatchlistService
    return WatchlistService(db.session, clock(), listings())


def watch_endings():
    """The 'about to end' notices to watchers (worker)."""
    from .services.watch_endings import WatchEndingService
    return WatchEndingService(db.session, clock(), publisher(), listings(),
                              current_app.config["WATCH_ENDING_NOTICE_MINUTES"])
