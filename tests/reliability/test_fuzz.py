"""Fuzzing the JSON API with schemathesis against `/api/v1/openapi.json`, in process through the
Flask app's WSGI interface, as an authenticated user (bearer token of an administrator who may
call everything): no 5xx, and every response matches the documented status codes, content
type and schema; a refused request (4xx) wrote nothing, and every instance stays readable.
Examples are bounded (30 per operation) and derandomized (the same examples on every run), so
the run takes about a minute and CI is stable. Hostile values schemathesis does not generate
(lone surrogates, NaN, deep nesting): test_fuzz_hostile.py."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from engine.store.tables import InstanceRecord
from tests.conftest import MODELS
from tests.reliability.conftest import APPROVAL3, USERS, prepare

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from engine.context import build_context
    from engine.settings import Settings
    from web import create_app

    tmp = tmp_path_factory.mktemp("fuzz")
    prep = prepare(tmp, {"rel3.bpmn": APPROVAL3, **{p.name: p.read_text()
                                                    for p in MODELS.iterdir()}},
                   users={**USERS, "root": ["admin"]})
    ctx = build_context(Settings(database_url=prep.url, secret_key=prep.secret))
    app = create_app(context=ctx)
    client = app.test_client()
    token = prep.tokens["root"]
    # something to find: a few instances with open tasks
    for _ in range(3):
        r = client.post("/api/v1/process-instances", json={"process": "rel3", "data": {}},
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201
    yield app, token, ctx
    ctx.db.dispose()


def _document() -> dict[str, Any]:
    from web.api.openapi import spec

    return spec()


# The document the server serves at /api/v1/openapi.json (built without a running app so the
# operations can be collected; the test below checks it is the one served). Requests go to the
# app through its WSGI interface (`app=`).
schema = schemathesis.openapi.from_dict(_document())


def test_the_fuzzed_document_is_the_served_one(fuzz_target: Any) -> None:
    app, _, _ = fuzz_target
    assert app.test_client().get("/api/v1/openapi.json").get_json() == _document()
    # (whether it documents every route: test_api_contract.py)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: Any, fuzz_target: Any) -> None:
    if case.path == "/auth/revoke":
        return  # would revoke the token every other test case uses
    app, token, ctx = fuzz_target
    before = _written(ctx)
    response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert _written(ctx) == before, (case.method, case.path, response.status_code)
    client = app.test_client()
    with ctx.sessions() as s:
        latest = s.scalars(select(InstanceRecord.id).order_by(InstanceRecord.id.desc())
                           .limit(3)).all()
    for instance_id in latest:
        r = client.get(f"/api/v1/process-instances/{instance_id}",
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, (instance_id, r.get_data()[:300])


def _written(ctx: Any) -> Any:
    """What a refused request must not have changed: instances (and their lock versions),
    tasks, audit log, model versions."""
    from engine.store.tables import AuditRecord, HumanTaskRow, ProcessVersionRecord

    with ctx.sessions() as s:
        return (
            tuple(s.execute(select(InstanceRecord.id, InstanceRecord.lock_version)
                            .order_by(InstanceRecord.id)).all()),
            s.scalar(select(func.count()).select_from(AuditRecord)),
            s.scalar(select(func.count()).select_from(HumanTaskRow)),
            s.scalar(select(func.count()).select_from(ProcessVersionRecord)),
        )
