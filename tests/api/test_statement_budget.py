"""SQL statements per API request for the hot path (start an instance, complete its tasks).

Each statement costs far more in SQLAlchemy than in the database (bench/api_cost.py), so the
count is what keeps the service near the engine's own speed. The budgets are the counts measured
when they were set, with no margin: a change that adds one read or write to every request fails
here and has to say why (and raise the budget) rather than slip in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from engine.context import EngineContext
from tests.conftest import PASSWORD, deploy_fixture, make_staff

MARGIN = 0
# Measured on SQLite. Before the budget existed: 28 / 38 / 34; 21 / 22 / 19 before a save wrote
# its audit entries in one INSERT, probed absences once and stopped looking up names for robots
# that are not configured; 18 / 19 / 16 before the answer (queries.get_instance) read
# tasks+groups in one statement and history in one UNION; 14 / 15 / 12 before a completion
# asked its timers, task operations and absences in one probe (store.instance_probe), the bell
# rows went in as one executemany and start read the model's live version in one statement;
# 12 / 13 / 10 before the answer read tasks and history in one UNION
# (engine.read.instance_detail) and the save's probe named the live task rows (the
# projection takes them from the session instead of reading them again); 11 / 11 / 8 before a
# start read whether anyone is away with the model's version, a group task's bell rows went in
# as one INSERT … SELECT from its members, and a completion closed its task and inserted the
# next in one upsert (engine.store.task_projection._write); 9 / 9 / 8 before a completion asked
# its probe's questions as columns of the task's own read (instance_probe.ABOUT_THE_INSTANCE).
MEASURED = {"start": 9, "complete": 8, "complete_last": 7}


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.seen.append(" ".join(statement.split())[:120])


@pytest.fixture
def api(ctx: EngineContext) -> Iterator[tuple[Any, Statements]]:
    from web import create_app

    make_staff(ctx)
    deploy_fixture(ctx)
    log = Statements()
    event.listen(ctx.db, "before_cursor_execute", log)
    yield create_app({"TESTING": True}, context=ctx).test_client(), log
    event.remove(ctx.db, "before_cursor_execute", log)


def _token(client: Any, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _run_instance(client: Any, alice: dict[str, str], mgr: dict[str, str], log: Statements,
                  counts: dict[str, list[str]]) -> None:
    def post(kind: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        log.seen.clear()
        r = client.post(path, headers=headers, json=body)
        assert r.status_code in (200, 201), r.get_json()
        counts[kind] = list(log.seen)
        return r.get_json()

    inst = post("start", "/api/v1/process-instances", alice,
                {"process": "approval_demo", "data": {"title": "预算", "amount": 5000}})
    [task] = inst["open_tasks"]
    reply = post("complete", f"/api/v1/tasks/{task['id']}/complete", alice,
                 {"data": {"description": "budget"}})
    [review] = reply["instance"]["open_tasks"]
    reply = post("complete_last", f"/api/v1/tasks/{review['id']}/complete", mgr,
                 {"data": {"decision": "approve"}})
    # approved: a service task, then the 1-hour cooling-off timer
    assert reply["instance"]["status"] == "waiting"
    assert [t["status"] for t in reply["instance"]["tasks"]] == ["completed", "completed"]
    assert [t["element_id"] for t in reply["instance"]["timers"]] == ["wait"]


def test_start_and_complete_stay_within_their_statement_budget(api: tuple[Any, Statements]):
    client, log = api
    alice, mgr = _token(client, "alice"), _token(client, "mgr")
    counts: dict[str, list[str]] = {}
    _run_instance(client, alice, mgr, log, counts)  # warm-up: the model is read and parsed once
    _run_instance(client, alice, mgr, log, counts)
    over = {
        kind: len(seen)
        for kind, seen in counts.items()
        if len(seen) > MEASURED[kind] + MARGIN
    }
    assert not over, (over, {k: counts[k] for k in over})


def test_the_budget_counts_what_a_request_runs(api: tuple[Any, Statements]):
    """The counter sees the request's statements (a budget over an empty list would pass)."""
    client, log = api
    alice = _token(client, "alice")
    log.seen.clear()
    r = client.post("/api/v1/process-instances", headers=alice,
                    json={"process": "approval_demo", "data": {"title": "x", "amount": 1}})
    assert r.status_code == 201
    assert any(s.startswith("INSERT INTO process_instances") for s in log.seen)
    assert any(s.startswith("INSERT INTO human_tasks") for s in log.seen)
    assert len(log.seen) >= 10
