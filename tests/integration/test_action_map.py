"""docs/actions.md, the action → API route → page → browser test table, held to the app: every
state-changing API route has a row, every route a row names exists with that method, and every
browser test a row names exists. A new API action without its page and its test fails here."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "actions.md"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")
TEST = re.compile(r"`(tests/e2e/[\w/]+\.py)::(\w+)`")


def shape(path: str) -> str:
    """A path with its parameters blanked: `/lots/<int:lot_id>` and `/lots/<id>` are one route."""
    return re.sub(r"<[^>]+>", "<>", path)


def spelled_out(rule: str) -> list[str]:
    """A rule's paths with each `<any(a, b):name>` written out (`/offers/<id>/accept`, …)."""
    match = re.search(r"<any\(([^)]*)\):\w+>", rule)
    if match is None:
        return [rule]
    return [path for word in match.group(1).split(",")
            for path in spelled_out(rule[:match.start()] + word.strip() + rule[match.end():])]


def rows() -> list[dict]:
    """The table's rows: their API routes, page routes and browser tests."""
    found = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 4 or cells[0] in ("Action", "---") or set(cells[0]) <= {"-"}:
            continue
        action, api, page, test = cells
        found.append({"action": action, "api": ROUTE.findall(api), "page": ROUTE.findall(page),
                      "tests": TEST.findall(test), "api_cell": api})
    return found


@pytest.fixture(scope="module")
def routes():
    """(METHOD, path shape) of every route the app serves."""
    from tests.support import make_app

    app = make_app("sqlite://")
    return {(method, shape(path)) for rule in app.url_map.iter_rules() for path in spelled_out(rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_the_table_has_rows():
    table = rows()
    assert len(table) >= 20
    for row in table:
        assert row["page"], f"{row['action']}: no page route"
        assert row["tests"], f"{row['action']}: no browser test"
        assert row["api"] or row["api_cell"] == "—", f"{row['action']}: the API cell is neither routes nor —"


def test_every_state_changing_api_route_has_a_row(routes):
    listed = {(method, shape(path)) for row in rows() for method, path in row["api"]}
    missing = sorted(f"{method} {path}" for method, path in routes
                     if method in WRITES and path.startswith("/api/v1/") and (method, path) not in listed)
    assert not missing, "API actions with no page and browser test in docs/actions.md:\n" + "\n".join(missing)


def test_every_route_the_table_names_exists(routes):
    unknown = sorted(f"{row['action']}: {method} {path}" for row in rows() for method, path in row["api"] + row["page"]
                     if (method, shape(path)) not in routes)
    assert not unknown, "docs/actions.md names routes the app does not have:\n" + "\n".join(unknown)


def test_every_browser_test_the_table_names_exists():
    defined: dict[str, set[str]] = {}
    missing = []
    for row in rows():
        for file, name in row["tests"]:
            if file not in defined:
                source = ROOT / file
                defined[file] = {node.name for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
                                 if isinstance(node, ast.FunctionDef)} if source.exists() else set()
            if name not in defined[file] or not name.startswith("test_"):
                missing.append(f"{row['action']}: {file}::{name}")
    assert not missing, "docs/actions.md names browser tests that do not exist:\n" + "\n".join(missing)
