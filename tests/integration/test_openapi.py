"""docs/openapi.yaml describes the JSON API as the app serves it: every route, and nothing else."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import make_app

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def api_routes(tmp_path_factory) -> dict[tuple[str, str], str]:
    """(method, path as OpenAPI spells it) → endpoint, for every rule under /api/v1."""
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'unused.db'}")
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes[(method.lower(), path)] = rule.endpoint
    return routes


def described(document) -> dict[tuple[str, str], dict]:
    return {(method, path): operation for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS}


def test_every_api_route_is_described_and_nothing_else(document, api_routes):
    assert document["servers"] == [{"url": "/api/v1"}]
    assert sorted(described(document)) == sorted(api_routes)


def test_each_operation_id_is_its_view_and_path_ids_are_integers(document, api_routes):
    for key, operation in described(document).items():
        assert f"api.{operation['operationId']}" == api_routes[key], key
    for path, item in document["paths"].items():
        for name in re.findall(r"{([a-z_]+)}", path):
            params = [p for p in item.get("parameters", []) + [
                p for m in METHODS & set(item) for p in item[m].get("parameters", [])]]
            resolved = [document["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                        for p in params]
            [param] = [p for p in resolved if p["name"] == name and p["in"] == "path"]
            assert param["required"] and param["schema"]["type"] == "integer", (path, name)


def test_every_ref_resolves_and_every_refusal_has_the_error_shape(document):
    text = OPENAPI.read_text(encoding="utf-8")
    for ref in set(re.findall(r'\$ref: "#/([^"]+)"', text)):
        node = document
        for part in ref.split("/"):
            node = node[part]
    for (method, path), operation in described(document).items():
        assert operation.get("responses"), (method, path)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["$ref"].startswith("#/components/responses/"), (method, path, status)
    for response in document["components"]["responses"].values():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_description_is_served_as_json(app, client, document):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    assert response.get_json() == document
