"""Verified organisations in the browser: a user creates their organisation, an admin verifies it on
/admin/organisations, the owner subscribes ($1,000 a month through the fake Stripe server) and cancels;
and an organisation in good standing asks about several handles, the assistant answers them, an admin
answers the protected one by hand on /admin/inquiries, and the member accepts the quote and pays.
Each step checks what the person sees and what the server stored."""
from __future__ import annotations

import re

import pytest

from marketplace.extensions import db
from marketplace.models import Handle, Inquiry, InquiryItem, Order, Organisation, PaymentRecord, User
from marketplace.services.organisations import cancel_scheduled
from marketplace.wiring import organisations
from tests.e2e.journey import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DESKTOP,
    PHONE,
    eventually,
    flash_text,
    reads_well,
    shot,
    through_menu,
    within_width,
)
from tests.e2e.test_checkout import PAID, buyer, page_for
from tests.e2e.test_live_bidding import sign_in
from tests.factories import released_handle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def admin_page(browser, server, viewport=DESKTOP):
    """A page signed in as the server's admin."""
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    return page


def org_of(seed_app, email: str) -> Organisation | None:
    """The organisation the user acts for, read fresh (detached)."""
    with seed_app.app_context():
        db.session.rollback()
        user = db.session.query(User).filter_by(email=email).one()
        org = db.session.get(Organisation, user.organisation_id) if user.organisation_id else None
        if org is not None:
            db.session.expunge(org)
        return org


