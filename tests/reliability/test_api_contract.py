"""The API's contract beyond what a fuzzer checks: the OpenAPI document (generated from the
declarations in web/api) lists every route and nothing else, every body and answer it documents
has a schema that resolves, and 405 answers say which methods are allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.reliability.conftest import USERS, prepare


@pytest.fixture
def contract_app(tmp_path: Path) -> Any:
    from engine.context import build_context
    from engine.settings import Settings
    from web import create_app

    prep = prepare(tmp_path, {}, users={**USERS, "root": ["admin"]})
    ctx = build_context(Settings(database_url=prep.url, secret_key=prep.secret))
    yield create_app(context=ctx), prep.tokens["root"]
    ctx.db.dispose()


def test_openapi_document_lists_every_api_route(contract_app: Any) -> None:
    """What the fuzzer cannot reach it cannot check: every /api/v1 route is documented, and
    nothing is documented that is not a route."""
    app, _ = contract_app
    documented = set()
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, ops in spec["paths"].items():
        for method in ops:
            documented.add((method.upper(), path))
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule[len("/api/v1"):]
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", "{" + name + "}").replace(
                f"<{name}>", "{" + name + "}")
        path = path.replace("{instance_id}", "{id}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    missing = sorted(routes - documented)
    assert not missing, f"routes missing from openapi.json: {missing}"
    assert not documented - routes, f"documented, but no such route: {documented - routes}"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [r for k, v in node.items() for r in ([v] if k == "$ref" else _refs(v))]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_documented_body_and_answer_has_a_schema(contract_app: Any) -> None:
    app, _ = contract_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    schemas = spec["components"]["schemas"]
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    prefix = "#/components/schemas/"
    dangling = {r for r in _refs(spec) if r.removeprefix(prefix) not in schemas}
    assert not dangling, dangling
    problems, names = [], []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            names.append(op.get("operationId"))
            if not op.get("summary"):
                problems.append(f"{where}: no summary")
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                ref = content.get("schema", {}).get("$ref", "")
                if not ref.startswith(prefix):
                    problems.append(f"{where}: body {media} is not a declared model")
                elif method == "get":
                    problems.append(f"{where}: a GET with a body")
            for status, answer in op["responses"].items():
                for media, content in answer.get("content", {}).items():
                    if "schema" not in content:
                        problems.append(f"{where} {status} {media}: no schema")
                    elif status.startswith("4") and content["schema"] != {"$ref": prefix + "Error"}:
                        problems.append(f"{where} {status}: not the Error shape")
            if "400" not in op["responses"]:
                problems.append(f"{where}: 400 (bad input) not documented")
            for parameter in op.get("parameters", []):
                if "schema" not in parameter:
                    problems.append(f"{where}: parameter {parameter['name']} has no schema")
    assert not problems, "\n".join(problems)
    assert len(names) == len(set(names)) and None not in names, "operationIds must be unique"


def test_method_not_allowed_says_what_is_allowed(contract_app: Any) -> None:
    app, token = contract_app
    r = app.test_client().open("/api/v1/healthz", method="DELETE",
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 405
    assert "GET" in r.headers.get("Allow", "")
