"""Sellers: ownership proof by a code in the account's bio, listing a linked handle (one rule with
admins' lots), the fees preview, cancelling, and a seller's sale settled end to end against the fake
Stripe server: the handle moves from the seller's account to the buyer and the seller is paid the
price less the commission. On SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.models import AuditEntry, Handle, Listing, Order, OwnershipClaim, PlatformAccount, ProtectedName, User
from marketplace.registry import DatabaseRegistry
from marketplace.wiring import bidding, clock, purchases, sellers, settlement
from tests.factories import login, make_user, released_handle
from tests.integration.test_api import token_for


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def held_handle(name: str, protected: bool = False) -> Handle:
    """A handle in a platform account nobody on the marketplace has linked yet."""
    row = DatabaseRegistry(db.session).create_account(name, clock().now())
    row.protected = protected
    db.session.commit()
    return row


def set_bio(client, handle: str, bio: str) -> None:
    """Write the account's bio through the development platform page, as the seller would."""
    response = client.post(f"/dev/platform/{handle}", data={"bio": bio})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def linked(user, name: str, protected: bool = False) -> Handle:
    """A handle whose account the user has proved they hold (claim, code in the bio, check)."""
    handle = held_handle(name, protected)
    claim, _ = sellers().start_claim(user, name)
    DatabaseRegistry(db.session).set_bio(handle.id, f"selling soon {claim.code}")
    db.session.commit()
    sellers().check_claim(user, claim.id)
    return handle


def fixed(headers, client, handle: str, price: int = 500_000, **extra):
    """POST a fixed-price seller lot through the API."""
    return client.post("/api/v1/seller/listings", headers=headers,
                       json={"handle": handle, "kind": "fixed", "price_cents": price, **extra})