def test_an_organisation_is_created_verified_subscribed_and_cancelled(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    email = buyer(seed_app, fake_stripe, "Olga Owner")
    owner = page_for(module_browser, server, email, PHONE)

    # Create it from the account menu's Organisation page.
    through_menu(owner, "nav-organisation")
    owner.locator("[data-testid=organisation-form]").wait_for()
    reads_well(owner, "organisation-new")
    owner.fill("#name", "Acme Handles Ltd")
    owner.fill("#website", "acme.example")
    owner.click("[data-testid=organisation-create]")
    assert "Organisation created. An admin checks it next" in flash_text(owner, "success")
    assert owner.locator("[data-testid=organisation-name]").inner_text() == "Acme Handles Ltd"
    assert owner.locator("[data-testid=verification]").get_attribute("data-state") == "pending"
    assert owner.locator("[data-testid=subscribe-form]").count() == 0  # not before an admin's check
    org = org_of(seed_app, email)
    assert (org.name, org.website, org.verified_at, org.subscription_status) == (
        "Acme Handles Ltd", "https://acme.example", None, "none")
    reads_well(owner, "organisation-pending")

    # An admin verifies it from the organisations list.
    admin = admin_page(module_browser, server)
    admin.goto(f"{server.url}/admin/")
    admin.click("[data-testid=admin-organisations-link]")
    row = admin.locator(f"[data-testid=admin-organisation-row][data-organisation-id='{org.id}']")
    assert row.get_attribute("data-state") == "pending" and "Olga Owner" in row.inner_text()
    reads_well(admin, "admin-organisations")
    row.locator("[data-testid=verify]").click()
    assert "Acme Handles Ltd is verified; its owner may now subscribe." in flash_text(admin, "success")
    assert admin.locator(f"[data-testid=admin-organisation-row][data-organisation-id='{org.id}']") \
        .get_attribute("data-state") == "verified"
    assert org_of(seed_app, email).verified_at is not None

    # The owner subscribes: the box must be ticked first; then the card is charged $1,000.
    owner.reload()
    assert owner.locator("[data-testid=verification]").get_attribute("data-state") == "verified"
    assert "ending 4242" in owner.locator("[data-testid=subscribe-form]").inner_text()
    owner.click("[data-testid=subscribe]")
    assert "Tick the box to confirm the charge." in owner.locator("[data-testid=subscribe-form]").inner_text()
    assert org_of(seed_app, email).subscription_status == "none"
    owner.check("[data-testid=subscribe-confirm]")
    owner.click("[data-testid=subscribe]")
    assert "Subscribed: your organisation may now send inquiries" in flash_text(owner, "success")
    assert owner.locator("[data-testid=subscription]").get_attribute("data-status") == "active"
    assert owner.locator("[data-testid=subscription-status]").inner_text() == "Active"
    assert owner.locator("[data-testid=organisation-standing]").get_attribute("data-ok") == "true"
    renews = owner.locator("[data-testid=period-end]").inner_text()
    reads_well(owner, "organisation-subscribed")
    org = org_of(seed_app, email)
    assert org.subscription_status == "active" and org.subscription_id and org.current_period_end
    with seed_app.app_context():
        started = db.session.query(PaymentRecord).filter_by(kind="subscription_started",
                                                            stripe_id=org.subscription_id).one()
        assert started.amount_cents == 100_000 and started.user_id == org.owner_id

    # And cancels: it stays active to the end of the month paid for, and will not renew.
    owner.click("[data-testid=cancel-subscription]")
    assert "Tick the box to confirm the cancellation." in owner.locator("[data-testid=cancel-form]").inner_text()
    owner.check("[data-testid=cancel-confirm]")
    owner.click("[data-testid=cancel-subscription]")
    assert "stays active until the end of the month you paid for" in flash_text(owner, "success")
    assert owner.locator("[data-testid=cancel-scheduled]").inner_text() == (
        f"Cancelled: the subscription ends on {renews} and will not renew.")
    assert owner.locator("[data-testid=cancel-form]").count() == 0
    shot(owner, "organisation-cancelled-phone")
    with seed_app.app_context():
        org = db.session.get(Organisation, org.id)
        assert org.subscription_status == "active" and cancel_scheduled(db.session, org)
    for page in (owner, admin):
        page.context.close()


def subscribed_member(seed_app, fake_stripe, name: str) -> str:
    """The owner of a verified organisation subscribed at the fake Stripe server; their email."""
    email = buyer(seed_app, fake_stripe, name)
    with seed_app.app_context():
        user = db.session.query(User).filter_by(email=email).one()
        admin = db.session.query(User).filter_by(email=ADMIN_EMAIL).one()
        org = organisations().create(user, {"name": f"{name}'s Company", "website": "company.example"})
        organisations().verify(admin, org.id)
        organisations().subscribe(db.session.get(User, user.id))
    return email


def test_a_member_asks_about_handles_an_admin_answers_one_and_the_quote_is_accepted_and_paid(
        module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    with seed_app.app_context():
        pool = [released_handle(name).display for name in ("acmeshop", "acmepay", "acmecloud")]
        protected = released_handle("acmecorp", protected=True).display
    email = subscribed_member(seed_app, fake_stripe, "Mira Member")
    member = page_for(module_browser, server, email, DESKTOP)

    # Ask: a pasted list, mixed separators and an @, and a reason.
    through_menu(member, "nav-inquiries")
    member.click("[data-testid=new-inquiry]")
    member.locator("[data-testid=inquiry-form]").wait_for()
    reads_well(member, "inquiry-new")
    member.fill("[data-testid=inquiry-handles]", f"@{pool[0]}, {pool[1]}\n{pool[2]} {protected} acmenobody")
    member.fill("[data-testid=inquiry-reason]", "Our brand's names, for the launch of our shops.")
    member.click("[data-testid=inquiry-submit]")
    member.wait_for_url(re.compile(r".*/inquiries/\d+$"))
    assert "Inquiry sent: the answers are due by" in flash_text(member, "success")
    inquiry_id = int(member.url.rsplit("/", 1)[1])
    assert member.locator("[data-testid=inquiry-item]").count() == 5

    # The assistant (the worker) answers every handle: three releasable, the protected one and the
    # unregistered one unavailable.
    def answered():
        inquiry = db.session.get(Inquiry, inquiry_id)
        return {i.handle_name: i.status for i in inquiry.items} if inquiry.answered_at else None

    assert eventually(seed_app, answered, what="the assistant's answers") == {
        "acmeshop": "releasable", "acmepay": "releasable", "acmecloud": "releasable",
        "acmecorp": "unavailable", "acmenobody": "unavailable"}
    member.reload()
    assert member.locator("[data-testid=quote]").is_visible()
    assert member.locator("[data-testid=inquiry-item][data-status=releasable]").count() == 3

    # An admin offers the protected name to this organisation by hand, at a price.
    admin = admin_page(module_browser, server)
    admin.goto(f"{server.url}/admin/")
    admin.click("[data-testid=admin-inquiries-link]")
    assert admin.locator(f"[data-testid=admin-inquiry-row][data-inquiry-id='{inquiry_id}']").is_visible()
    reads_well(admin, "admin-inquiries")
    admin.locator(f"[data-testid=admin-inquiry-row][data-inquiry-id='{inquiry_id}'] a").click()
    admin.wait_for_url(re.compile(rf".*/admin/inquiries/{inquiry_id}$"))
    with seed_app.app_context():
        item_id = db.session.query(InquiryItem.id).filter_by(inquiry_id=inquiry_id, handle_name="acmecorp").scalar()
    item = admin.locator(f"[data-testid=admin-inquiry-item][data-item-id='{item_id}']")
    assert "A protected name" in item.inner_text()
    reads_well(admin, "admin-inquiry")
    item.locator("select[name=status]").select_option("releasable")
    item.locator("input[name=price]").fill("12,000")
    item.locator("input[name=note]").fill("Offered to you as the trademark holder.")
    item.locator("button[type=submit]").click()
    assert "Answer saved for @acmecorp." in flash_text(admin, "success")
    assert admin.locator(f"[data-testid=admin-inquiry-item][data-item-id='{item_id}']") \
        .get_attribute("data-status") == "releasable"

    # The member sees the new quote (four handles: 5% off), keeps three and accepts them.
    member.reload()
    assert member.locator("[data-testid=inquiry-item][data-status=releasable]").count() == 4
    assert "Offered to you as the trademark holder." in member.locator(
        f"[data-testid=inquiry-item][data-item-id='{item_id}']").inner_text()
    assert "Bulk discount (5%)" in member.locator("[data-testid=quote]").inner_text()
    with seed_app.app_context():
        db.session.rollback()
        items = {i.handle_name: (i.id, i.list_cents, i.price_cents)
                 for i in db.session.get(Inquiry, inquiry_id).items}
    assert items["acmecorp"][1:] == (1_200_000, 1_140_000)
    subtotal = sum(items[n][1] for n in ("acmeshop", "acmepay", "acmecloud", "acmecorp"))
    assert member.locator("[data-testid=quote-subtotal]").inner_text() == f"${subtotal / 100:,.0f}"
    reads_well(member, "inquiry-quote")
    left_out = f"[data-testid=inquiry-item][data-item-id='{items['acmecloud'][0]}'] [data-testid=accept-item]"
    member.uncheck(left_out)
    member.click("[data-testid=accept-submit]")
    # Refused until the charge is confirmed, and the handle left out stays left out.
    assert "Tick the box to confirm the charge." in member.locator("[data-testid=quote]").inner_text()
    assert not member.is_checked(left_out)
    assert member.locator("[data-testid=accept-item]:checked").count() == 3
    member.check("[data-testid=accept-confirm]")
    member.click("[data-testid=accept-submit]")
    accepted = ("acmeshop", "acmepay", "acmecorp")
    total = sum(items[n][2] for n in accepted)
    text = flash_text(member, "success")
    assert "Accepted: @acmeshop, @acmepay, @acmecorp" in text and f"${total / 100:,.0f} in all" in text
    assert member.locator("[data-testid=item-order]").count() == 3
    shot(member, "inquiry-accepted-desktop")

    # Each accepted handle is an order charged at its quoted price, and moves to the member.
    def settled():
        rows = {i.handle_name: i.order_id for i in db.session.get(Inquiry, inquiry_id).items if i.order_id}
        orders = {name: db.session.get(Order, order_id) for name, order_id in rows.items()}
        done = all(o.status in PAID for o in orders.values()) and len(orders) == 3
        return {name: (o.amount_cents, o.source, o.status) for name, o in orders.items()} if done else None

    orders = eventually(seed_app, settled, what="the inquiry's orders paid")
    assert {name: amount for name, (amount, _s, _st) in orders.items()} == {n: items[n][2] for n in accepted}
    assert {source for _a, source, _st in orders.values()} == {"inquiry"}

    def moved():
        user = db.session.query(User).filter_by(email=email).one()
        holders = {n: db.session.query(Handle).filter_by(name=n).one().account for n in accepted}
        return all(a is not None and a.user_id == user.id for a in holders.values())

    eventually(seed_app, moved, what="the handles moved to the member")
    with seed_app.app_context():
        assert db.session.query(Handle).filter_by(name="acmecloud").one().account_id is None  # not accepted
    member.reload()
    assert member.locator(f"[data-testid=inquiry-item][data-item-id='{items['acmecloud'][0]}'] "
                          "[data-testid=accept-item]").count() == 1
    # The organisation's list of inquiries shows it answered, with its quote.
    through_menu(member, "nav-inquiries")
    listed = member.locator(f"[data-testid=inquiry-row][data-inquiry-id='{inquiry_id}']")
    assert listed.get_attribute("data-status") == "answered" and "@acmecorp" in listed.inner_text()
    reads_well(member, "inquiries-list")
    for page in (member, admin):
        page.context.close()


def test_an_admin_rejects_an_organisation_with_a_reason_its_owner_reads(module_browser, module_server, fake_stripe):
    server, seed_app = module_server
    email = buyer(seed_app, fake_stripe, "Nils Notreal")
    with seed_app.app_context():
        org_id = organisations().create(db.session.query(User).filter_by(email=email).one(),
                                        {"name": "Totally Real Brands"}).id
    admin = admin_page(module_browser, server, PHONE)
    admin.goto(f"{server.url}/admin/organisations?state=pending")
    row = admin.locator(f"[data-testid=admin-organisation-row][data-organisation-id='{org_id}']")
    within_width(admin, row.locator("[data-testid=reject]"))
    row.locator("[data-testid=reject]").click()  # a reason is required
    row = admin.locator(f"[data-testid=admin-organisation-row][data-organisation-id='{org_id}']")
    assert row.locator("[data-testid=field-error]").is_visible()
    assert org_of(seed_app, email).rejected_at is None
    row.locator("textarea[name=reason]").fill("We could not find this company in any register.")
    row.locator("[data-testid=reject]").click()
    assert "Totally Real Brands was rejected; its owner is told why." in flash_text(admin, "success")
    org = org_of(seed_app, email)
    assert org.rejected_at is not None and org.rejection_reason == "We could not find this company in any register."
    owner = page_for(module_browser, server, email, PHONE)
    through_menu(owner, "nav-organisation")
    assert owner.locator("[data-testid=verification]").get_attribute("data-state") == "rejected"
    assert owner.locator("[data-testid=rejection-reason]").inner_text() == (
        "The admin's reason: We could not find this company in any register.")
    assert owner.locator("[data-testid=subscribe-form]").count() == 0
    for page in (admin, owner):
        page.context.close()
