"""The department's scenarios run four ways: SQLite and PostgreSQL (the root `ctx` fixture's
`backend`), each *warm* (one long-lived context, as one server process) and *cold*: every
action — a request, a timer tick — runs in `engine.context.renewed(ctx)`, a new spec cache,
serializer and script environment restoring the instance from the database, as a restarted
server, the CLI or another worker would. Both must reach the same states, data, documents and
audit events (issue: restore-equivalence)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine.context import EngineContext
from engine.people.accounts import Actor
from engine.store.db import transaction
from engine.store.tables import (
    AuditRecord,
    DocumentRecord,
    HumanTaskRow,
    IncidentRecord,
    InstanceRecord,
    TimerRow,
)
from tests.conftest import make_staff
from tests.scenarios import ColdContext, cold_copy, renewed_if_cold


@pytest.fixture(params=["warm", "cold"])
def engine_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def scenario_ctx(ctx: EngineContext, engine_mode: str) -> EngineContext:
    return cold_copy(ctx) if engine_mode == "cold" else ctx


@pytest.fixture
def app(scenario_ctx: EngineContext) -> Any:
    from web import create_app

    app = create_app({"TESTING": True}, context=scenario_ctx)
    if isinstance(scenario_ctx, ColdContext):

        def renew() -> None:
            app.extensions["planflow"] = renewed_if_cold(scenario_ctx)

        # First of all before-request hooks: authentication reads the context too.
        app.before_request_funcs.setdefault(None, []).insert(0, renew)
    return app


@pytest.fixture
def api_staff(scenario_ctx: EngineContext) -> dict[str, Actor]:
    return make_staff(scenario_ctx)


# --- warm and cold must end the same ----------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_outcomes: dict[tuple[str, str], Any] = {}


def _scrub(value: Any) -> Any:
    """Task ids are random UUIDs in each run: compare everything else."""
    return json.loads(_UUID.sub("<task>", json.dumps(value, ensure_ascii=False, default=str)))


def outcome(ctx: EngineContext) -> dict[str, Any]:
    """What a run leaves: every instance's status and data, the documents, the human tasks and
    the audit trail (in order), the timers still waiting and the incidents."""
    with transaction(ctx.sessions) as s:
        def rows(model: Any, *columns: str, ordered: bool = False) -> list[Any]:
            """As a list in id order where ids are a sequence (`ordered`), else as a sorted
            list: task and timer ids are random UUIDs."""
            found = [{c: getattr(r, c) for c in columns} for r in s.scalars(select(model))]
            if ordered:
                return found
            return sorted(found, key=lambda r: json.dumps(r, sort_keys=True, default=str))

        return _scrub(
            {
                "instances": rows(
                    InstanceRecord, "model_key", "status", "data", "title", ordered=True
                ),
                "documents": rows(DocumentRecord, "instance_id", "doc_type", "title", "content_md"),
                "tasks": rows(
                    HumanTaskRow, "instance_id", "element_id", "name", "status", "assignee",
                    "due_at", "completed_by",
                ),
                "audit": rows(
                    AuditRecord, "instance_id", "at", "actor", "action", "element_id", "details",
                    ordered=True,
                ),
                "timers": rows(TimerRow, "instance_id", "element_id", "due_at"),
                "incidents": rows(IncidentRecord, "instance_id", "element_id", "message"),
            }
        )


@pytest.fixture(autouse=True)
def same_outcome_warm_and_cold(
    request: pytest.FixtureRequest, scenario_ctx: EngineContext, engine_mode: str, backend: str
) -> Iterator[None]:
    """After each scenario, compare its outcome with the other mode's run of the same test on
    the same database (whichever ran second does the comparison)."""
    yield
    if request.node.rep_call is None or not request.node.rep_call.passed:
        return
    marker = request.node.get_closest_marker("compare_outcome_warm_and_cold")
    if marker is not None and marker.args and not marker.args[0]:
        return
    name = request.node.originalname
    mine = outcome(scenario_ctx)
    other = _outcomes.pop((name, backend), None)
    if other is None:
        _outcomes[(name, backend)] = mine
        return
    for part in mine:
        if mine[part] != other[part]:
            diff = [(a, b) for a, b in zip(mine[part], other[part], strict=False) if a != b][:1]
            detail = [
                {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
                if isinstance(a, dict) and isinstance(b, dict) else (a, b)
                for a, b in diff
            ]
            raise AssertionError(f"{name} [{backend}]: {part} differ warm vs cold: {detail}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    elif report.when == "setup":
        item.rep_call = None  # type: ignore[attr-defined]
    return report
