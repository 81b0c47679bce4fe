"""The release console, bulk listing, protected names and the audit filters: admin-only, CSRF, audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import AuditEntry, Listing, ProtectedName, SweepRun
from tests.factories import csrf_token, login, make_user, released_handle
from tests.integration.test_release_pipeline import account, account_of, handle_row

pytestmark = pytest.mark.usefixtures("app")


def audits(action: str, target: str | None = None) -> list[AuditEntry]:
    """Audit entries of one action (and target)."""
    query = select(AuditEntry).where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    return list(db.session.execute(query).scalars())


def lots_of(name: str) -> list[Listing]:
    """Lots on one handle."""
    return list(db.session.execute(select(Listing).where(Listing.handle_name == name)).scalars())


@pytest.fixture
def admin(client):
    """A signed-in admin."""
    user = make_user(admin=True)
    login(client, user)
    return user


@pytest.mark.parametrize("method,path", [
    ("get", "/admin/release"), ("get", "/admin/release/list"), ("get", "/admin/protected"),
    ("post", "/admin/release/sweep"), ("post", "/admin/release/actions"), ("post", "/admin/release/list"),
    ("post", "/admin/protected/add"), ("post", "/admin/protected/remove")])
def test_release_pages_are_admin_only(client, method, path):
    assert getattr(client, method)(path).status_code == 302  # signed out: to the sign-in page
    login(client, make_user())
    assert getattr(client, method)(path, data={"reason": "x", "handles": "x", "name": "x"}).status_code == 403


def test_buyer_cannot_release_a_handle(client):
    account("botty", 1)
    login(client, make_user())
    response = client.post("/admin/release/actions", data={"action": "release_now", "handles": "botty",
                                                           "reason": "bot"})
    assert response.status_code == 403
    assert account_of("botty") is not None and not audits("release.bot")


def test_release_actions_need_a_csrf_token(app, client, admin):
    account("botty", 1)
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post("/admin/release/actions", data={"action": "release_now", "handles": "botty",
                                                          "reason": "bot farm"})
    assert refused.status_code == 400
    assert account_of("botty") is not None
    assert client.post("/admin/release/sweep").status_code == 400
    assert client.post("/admin/protected/add", data={"add-name": "acme", "add-reason": "brand"}).status_code == 400
    token = csrf_token(client)
    done = client.post("/admin/release/actions", data={"action": "release_now", "handles": "botty",
                                                       "reason": "bot farm", "csrf_token": token})
    assert done.status_code == 302
    assert handle_row("botty").account_id is None


def test_console_shows_counts_queue_with_release_dates_and_sweep_progress(client, admin, clock):
    for i in range(3):
        account(f"sleepy{i}", 40)
    account("awake", 1)
    released_handle("freeone")
    html = client.get("/admin/release").get_data(as_text=True)
    assert 'data-testid="sweep-never"' in html and 'data-testid="run-sweep"' in html
    swept = client.post("/admin/release/sweep", data={"state": "grace"})
    assert swept.status_code == 302 and swept.headers["Location"].endswith("/admin/release?state=grace")
    html = client.get("/admin/release").get_data(as_text=True)
    assert 'role="progressbar"' in html and 'aria-valuenow="100.0"' in html
    assert "Sweep finished" in html and 'data-testid="sweep-figure"' in html
    assert html.count('data-testid="queue-row"') == 3
    due = (clock.now() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert html.count('data-testid="release-date"><time datetime="' + due) == 3
    counts = html.split('data-testid="release-counts"')[1].split("</dl>")[0]
    assert 'data-count="in_grace"' in counts and ">3</a>" in counts
    released = client.get("/admin/release?state=released").get_data(as_text=True)
    assert 'data-handle="freeone"' in released and released.count('data-testid="queue-row"') == 1
    searched = client.get("/admin/release?state=grace&q=@SLEEPY1").get_data(as_text=True)
    assert searched.count('data-testid="queue-row"') == 1 and 'data-handle="sleepy1"' in searched
    paged = client.get("/admin/release?state=grace&per_page=2&page=2").get_data(as_text=True)
    assert paged.count('data-testid="queue-row"') == 1 and 'data-testid="pagination"' in paged
    assert client.get("/admin/release?state=bogus").status_code == 400
    assert client.get("/admin/release?page=zero").status_code == 400


def test_sweep_button_runs_bounded_batches_and_resumes(app, client, admin):
    app.config["SWEEP_BATCH_SIZE"] = 2
    app.config["RELEASE_CONSOLE_BATCHES"] = 1
    for i in range(5):
        account(f"idle{i}", 40)
    client.post("/admin/release/sweep")
    run = db.session.execute(select(SweepRun)).scalar_one()
    assert run.finished_at is None and run.batches == 1
    html = client.get("/admin/release").get_data(as_text=True)
    assert "Run it again to continue" in html and "in progress" in html
    for _ in range(2):
        client.post("/admin/release/sweep")
    db.session.expire_all()
    run = db.session.execute(select(SweepRun)).scalar_one()
    assert run.finished_at is not None and run.flagged == 5 and run.batches == 3
    client.post("/admin/release/sweep")  # a finished run: the button starts the next one
    assert db.session.execute(select(func.count()).select_from(SweepRun)).scalar_one() == 2


def test_bulk_release_now_releases_bot_handles_and_audits_each(client, admin):
    account("botone", 1)
    account("bottwo", 1)
    response = client.post("/admin/release/actions", data={
        "action": "release_now", "handles": ["botone"], "typed": "@bottwo, nosuchhandle", "reason": "bot farm"},
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Released 2: @botone (released), @bottwo (released)." in html
    assert "Not changed: @nosuchhandle" in html and "not in the registry" in html
    assert handle_row("botone").account_id is None and handle_row("bottwo").account_id is None
    entries = audits("release.bot")
    assert {e.target for e in entries} == {"handle:botone", "handle:bottwo"}
    assert all(e.actor_id == admin.id and e.details["reason"] == "bot farm" for e in entries)


def test_keep_hold_back_and_return_to_pool_change_state_and_audit(client, admin):
    account("keeper", 40)
    released_handle("drifter")
    client.post("/admin/release/sweep")
    assert account_of("keeper").flagged_at is not None
    client.post("/admin/release/actions", data={"action": "keep", "handles": "keeper", "reason": "owner wrote in"})
    assert account_of("keeper").flagged_at is None and audits("release.keep", "handle:keeper")
    client.post("/admin/release/actions", data={"action": "hold_back", "handles": "drifter", "reason": "brand?"})
    assert handle_row("drifter").held_back_at is not None and audits("release.hold_back", "handle:drifter")
    held = client.get("/admin/release?state=held_back").get_data(as_text=True)
    assert 'data-handle="drifter"' in held
    client.post("/admin/release/actions", data={"action": "return_to_pool", "handles": "drifter", "reason": "cleared"})
    assert handle_row("drifter").held_back_at is None and audits("release.return_to_pool", "handle:drifter")


@pytest.mark.parametrize("data,message", [
    ({"action": "keep", "handles": "keeper", "reason": "  "}, "This field is required"),
    ({"action": "keep", "reason": "why"}, "Pick at least one handle"),
    ({"action": "explode", "handles": "keeper", "reason": "why"}, "Not a valid choice"),
])
def test_bad_bulk_action_input_is_a_form_error_not_a_500(client, admin, data, message):
    account("keeper", 40)
    response = client.post("/admin/release/actions", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'data-testid="form-error"' in html
    assert not audits("release.keep")


def test_bad_handle_names_are_reported_not_a_500(client, admin):
    response = client.post("/admin/release/actions", data={"action": "hold_back", "typed": "no-dashes!",
                                                           "reason": "x"}, follow_redirects=True)
    assert response.status_code == 200
    assert 'data-category="error"' in response.get_data(as_text=True)


def test_bulk_listing_lists_rows_and_reports_per_row_errors(client, admin, clock):
    released_handle("zeta")       # 4 letters: auction suggested
    released_handle("longername7")  # fixed price suggested
    released_handle("brandco")
    db.session.add(ProtectedName(name="brandco", reason="brand", created_at=clock.now()))
    db.session.commit()
    page = client.get("/admin/release/list").get_data(as_text=True)
    assert page.count('data-testid="suggestion-row"') == 3
    zeta_id = handle_row("zeta").id
    long_id = handle_row("longername7").id
    brand_id = handle_row("brandco").id
    zeta_row = page.split('data-handle="zeta"')[1].split("</tr>")[0]
    assert 'value="auction" selected' in zeta_row and 'name="start_%s" value="' % zeta_id in zeta_row
    assert "4 characters" in zeta_row
    start = (clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/admin/release/list", data={
        "pick": [str(zeta_id), str(long_id), str(brand_id)],
        f"kind_{zeta_id}": "auction", f"start_{zeta_id}": "60,000", f"reserve_{zeta_id}": "80,000",
        f"kind_{long_id}": "dutch", f"start_{long_id}": "40,000", f"reserve_{long_id}": "10,000",
        f"kind_{brand_id}": "fixed", f"start_{brand_id}": "20,000", f"reserve_{brand_id}": "",
        "starts_at": start, "duration_hours": "24", "half_life_minutes": "30", "eligibility": "registered"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Listed 2:" in html and "Not listed (1): @brandco" in html
    brand_row = html.split('data-handle="brandco"')[1].split("</tr>")[0]
    assert 'data-testid="row-error"' in brand_row and "verified organisations only" in brand_row
    assert 'data-handle="zeta"' not in html  # listed rows leave the table
    (zeta,) = lots_of("zeta")
    assert zeta.kind == "auction" and zeta.start_price_cents == 60_000_00 and zeta.reserve_cents == 80_000_00
    assert zeta.starts_at == clock.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    assert zeta.ends_at == zeta.starts_at + timedelta(hours=24)
    (dutch,) = lots_of("longername7")
    assert dutch.kind == "dutch" and dutch.floor_price_cents == 10_000_00 and dutch.half_life_seconds == 1800
    assert not lots_of("brandco")
    assert len(audits("lot.create")) == 2


def test_bulk_listing_reports_bad_amounts_and_an_empty_pick(client, admin):
    released_handle("qwerty")
    hid = handle_row("qwerty").id
    empty = client.post("/admin/release/list", data={"eligibility": "registered"})
    assert empty.status_code == 400 and "Pick at least one handle" in empty.get_data(as_text=True)
    bad = client.post("/admin/release/list", data={"pick": str(hid), f"kind_{hid}": "fixed", f"start_{hid}": "lots",
                                                   "eligibility": "registered"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Enter an amount in dollars" in html and 'value="lots"' in html
    assert not lots_of("qwerty")
    listed = client.post("/admin/release/list", data={"pick": str(hid), f"kind_{hid}": "fixed",
                                                      f"start_{hid}": "12,500", "eligibility": "registered"})
    assert listed.status_code == 302
    (lot,) = lots_of("qwerty")
    assert lot.kind == "fixed" and lot.start_price_cents == 12_500_00


def test_protected_names_add_search_page_and_remove_with_reason(client, admin):
    added = client.post("/admin/protected/add", data={"add-name": "@AcmeCorp", "add-reason": "trademark"})
    assert added.status_code == 302
    assert db.session.execute(select(ProtectedName).where(ProtectedName.name == "acmecorp")).scalar_one()
    (entry,) = audits("protected.add", "handle:acmecorp")
    assert entry.actor_id == admin.id and entry.details["reason"] == "trademark"
    again = client.post("/admin/protected/add", data={"add-name": "acmecorp", "add-reason": "again"})
    assert again.status_code == 409 and "already protected" in again.get_data(as_text=True)
    no_reason = client.post("/admin/protected/add", data={"add-name": "other", "add-reason": ""})
    assert no_reason.status_code == 400
    bad = client.post("/admin/protected/add", data={"add-name": "not a handle!", "add-reason": "x"})
    assert bad.status_code == 400 and 'data-testid="field-error"' in bad.get_data(as_text=True)
    html = client.get("/admin/protected?q=acme").get_data(as_text=True)
    assert html.count('data-testid="protected-row"') == 1 and 'data-name="acmecorp"' in html
    for i in range(3):
        client.post("/admin/protected/add", data={"add-name": f"zz{i}", "add-reason": "test"})
    paged = client.get("/admin/protected?q=zz&per_page=2&page=2").get_data(as_text=True)
    assert paged.count('data-testid="protected-row"') == 1 and 'data-testid="pagination"' in paged
    refused = client.post("/admin/protected/remove", data={"name": "acmecorp", "reason": " "})
    assert refused.status_code == 400 and "Give a reason" in refused.get_data(as_text=True)
    missing = client.post("/admin/protected/remove", data={"name": "nobodyhere", "reason": "x"})
    assert missing.status_code == 404
    removed = client.post("/admin/protected/remove", data={"name": "acmecorp", "reason": "trademark lapsed"})
    assert removed.status_code == 302
    assert not db.session.execute(select(ProtectedName).where(ProtectedName.name == "acmecorp")).first()
    assert audits("protected.remove", "handle:acmecorp")[0].details["reason"] == "trademark lapsed"


def test_audit_log_filters_by_action_actor_target_and_dates(client, admin, clock):
    other = make_user("second-admin@example.com", admin=True)
    from marketplace.wiring import release
    release().add_protected_name(admin, "alpha", "brand")
    release().add_protected_name(other, "beta", "brand")
    clock.advance(days=3)
    release().remove_protected_name(other, "beta", "lapsed")
    rows = lambda html: html.count('data-testid="audit-row"')  # noqa: E731
    assert rows(client.get("/admin/audit?action=protected.add").get_data(as_text=True)) == 2
    assert rows(client.get("/admin/audit?actor=SECOND-admin").get_data(as_text=True)) == 2
    assert rows(client.get("/admin/audit?target=@beta").get_data(as_text=True)) == 2
    assert rows(client.get("/admin/audit?target=beta&action=protected.remove").get_data(as_text=True)) == 1
    today = clock.now().strftime("%Y-%m-%d")
    assert rows(client.get(f"/admin/audit?since={today}").get_data(as_text=True)) == 1
    assert rows(client.get(f"/admin/audit?until={today}&target=beta").get_data(as_text=True)) == 2
    earlier = (clock.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    assert rows(client.get(f"/admin/audit?until={earlier}&action=protected.remove").get_data(as_text=True)) == 0
    bad = client.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    assert 'data-testid="empty-state"' in client.get("/admin/audit?actor=nobody@").get_data(as_text=True)
    assert client.get("/admin/audit?page=-1").status_code == 400


def test_audit_log_pages(client, admin):
    from marketplace.wiring import release
    for i in range(3):
        release().add_protected_name(admin, f"pg{i}", "brand")
    first = client.get("/admin/audit?per_page=2&action=protected.add").get_data(as_text=True)
    second = client.get("/admin/audit?per_page=2&action=protected.add&page=2").get_data(as_text=True)
    assert first.count('data-testid="audit-row"') == 2 and second.count('data-testid="audit-row"') == 1
    assert 'data-testid="pagination"' in first


def test_new_pages_are_linked_from_the_admin_nav_and_dashboard(client, admin):
    html = client.get("/admin/").get_data(as_text=True)
    for testid in ("release-link", "release-list-link", "protected-link", "dashboard-bulk-list",
                   "dashboard-release", "dashboard-protected"):
        assert f'data-testid="{testid}"' in html
