"""The admin orders console and refunds: one refund rule, admin-only, CSRF-protected, exactly once."""
import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, Order, PaymentRecord
from tests.factories import login, make_auction, make_user, released_handle, win_with_failing_card
from tests.integration.test_orders_pages import app_config, seller_with_payouts, won_order  # noqa: F401

pytestmark = pytest.mark.usefixtures("shared_gateway")
from tests.support import fake_stripe_call, fake_stripe_card


def refunds_of(fake_stripe, intent_id) -> list[dict]:
    """localstripe's refunds of one payment."""
    status, body = fake_stripe_call(fake_stripe, "GET", "/v1/refunds", {"limit": 100})
    assert status == 200, body
    return [r for r in body["data"] if r.get("payment_intent") == intent_id]


def unpaid_order(clock, fake_stripe) -> Order:
    """An order whose charge was declined (action_required)."""
    return win_with_failing_card(clock, fake_stripe)[3]


def test_orders_console_is_admin_only(app, clock, client):
    order = won_order(clock, make_user(card="pm_card_visa"))
    assert client.get("/admin/orders").status_code == 302
    login(client, make_user())
    assert client.get("/admin/orders").status_code == 403
    assert client.get(f"/admin/orders/{order.id}").status_code == 403
    refused = client.post(f"/admin/orders/{order.id}/refund", data={"reason": "x"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "completed"


def test_console_filters_by_status_searches_and_pages(app, clock, client, fake_stripe):
    alice = make_user("alice-orders@example.com", card="pm_card_visa")
    first = won_order(clock, alice, handle=released_handle("Aurora").display)
    second = won_order(clock, make_user(card="pm_card_visa"), handle=released_handle("Borealis").display)
    waiting = unpaid_order(clock, fake_stripe)
    login(client, make_user(admin=True))
    html = client.get("/admin/orders").get_data(as_text=True)
    assert html.count('data-testid="admin-order-row"') == 3
    assert 'data-status-count="completed"' in html and "3 orders" in html
    counts = html.split('data-status-count="completed"')[1].split("</a>")[0]
    assert '<span class="count-pill">2</span>' in counts
    done = client.get("/admin/orders?status=completed").get_data(as_text=True)
    assert f'data-order-id="{waiting.id}"' not in done and done.count('data-testid="admin-order-row"') == 2
    needs = client.get("/admin/orders?status=action_required").get_data(as_text=True)
    assert f'data-order-id="{waiting.id}"' in needs and needs.count('data-testid="admin-order-row"') == 1
    by_handle = client.get("/admin/orders?q=@auro").get_data(as_text=True)
    assert f'data-order-id="{first.id}"' in by_handle and by_handle.count('data-testid="admin-order-row"') == 1
    by_email = client.get("/admin/orders?q=ALICE-orders").get_data(as_text=True)
    assert f'data-order-id="{first.id}"' in by_email and f'data-order-id="{second.id}"' not in by_email
    page1 = client.get("/admin/orders?per_page=2").get_data(as_text=True)
    page2 = client.get("/admin/orders?per_page=2&page=2").get_data(as_text=True)
    assert page1.count('data-testid="admin-order-row"') == 2 and page2.count('data-testid="admin-order-row"') == 1
    assert 'data-testid="pagination"' in page1
    assert client.get("/admin/orders?status=bogus").status_code == 400
    assert 'data-testid="empty-state"' in client.get("/admin/orders?q=nothing-like-this").get_data(as_text=True)


def test_order_detail_shows_payment_log_holds_and_close(app, clock, client):
    order = won_order(clock, make_user(card="pm_card_visa"))
    login(client, make_user(admin=True))
    html = client.get(f"/admin/orders/{order.id}").get_data(as_text=True)
    log = html.split('data-testid="payment-log"')[1].split("</table>")[0]
    assert log.index('data-kind="authorized"') < log.index('data-kind="captured"')
    assert 'data-testid="card-hold-row"' in html and ">captured<" in html
    assert 'data-testid="lot-close"' in html and 'data-testid="refund-form"' in html
    assert 'data-testid="refund-handle-note"' in html
    assert client.get("/admin/orders/99999").status_code == 404


def test_refund_needs_a_reason(app, clock, client, fake_stripe):
    order = won_order(clock, make_user(card="pm_card_visa"))
    login(client, make_user(admin=True))
    response = client.post(f"/admin/orders/{order.id}/refund", data={"reason": "   "})
    assert response.status_code == 400
    assert 'data-testid="field-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "completed"
    assert refunds_of(fake_stripe, order.intent_id) == []


def test_refund_needs_the_csrf_token(app, clock, client, fake_stripe):
    order = won_order(clock, make_user(card="pm_card_visa"))
    admin = make_user(admin=True)
    app.config["WTF_CSRF_ENABLED"] = True
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(admin.id), True
    refused = client.post(f"/admin/orders/{order.id}/refund", data={"reason": "Fraud"})
    assert refused.status_code == 400
    assert refunds_of(fake_stripe, order.intent_id) == []
    page = client.get(f"/admin/orders/{order.id}").get_data(as_text=True)
    token = page.split('id="csrf_token" name="csrf_token" type="hidden" value="')[1].split('"')[0]
    done = client.post(f"/admin/orders/{order.id}/refund", data={"reason": "Fraud", "csrf_token": token})
    assert done.status_code == 302
    assert len(refunds_of(fake_stripe, order.intent_id)) == 1


def test_refund_posted_twice_refunds_once_writes_audit_and_tells_the_buyer(app, clock, client, fake_stripe):
    buyer = make_user(card="pm_card_visa")
    order = won_order(clock, buyer)
    admin = make_user(admin=True)
    login(client, admin)
    first = client.post(f"/admin/orders/{order.id}/refund", data={"reason": "Seller reclaimed the handle"})
    assert first.status_code == 302
    shown = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "refunded: $1,000 returned to the buyer" in shown and "separate, manual admin action" in shown
    second = client.post(f"/admin/orders/{order.id}/refund", data={"reason": "Seller reclaimed the handle"})
    assert second.status_code == 409
    assert "already been refunded" in second.get_data(as_text=True)
    refunds = refunds_of(fake_stripe, order.intent_id)
    assert len(refunds) == 1 and refunds[0]["amount"] == 100_000
    db.session.expire_all()
    row = db.session.get(Order, order.id)
    assert row.status == "refunded" and row.failure == "Seller reclaimed the handle"
    kinds = [r.kind for r in db.session.query(PaymentRecord).filter_by(order_id=order.id).order_by(PaymentRecord.id)]
    assert kinds == ["captured", "refund_requested", "refunded"]
    entry, = db.session.query(AuditEntry).filter_by(action="order_refunded").all()
    assert entry.actor_id == admin.id and entry.target == f"order:{order.id}"
    assert entry.details["reason"] == "Seller reclaimed the handle"
    assert "does not move it back" in entry.details["handle_note"]
    from marketplace.models import Notification
    assert [n.kind for n in db.session.query(Notification).filter_by(user_id=buyer.id)][-1] == "refunded"


def test_refunding_an_unpaid_order_is_refused_with_a_message(app, clock, client, fake_stripe):
    order = unpaid_order(clock, fake_stripe)
    assert order.status == "action_required"
    login(client, make_user(admin=True))
    response = client.post(f"/admin/orders/{order.id}/refund", data={"reason": "Buyer asked"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "only paid, transferred or completed orders can be refunded" in html
    assert 'data-testid="refund-form"' not in html
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "action_required"
    assert db.session.query(PaymentRecord).filter(PaymentRecord.order_id == order.id,
                                                  PaymentRecord.kind.like("refund%")).count() == 0


def test_refund_after_payout_reverses_the_sellers_transfer(app, clock, client, gateway, fake_stripe):
    seller = seller_with_payouts(gateway)
    order = won_order(clock, make_user(card="pm_card_visa"), max_cents=2_000_000, seller=seller)
    assert order.status == "completed" and order.payout_id
    login(client, make_user(admin=True))
    assert client.post(f"/admin/orders/{order.id}/refund", data={"reason": "Dispute"}).status_code == 302
    status, transfer = fake_stripe_call(fake_stripe, "GET", f"/v1/transfers/{order.payout_id}")
    assert status == 200 and transfer["amount_reversed"] == 90_000 and transfer["reversed"] is True
    status, reversals = fake_stripe_call(fake_stripe, "GET", f"/v1/transfers/{order.payout_id}/reversals")
    assert [r["amount"] for r in reversals["data"]] == [90_000]
    reversed_, = db.session.query(PaymentRecord).filter_by(order_id=order.id, kind="payout_reversed").all()
    assert reversed_.amount_cents == 90_000 and reversed_.user_id == seller.id
    assert db.session.query(AuditEntry).filter_by(action="order_refunded").one().details[
        "payout_reversed_cents"] == 90_000
    login(client, seller)
    assert 'data-testid="payout-status">Reversed after a refund<' in client.get(
        f"/orders/{order.id}").get_data(as_text=True)


def test_a_refund_under_way_blocks_a_second_one(app, clock, fake_stripe):
    from marketplace.errors import ServiceError
    from marketplace.services.payments import record
    from marketplace.services.refunds import RefundService
    from marketplace.wiring import gateway, publisher

    order = won_order(clock, make_user(card="pm_card_visa"))
    # Another request claimed the refund and is talking to Stripe right now.
    record(db.session, "refund_requested", order.amount_cents, clock.now(), order_id=order.id)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        RefundService(db.session, clock, gateway(), publisher()).refund(order.id, "again")
    assert refused.value.code == "refund_in_progress" and refused.value.status == 409
    assert refunds_of(fake_stripe, order.intent_id) == []
    # A claim left by a crashed attempt is resumed after the timeout, still refunding once.
    clock.advance(minutes=6)
    RefundService(db.session, clock, gateway(), publisher()).refund(order.id, "again")
    assert len(refunds_of(fake_stripe, order.intent_id)) == 1


def test_failed_transfer_refunds_through_the_same_rule(app, clock, fake_stripe):
    from marketplace.models import Listing
    from marketplace.wiring import settlement

    order = won_order(clock, make_user(card="pm_card_visa"), runs=0)
    settlement().step(order.id)  # paid
    db.session.expire_all()
    listing = db.session.get(Listing, order.listing_id)
    listing.winner_id = make_user().id  # the handle can no longer go to this buyer
    db.session.commit()
    settlement().run_once()
    settlement().run_once()
    db.session.expire_all()
    row = db.session.get(Order, order.id)
    assert row.status == "refunded" and "another buyer" in row.failure
    assert len(refunds_of(fake_stripe, row.intent_id)) == 1
    assert db.session.query(AuditEntry).filter_by(action="order_refunded", actor_id=None).count() == 1
