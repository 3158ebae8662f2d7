"""The API's contract beyond what a fuzzer checks: the OpenAPI document lists every route, and
405 answers say which methods are allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
    """What the fuzzer cannot reach it cannot check: every /api/v1 route is documented."""
    app, _ = contract_app
    documented = set()
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, ops in spec["paths"].items():
        for method in ops:
            documented.add((method.upper(), path))
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
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


def test_method_not_allowed_says_what_is_allowed(contract_app: Any) -> None:
    app, token = contract_app
    r = app.test_client().open("/api/v1/healthz", method="DELETE",
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 405
    assert "GET" in r.headers.get("Allow", "")
