"""The order page (receipt, progress, states) and the user's orders list, on paid orders made by
real settlement against the fake Stripe server."""
import pytest

from marketplace.extensions import db
from marketplace.models import Listing, Order, User
from marketplace.wiring import bidding, closing, settlement
from tests.factories import into_sellers_account, login, make_auction, make_user, win_with_failing_card
from tests.support import fake_stripe_card


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


pytestmark = pytest.mark.usefixtures("shared_gateway")


def seller_with_payouts(gateway):
    """A seller whose Connect account can receive payouts."""
    seller = make_user()
    db.session.get(User, seller.id).stripe_account_id = gateway.create_connected_account(
        seller.email, f"acct:{seller.id}")
    db.session.commit()
    return seller


def won_order(clock, buyer, max_cents=300_000, seller=None, handle=None, runs=3) -> Order:
    """Buyer wins a fresh auction (start $1,000) at $1,000; settlement runs `runs` times."""
    lot = make_auction(start_cents=100_000, minutes=30, **({"handle": handle} if handle else {}))
    if seller is not None:
        into_sellers_account(lot, seller)
    bidding().place(buyer, lot.id, max_cents, f"bid:{lot.id}:{buyer.id}")
    clock.set(db.session.get(Listing, lot.id).ends_at)
    closing().close_due()
    for _ in range(runs):
        settlement().run_once()
    db.session.expire_all()
    return db.session.query(Order).filter_by(listing_id=lot.id).one()


def test_buyer_receipt_shows_amount_card_and_completed_steps(app, clock, client):
    buyer = make_user(card="pm_card_visa")
    order = won_order(clock, buyer)
    assert order.status == "completed"
    login(client, buyer)
    page = client.get(f"/orders/{order.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="receipt"' in html
    assert f"Order No. {order.id}" in html
    assert 'data-testid="receipt-amount">$1,000<' in html
    assert 'data-testid="receipt-card">Visa ending 4242<' in html
    # The buyer's line reads as a label ("Buyer"), not "Bought to Bob".
    assert f'<dt>Buyer</dt><dd data-testid="receipt-buyer">{buyer.display_name}</dd>' in html
    assert "Bought to" not in html
    assert 'data-testid="order-status" data-status="completed"' in html
    for step in ("paid", "transferred", "completed"):
        assert f'data-step="{step}" data-state="done"' in html
    assert f'href="/lots/{order.listing_id}"' in html
    assert "Handle Exchange" in html and "@media print" not in html  # print layout lives in app.css
    assert "js/order.js" in html and f'data-api-url="/api/v1/orders/{order.id}"' in html


def test_another_users_order_is_404_and_anonymous_must_sign_in(app, clock, client):
    order = won_order(clock, make_user(card="pm_card_visa"))
    assert client.get(f"/orders/{order.id}").status_code == 302
    login(client, make_user())
    assert client.get(f"/orders/{order.id}").status_code == 404
    assert client.get("/orders/99999").status_code == 404


def test_seller_sees_sale_price_commission_net_and_payout(app, clock, client, gateway):
    seller = seller_with_payouts(gateway)
    order = won_order(clock, make_user(card="pm_card_visa"), max_cents=2_000_000, seller=seller)
    assert order.status == "completed" and order.commission_cents == 10_000
    login(client, seller)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="sale-price">$1,000<' in html
    assert 'data-testid="sale-commission">-$100<' in html
    assert 'data-testid="sale-net">$900<' in html
    assert 'data-testid="payout-status">Paid out<' in html
    assert 'data-testid="receipt"' not in html  # the buyer's receipt is the buyer's


def test_payment_needed_shows_pay_now_link(app, clock, client, fake_stripe):
    _, _, buyer, order = win_with_failing_card(clock, fake_stripe)
    login(client, buyer)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'href="/orders/{order.id}/pay" data-testid="pay-now"' in html
    assert 'data-testid="receipt-title"' in html and ">Order summary</h2>" in html
    assert 'data-status="action_required"' in html
    assert 'data-step="paid" data-state="current"' in html


def test_offered_order_renders_accept_and_decline_forms_with_csrf(app, clock, client):
    buyer = make_user(card="pm_card_visa")
    order = won_order(clock, buyer, runs=0)
    row = db.session.get(Order, order.id)
    row.status, row.pay_by = "offered", clock.now()
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    with client.session_transaction() as session:  # signed in without posting the login form
        session["_user_id"], session["_fresh"] = str(buyer.id), True
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    for action in ("accept", "decline"):
        form = html.split(f'action="/orders/{order.id}/{action}"')[1].split("</form>")[0]
        assert 'name="csrf_token" value="' in form and 'value=""' not in form
    # Nothing is under way before the runner-up answers: no step of the progress is current.
    assert 'data-state="current"' not in html and 'aria-current="step"' not in html


def test_refunded_order_shows_reason(app, clock, client):
    from marketplace.services.refunds import RefundService
    from marketplace.wiring import gateway, publisher

    buyer = make_user(card="pm_card_visa")
    order = won_order(clock, buyer)
    RefundService(db.session, clock, gateway(), publisher()).refund(order.id, "Handle was suspended")
    login(client, buyer)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-status="refunded"' in html
    assert 'data-testid="refund-reason">Handle was suspended<' in html


def test_my_orders_lists_bought_and_sold_newest_first_with_pages(app, clock, client, gateway):
    user = make_user(card="pm_card_visa")
    login(client, user)
    empty = client.get("/account/orders").get_data(as_text=True)
    assert 'data-testid="empty-state"' in empty and "No orders yet" in empty
    bought = won_order(clock, user)
    user_row = db.session.get(User, user.id)
    user_row.stripe_account_id = gateway.create_connected_account(user.email, f"acct:{user.id}")
    db.session.commit()
    sold = won_order(clock, make_user(card="pm_card_visa"), seller=user)
    other = won_order(clock, make_user(card="pm_card_visa"))
    html = client.get("/account/orders").get_data(as_text=True)
    assert html.index(f'data-order-id="{sold.id}" data-role="seller"') < html.index(
        f'data-order-id="{bought.id}" data-role="buyer"')
    assert f'data-order-id="{other.id}"' not in html
    assert 'data-testid="nav-orders" aria-current="page"' in html
    assert client.get("/account/orders?page=2").status_code == 200
