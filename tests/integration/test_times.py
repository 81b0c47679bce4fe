"""Times on pages: one rule, written once. Without JavaScript the server writes UTC and says so;
live.js shows the reader's own time with its zone and keeps UTC in the title
(tests/e2e/test_newcomer_pages.py checks the browser's side)."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from flask import render_template_string

from tests.factories import login, make_auction, make_user

ROOT = Path(__file__).resolve().parents[2]
MOMENT = datetime(2026, 12, 8, 14, 4, tzinfo=UTC)
EXPECTED = ('<time datetime="2026-12-08T14:04:00.000Z" title="Dec 8, 2026, 2:04 PM UTC" data-local-time>'
            'Dec 8, 2026, 2:04 PM UTC</time>')


def plain(html: str) -> str:
    """Babel puts a narrow no-break space before "PM"; compare with a plain one."""
    return html.replace("\u202f", " ")


def render(source: str, **values) -> str:
    """A template snippet rendered in a request, as pages are."""
    from flask import current_app

    with current_app.test_request_context("/"):
        return plain(render_template_string(source, **values))


def test_every_time_macro_writes_utc_saying_so_with_the_utc_text_in_the_title(app):
    ui = render('{% import "_macros.html" as ui with context %}{{ ui.when(v) }}', v="2026-12-08T14:04:00.000Z")
    assert ui == EXPECTED
    # A stored datetime, and the orders' and offers' macros, come out the same.
    assert render('{% import "_macros.html" as ui with context %}{{ ui.when(v) }}', v=MOMENT) == EXPECTED
    assert render('{% import "orders/_macros.html" as om with context %}{{ om.at(v) }}', v=MOMENT) == EXPECTED
    assert render('{% import "offers/_macros.html" as om with context %}{{ om.when(v) }}',
                  v="2026-12-08T14:04:00.000Z") == EXPECTED
    assert render('{% import "_macros.html" as ui with context %}{{ ui.when(v) }}', v=None) == "—"


def test_the_lot_page_shows_its_end_by_that_rule(client, app, clock):
    lot = make_auction(minutes=90)
    html = plain(client.get(f"/lots/{lot.id}").get_data(as_text=True))
    assert re.search(r'<time datetime="2026-06-01T13:30:00.000Z" title="Jun 1, 2026, 1:30 PM UTC" '
                     r'data-local-time>Jun 1, 2026, 1:30 PM UTC</time>', html)


def test_sentences_with_a_time_use_the_rule_too(client, app):
    from marketplace.extensions import db
    from marketplace.registry import DatabaseRegistry
    from marketplace.wiring import clock, sellers

    seller = make_user()
    DatabaseRegistry(db.session).create_account("timely", clock().now())
    db.session.commit()
    claim, _ = sellers().start_claim(seller, "timely")
    login(client, seller)
    html = plain(client.get(f"/seller/claims/{claim.id}").get_data(as_text=True))
    assert ('The code works until <time datetime="2026-06-02T12:00:00.000Z" title="Jun 2, 2026, 12:00 PM UTC" '
            'data-local-time>Jun 2, 2026, 12:00 PM UTC</time>.') in html


def test_there_is_one_piece_of_code_for_showing_times():
    """Templates make <time data-local-time> only in the ui.when macro; scripts format times only
    in live.js (formatTime/localizeTimes/timeElement), which every page script calls."""
    templates = {p.relative_to(ROOT).as_posix(): p.read_text() for p in (ROOT / "templates").rglob("*.html")}
    makers = sorted(name for name, text in templates.items() if "data-local-time" in text)
    assert makers == ["templates/_macros.html"], makers
    assert templates["templates/_macros.html"].count("data-local-time>") == 1
    # No template cuts an ISO string into a time of its own any more.
    assert not [name for name, text in templates.items() if re.search(r"\[11:16\]", text)]
    scripts = {p.name: p.read_text() for p in (ROOT / "static" / "js").glob("*.js")}
    with_zone = sorted(name for name, text in scripts.items() if "timeZoneName" in text)
    assert with_zone == ["live.js"], with_zone
    assert not [name for name, text in scripts.items()
                if name != "live.js" and 'createElement("time")' in text]
    # Only the price chart's axis ticks (times of day along one axis) format dates elsewhere.
    assert sorted(n for n, text in scripts.items() if "DateTimeFormat" in text) == ["live.js", "price_chart.js"]