# ---- ownership proof ---------------------------------------------------------------------------
def test_code_in_the_bio_links_the_account_and_makes_a_seller(app, client):
    seller = make_user()
    headers = token_for(client, seller)
    handle = held_handle("Sunny")
    created = client.post("/api/v1/seller/claims", json={"handle": "@sunny"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    claim = created.get_json()
    assert re.fullmatch(r"HX-[0-9A-Z]{6}", claim["code"]) and claim["status"] == "open"
    assert claim["handle"] == "Sunny"
    # Not in the bio yet: refused, nothing linked.
    early = client.post(f"/api/v1/seller/claims/{claim['id']}/check", headers=headers)
    assert early.status_code == 422 and early.get_json()["error"]["code"] == "code_not_found"
    set_bio(client, "sunny", f"Photos and more. {claim['code']}")
    checked = client.post(f"/api/v1/seller/claims/{claim['id']}/check", headers=headers)
    assert checked.status_code == 200 and checked.get_json()["status"] == "verified"
    db.session.expire_all()
    assert db.session.get(Handle, handle.id).account.user_id == seller.id
    assert "seller" in db.session.get(User, seller.id).roles
    entry = db.session.query(AuditEntry).filter_by(action="seller.link").one()
    assert entry.actor_id == seller.id and entry.target == "handle:sunny"
    # Checking again changes nothing and says verified.
    again = client.post(f"/api/v1/seller/claims/{claim['id']}/check", headers=headers)
    assert again.status_code == 200 and again.get_json()["status"] == "verified"


def test_a_wrong_code_in_the_bio_does_not_link(app, client):
    seller = make_user()
    handle = held_handle("wrongcode")
    claim, _ = sellers().start_claim(seller, "wrongcode")
    other = "HX-22222A" if claim.code != "HX-22222A" else "HX-22222B"
    DatabaseRegistry(db.session).set_bio(handle.id, other)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        sellers().check_claim(seller, claim.id)
    assert refused.value.code == "code_not_found" and refused.value.status == 422
    db.session.expire_all()
    assert db.session.get(Handle, handle.id).account.user_id is None
    assert db.session.get(OwnershipClaim, claim.id).verified_at is None


def test_an_expired_code_fails_even_when_it_is_in_the_bio(app, client, clock):
    seller = make_user()
    handle = held_handle("latecomer")
    claim, _ = sellers().start_claim(seller, "latecomer")
    DatabaseRegistry(db.session).set_bio(handle.id, claim.code)
    db.session.commit()
    clock.advance(hours=24, seconds=1)
    headers = token_for(client, seller)
    response = client.post(f"/api/v1/seller/claims/{claim.id}/check", headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "claim_expired"
    assert client.get(f"/api/v1/seller/claims/{claim.id}", headers=headers).get_json()["status"] == "expired"
    db.session.expire_all()
    assert db.session.get(Handle, handle.id).account.user_id is None


def test_claims_are_refused_for_pool_unknown_invalid_and_already_linked_handles(app, client):
    owner, other = make_user(), make_user()
    headers = token_for(client, other)
    pool = released_handle("inthepool")
    linked(owner, "taken")
    cases = [({"handle": pool.display}, 409, "handle_not_held"), ({"handle": "nobodyhasthis"}, 404, "unknown_handle"),
             ({"handle": "no spaces!"}, 400, "invalid_handle"), ({"handle": 7}, 400, "invalid_handle"),
             ({"handle": "taken"}, 409, "account_linked")]
    for payload, status, code in cases:
        response = client.post("/api/v1/seller/claims", json=payload, headers=headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), payload
    assert client.post("/api/v1/seller/claims", data="x", headers=headers).status_code == 400
    mine = token_for(client, owner)
    again = client.post("/api/v1/seller/claims", json={"handle": "taken"}, headers=mine)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_linked"


def test_open_claims_are_capped_and_asking_again_returns_the_same_code(app, client):
    seller = make_user()
    headers = token_for(client, seller)
    ids = []
    for name in ("capone", "captwo", "capthree", "capfour"):
        held_handle(name)
    for name in ("capone", "captwo", "capthree"):
        response = client.post("/api/v1/seller/claims", json={"handle": name}, headers=headers)
        assert response.status_code == 201
        ids.append(response.get_json()["id"])
    repeat = client.post("/api/v1/seller/claims", json={"handle": "CapOne"}, headers=headers)
    assert repeat.status_code == 200 and repeat.get_json()["id"] == ids[0]
    fourth = client.post("/api/v1/seller/claims", json={"handle": "capfour"}, headers=headers)
    assert fourth.status_code == 409 and fourth.get_json()["error"]["code"] == "too_many_claims"
    listed = client.get("/api/v1/seller/claims", headers=headers).get_json()["items"]
    assert sorted(c["id"] for c in listed) == sorted(ids)


# ---- listing -----------------------------------------------------------------------------------
def test_listing_needs_the_ownership_proof(app, client):
    seller = make_user()
    headers = token_for(client, seller)
    held_handle("proveit")
    refused = fixed(headers, client, "proveit")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_your_handle"
    assert db.session.query(Listing).count() == 0
    claim = client.post("/api/v1/seller/claims", json={"handle": "proveit"}, headers=headers).get_json()
    set_bio(client, "proveit", claim["code"])
    assert client.post(f"/api/v1/seller/claims/{claim['id']}/check", headers=headers).status_code == 200
    listed = client.post("/api/v1/seller/listings", headers={**headers, "Idempotency-Key": "list-1"}, json={
        "handle": "proveit", "kind": "fixed", "price_cents": 500_000, "accepts_offers": True})
    assert listed.status_code == 201, listed.get_json()
    retried = client.post("/api/v1/seller/listings", headers={**headers, "Idempotency-Key": "list-1"}, json={
        "handle": "proveit", "kind": "fixed", "price_cents": 500_000, "accepts_offers": True})
    assert retried.status_code == 201 and retried.get_json()["id"] == listed.get_json()["id"]
    lot = listed.get_json()
    assert lot["seller"] == seller.alias and lot["kind"] == "fixed" and lot["current_price_cents"] == 500_000
    assert lot["accepts_offers"] is True and lot["can_cancel"] is True
    row = db.session.get(Listing, lot["id"])
    assert row.seller_id == seller.id and row.accepts_offers is True
    # The handle stays in the seller's account until it sells.
    assert db.session.get(Handle, row.handle_id).account.user_id == seller.id
    assert db.session.query(AuditEntry).filter_by(action="seller.lot.create").count() == 1


def test_nobody_can_list_another_sellers_handle_or_a_pool_handle(app, client):
    owner, intruder = make_user(), make_user()
    linked(owner, "ownersown")
    linked(intruder, "intruders")
    pool = released_handle("poolside")
    headers = token_for(client, intruder)
    for handle in ("ownersown", pool.display):
        response = fixed(headers, client, handle)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_your_handle"
    assert fixed(headers, client, "missinghandle").status_code == 404
    assert db.session.query(Listing).count() == 0


def test_a_protected_handle_cannot_be_listed_by_its_holder(app, client):
    seller = make_user()
    headers = token_for(client, seller)
    linked(seller, "brandname", protected=True)
    linked(seller, "famous")
    db.session.add(ProtectedName(name="famous", reason="public figure", created_at=clock().now()))
    db.session.commit()
    for handle in ("brandname", "famous"):
        response = fixed(headers, client, handle)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "protected_handle"
    assert db.session.query(Listing).count() == 0


def test_preview_shows_the_fees_and_lists_nothing(app, client):
    seller = make_user()
    headers = token_for(client, seller)
    linked(seller, "previewed")
    response = client.post("/api/v1/seller/listings", headers=headers, json={
        "handle": "previewed", "kind": "auction", "start_price_cents": 100_000, "buy_now_price_cents": 1_234_567,
        "duration_days": 3, "preview": True})
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    assert preview["at_price"] == {"buyer_pays_cents": 100_000, "commission_bps": 1000, "commission_cents": 10_000,
                                   "seller_receives_cents": 90_000}
    assert preview["at_buy_now"]["commission_cents"] == 123_457  # 10% of $12,345.67, rounded half up
    assert preview["at_buy_now"]["seller_receives_cents"] == 1_234_567 - 123_457
    assert db.session.query(Listing).count() == 0
    fees = client.get("/api/v1/seller/fees?price_cents=12345", headers=headers)
    assert fees.get_json() == {"buyer_pays_cents": 12_345, "commission_bps": 1000, "commission_cents": 1_235,
                               "seller_receives_cents": 11_110}
    for bad in ("", "abc", "-5", "0", "1.5", "99999999999999"):
        assert client.get(f"/api/v1/seller/fees?price_cents={bad}", headers=headers).status_code == 400, bad


def test_bad_listing_input_is_refused_with_4xx_and_lists_nothing(app, client):
    seller = make_user()
    headers = token_for(client, seller)
    linked(seller, "carefully")
    base = {"handle": "carefully", "kind": "auction", "start_price_cents": 100_000}
    cases = [
        ({**base, "kind": "dutch"}, 400), ({**base, "kind": None}, 400), ({**base, "duration_days": 11}, 400),
        ({**base, "duration_days": 0}, 400), ({**base, "duration_days": "3"}, 400),
        ({**base, "start_price_cents": None}, 400), ({**base, "start_price_cents": 10.5}, 400),
        ({**base, "start_price_cents": -1}, 400), ({**base, "buy_now_price_cents": 100_000}, 422),
        ({**base, "reserve_cents": 50_000}, 422), ({**base, "accepts_offers": True}, 422),
        ({**base, "surprise": 1}, 400), ({**base, "handle": ["carefully"]}, 400),
        ({"handle": "carefully", "kind": "fixed"}, 400), ({"handle": "carefully", "kind": "fixed", "price_cents": 1,
                                                           "accepts_offers": "yes"}, 400),
        ({**base, "preview": "true"}, 400), ([1, 2], 400),
    ]
    for payload, status in cases:
        response = client.post("/api/v1/seller/listings", headers=headers, json=payload)
        assert response.status_code == status, (payload, response.get_json())
        assert "error" in response.get_json()
    assert client.post("/api/v1/seller/listings", headers=headers, data="{", content_type="application/json"
                       ).status_code == 400
    assert db.session.query(Listing).count() == 0


def test_a_handle_on_sale_cannot_be_listed_twice(app, client):
    seller = make_user()
    headers = token_for(client, seller)
    linked(seller, "oncealone")
    assert fixed(headers, client, "oncealone").status_code == 201
    twice = client.post("/api/v1/seller/listings", headers=headers, json={
        "handle": "oncealone", "kind": "auction", "start_price_cents": 100_000})
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "handle_listed"


def test_seller_cannot_bid_on_or_buy_their_own_lot(app, client):
    seller = make_user(card="pm_card_visa")
    headers = token_for(client, seller)
    linked(seller, "mineauction")
    linked(seller, "minefixed")
    auction = client.post("/api/v1/seller/listings", headers=headers, json={
        "handle": "mineauction", "kind": "auction", "start_price_cents": 100_000, "buy_now_price_cents": 900_000})
    fixed_lot = fixed(headers, client, "minefixed")
    auction_id, fixed_id = auction.get_json()["id"], fixed_lot.get_json()["id"]
    bid = client.post(f"/api/v1/lots/{auction_id}/bids", headers=headers, json={"max_amount_cents": 150_000, "key": "k"})
    assert bid.status_code == 403 and bid.get_json()["error"]["code"] == "seller_cannot_bid"
    for lot_id in (auction_id, fixed_id):
        buy = client.post(f"/api/v1/lots/{lot_id}/buy", headers=headers, json={})
        assert buy.status_code == 403 and buy.get_json()["error"]["code"] == "seller_cannot_bid"
    assert db.session.query(Order).count() == 0 and db.session.get(Listing, auction_id).bid_count == 0


def test_others_cannot_see_check_or_cancel_a_sellers_claims_and_lots(app, client):
    seller, other = make_user(), make_user()
    linked(seller, "privately")
    held_handle("pending")
    claim, _ = sellers().start_claim(seller, "pending")
    lot = sellers().list_handle(seller, {"handle": "privately", "kind": "fixed", "price_cents": 100_000})
    headers = token_for(client, other)
    assert client.get(f"/api/v1/seller/claims/{claim.id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/seller/claims/{claim.id}/check", headers=headers).status_code == 404
    assert client.post(f"/api/v1/seller/listings/{lot.id}/cancel", headers=headers).status_code == 404
    assert client.get("/api/v1/seller/listings", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/seller/claims", headers=headers).get_json()["items"] == []
    login(client, other)
    assert client.get(f"/seller/claims/{claim.id}").status_code == 404
    assert client.post(f"/seller/claims/{claim.id}/check").status_code == 404
    assert client.post(f"/seller/lots/{lot.id}/cancel").status_code == 404
    db.session.expire_all()
    assert db.session.get(Listing, lot.id).closed_status is None
    assert client.get("/api/v1/seller/claims").status_code == 200  # the session works for the API too
    assert client.get("/api/v1/seller/listings").status_code == 200
    anonymous = client.application.test_client()
    assert anonymous.get("/api/v1/seller/listings").status_code == 401
    assert anonymous.get("/seller").status_code == 302  # to the sign-in page


def test_seller_cancels_a_lot_without_bids_but_not_one_with_bids(app, client):
    seller = make_user()
    buyer = make_user(card="pm_card_visa")
    headers = token_for(client, seller)
    linked(seller, "withdrawn")
    linked(seller, "bidon")
    lot = fixed(headers, client, "withdrawn").get_json()
    cancelled = client.post(f"/api/v1/seller/listings/{lot['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["can_cancel"] is False
    again = client.post(f"/api/v1/seller/listings/{lot['id']}/cancel", headers=headers)
    assert again.status_code == 409
    assert fixed(headers, client, "withdrawn").status_code == 201  # free to list again
    auction = client.post("/api/v1/seller/listings", headers=headers, json={
        "handle": "bidon", "kind": "auction", "start_price_cents": 100_000}).get_json()
    bidding().place(buyer, auction["id"], 150_000, "b1")
    refused = client.post(f"/api/v1/seller/listings/{auction['id']}/cancel", headers=headers)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "has_bids"


def complete_onboarding(url: str) -> None:
    """Open the fake Stripe's onboarding link, as the seller's browser would, without following its
    redirect back to the app (which is not listening on a port here)."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(url, timeout=10).close()
    except urllib.error.HTTPError as exc:
        assert exc.code == 303
        exc.close()


# ---- a seller's sale, settled ------------------------------------------------------------------
@pytest.mark.usefixtures("shared_gateway")
def test_sellers_fixed_price_sale_moves_the_handle_and_pays_price_less_commission(app, client, gateway, fake_stripe):
    seller = make_user("seller@example.com")
    buyer = make_user(card="pm_card_visa")
    handle = linked(seller, "forsale")
    seller_account = db.session.get(Handle, handle.id).account_id
    login(client, seller)
    # Payout onboarding: the account is made once, and the seller is sent to Stripe's onboarding page.
    started = client.post("/seller/payouts")
    assert started.status_code == 303 and started.location.startswith(fake_stripe)
    db.session.expire_all()
    account = db.session.get(User, seller.id).stripe_account_id
    assert account and account.startswith("acct_")
    assert 'data-state="pending"' in client.get("/seller/payouts/return").get_data(as_text=True)
    complete_onboarding(started.location)
    assert 'data-state="ready"' in client.get("/seller/payouts/return").get_data(as_text=True)
    assert client.post("/seller/payouts").status_code == 303
    db.session.expire_all()
    assert db.session.get(User, seller.id).stripe_account_id == account
    lot = sellers().list_handle(seller, {"handle": "forsale", "kind": "fixed", "price_cents": 1_234_567})

    order = purchases().buy(buyer, lot.id, key="buy-1")
    settlement().run_once()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "completed" and order.seller_id == seller.id
    assert order.commission_cents == 123_457 and order.seller_receives_cents == 1_111_110
    moved = db.session.get(Handle, handle.id)
    assert moved.account.user_id == buyer.id and moved.account_id != seller_account
    assert db.session.query(Handle).filter_by(account_id=seller_account).count() == 0
    transfers = gateway.list_transfers(destination=account)
    assert [(t["amount_cents"], t["source_transaction"]) for t in transfers] == [(1_111_110, order.charge_id)]
    settlement().run_once()
    assert len(gateway.list_transfers(destination=account)) == 1
    page = client.get("/seller").get_data(as_text=True)
    assert 'data-payout="paid_out"' in page and "$11,111.10" in page


@pytest.mark.usefixtures("shared_gateway")
def test_sale_is_refunded_when_the_seller_no_longer_holds_the_handle(app, gateway):
    seller = make_user()
    buyer = make_user(card="pm_card_visa")
    handle = linked(seller, "slipped")
    lot = sellers().list_handle(seller, {"handle": "slipped", "kind": "fixed", "price_cents": 300_000})
    order = purchases().buy(buyer, lot.id, key="k")
    assert db.session.get(Order, order.id).status == "paid"
    # Before the transfer the handle leaves the seller's account (released, or moved on the platform).
    elsewhere = PlatformAccount(last_active_at=clock().now(), created_at=clock().now())
    db.session.add(elsewhere)
    db.session.flush()
    db.session.get(Handle, handle.id).account_id = elsewhere.id
    db.session.commit()
    settlement().run_once()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "refunded" and "no longer holds" in order.failure
    assert db.session.get(Handle, handle.id).account_id == elsewhere.id


# ---- pages -------------------------------------------------------------------------------------
def test_pages_link_preview_and_list_a_handle(app, client):
    seller = make_user()
    login(client, seller)
    empty = client.get("/seller").get_data(as_text=True)
    assert "You have no lots yet" in empty and "No linked handles yet" in empty
    held_handle("pagehandle")
    started = client.post("/seller/link", data={"handle": "pagehandle"})
    assert started.status_code == 302
    claim_page = client.get(started.location).get_data(as_text=True)
    code = re.search(r'data-testid="claim-code">([^<]+)<', claim_page).group(1)
    assert "/dev/platform/pagehandle" in claim_page
    refused = client.post(started.location + "/check")
    assert refused.status_code == 302 and "/seller/claims/" in refused.location
    set_bio(client, "pagehandle", code)
    checked = client.post(started.location + "/check")
    assert checked.status_code == 302 and "/seller/lots/new" in checked.location
    form = {"handle": "pagehandle", "kind": "fixed", "price": "2,500", "duration_days": "5"}
    missing = client.post("/seller/lots/new", data={**form, "price": "", "preview": "Preview"})
    assert missing.status_code == 400 and "Enter a price" in missing.get_data(as_text=True)
    preview = client.post("/seller/lots/new", data={**form, "preview": "Preview"}).get_data(as_text=True)
    assert re.search(r'data-testid="preview-buyer-pays">\$2,500<', preview)
    assert re.search(r'data-testid="preview-commission">\$250<', preview)
    assert re.search(r'data-testid="preview-seller-receives">\$2,250<', preview)
    assert db.session.query(Listing).count() == 0
    changed = client.post("/seller/lots/new", data={**form, "edit": "Change"})
    assert changed.status_code == 200 and 'value="2,500"' in changed.get_data(as_text=True)
    confirmed = client.post("/seller/lots/new", data={**form, "confirm": "Confirm"})
    assert confirmed.status_code == 302 and "/lots/" in confirmed.location
    lot = db.session.query(Listing).one()
    assert lot.seller_id == seller.id and lot.start_price_cents == 250_000
    dashboard = client.get("/seller").get_data(as_text=True)
    assert f'data-lot-id="{lot.id}"' in dashboard and 'data-testid="cancel-lot"' in dashboard
    assert client.post(f"/seller/lots/{lot.id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, lot.id).closed_status == "cancelled"


def test_bad_form_input_is_a_4xx_page(app, client):
    seller = make_user()
    login(client, seller)
    assert client.post("/seller/link", data={"handle": "not a handle"}).status_code == 400
    assert client.post("/seller/link", data={"handle": ""}).status_code == 400
    linked(seller, "formcheck")
    linked(make_user(), "notmine")
    bad = client.post("/seller/lots/new", data={"handle": "formcheck", "kind": "fixed", "price": "abc",
                                                "preview": "Preview"})
    assert bad.status_code == 400
    other = client.post("/seller/lots/new", data={"handle": "notmine", "kind": "fixed", "price": "10",
                                                  "preview": "Preview"})
    assert other.status_code == 403
    assert client.get("/seller/claims/999999").status_code == 404


def test_the_development_platform_page_is_refused_in_production(app, client):
    held_handle("devonly")
    assert client.get("/dev/platform/devonly").status_code == 200
    assert client.get("/dev/platform/nosuchhandle").status_code == 404
    assert client.get("/dev/platform/bad%20name").status_code == 404
    from marketplace.sellers.routes import dev_platform_enabled

    assert not dev_platform_enabled({"DEV_PLATFORM": True, "ENV_NAME": "production"})
    assert not dev_platform_enabled({"DEV_PLATFORM": False, "ENV_NAME": "development"})
    app.config["DEV_PLATFORM"] = False
    try:
        assert client.get("/dev/platform/devonly").status_code == 404
    finally:
        app.config["DEV_PLATFORM"] = True
    app.config["ENV_NAME"] = "production"
    try:
        assert client.get("/dev/platform/devonly").status_code == 404
        assert client.post("/dev/platform/devonly", data={"bio": "HX-AAAAAA"}).status_code == 404
    finally:
        app.config["ENV_NAME"] = "development"
    db.session.expire_all()
    assert db.session.query(Handle).filter_by(name="devonly").one().account.bio is None
