"""An action's answer (a start, a completion, a suspension...) carries the instance with only
the latest `ACTION_AUDIT` audit entries, its live tasks with the latest `ACTION_TASKS`, and
`audit_total` / `tasks_total`, so its cost does not grow with the instance's age; the
instance's own read (GET) still has everything. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from engine.context import EngineContext
from engine.read.instance_detail import ACTION_AUDIT, ACTION_TASKS
from engine.store.db import transaction
from engine.store.tables import AuditRecord, HumanTaskRow
from tests.conftest import PASSWORD, deploy_fixture, make_staff


@pytest.fixture
def client(ctx: EngineContext) -> Any:
    from web import create_app

    make_staff(ctx)
    deploy_fixture(ctx)
    return create_app({"TESTING": True}, context=ctx).test_client()


def _token(client: Any, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _start(client: Any, alice: dict[str, str]) -> dict[str, Any]:
    body = {"process": "approval_demo", "data": {"title": "两年项目", "amount": 5000}}
    r = client.post("/api/v1/process-instances", headers=alice, json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _age(ctx: EngineContext, instance_id: int, entries: int) -> None:
    """What two years of weekly reports leave in an instance's audit log."""
    with transaction(ctx.sessions) as s:
        s.execute(AuditRecord.__table__.insert(), [
            {"instance_id": instance_id, "at": ctx.clock.now(), "actor": "alice",
             "action": "data_changed", "details": {"week": week}}
            for week in range(entries)
        ])


def _weekly_tasks(ctx: EngineContext, instance_id: int, tasks: int) -> None:
    """Done weekly-report tasks, all created after the instance's open task (so that this one
    is not among the latest: it must be answered for being live)."""
    later = ctx.clock.now() + timedelta(days=1)
    with transaction(ctx.sessions) as s:
        s.execute(HumanTaskRow.__table__.insert(), [
            {"id": str(uuid.uuid4()), "instance_id": instance_id, "model_key": "approval_demo",
             "element_id": "weekly_report", "name": f"第 {week} 周周报", "status": "completed",
             "assignee": "alice", "created_at": later + timedelta(hours=week),
             "completed_at": later + timedelta(hours=week), "completed_by": "alice"}
            for week in range(tasks)
        ])


def test_a_young_instance_answers_its_whole_log(client: Any) -> None:
    alice = _token(client, "alice")
    started = _start(client, alice)
    assert 0 < len(started["audit"]) < ACTION_AUDIT
    assert started["audit_total"] == len(started["audit"])
    shown = client.get(f"/api/v1/process-instances/{started['id']}", headers=alice).get_json()
    assert shown["audit"] == started["audit"] and shown["audit_total"] == len(shown["audit"])
    assert shown["tasks"] == started["tasks"] and started["tasks_total"] == 1


def test_an_old_instance_answers_its_latest_entries_and_how_many_there_are(
    client: Any, ctx: EngineContext
) -> None:
    alice, root = _token(client, "alice"), _token(client, "root")
    started = _start(client, alice)
    _age(ctx, started["id"], 3 * ACTION_AUDIT)
    _weekly_tasks(ctx, started["id"], 3 * ACTION_TASKS)
    [task] = started["open_tasks"]
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=alice,
                    json={"data": {"description": "第 104 周"}})
    assert r.status_code == 200, r.get_json()
    answered = r.get_json()["instance"]

    shown = client.get(f"/api/v1/process-instances/{started['id']}", headers=alice).get_json()
    everything = shown["audit"]
    assert len(everything) > 3 * ACTION_AUDIT and shown["audit_total"] == len(everything)
    # the latest entries, oldest first as in the full log, ending with the completion's own
    assert answered["audit"] == everything[-ACTION_AUDIT:]
    assert answered["audit_total"] == len(everything)
    assert "task_completed" in [a["action"] for a in answered["audit"]]
    # the live task (created before every weekly report) and the latest 50 reports
    all_tasks = shown["tasks"]
    assert len(all_tasks) == 3 * ACTION_TASKS + 2 and shown["tasks_total"] == len(all_tasks)
    assert answered["tasks_total"] == len(all_tasks)
    [review] = answered["open_tasks"]
    assert answered["open_tasks"] == shown["open_tasks"]
    assert answered["tasks"] == [review, *all_tasks[-ACTION_TASKS:]]

    # every action answers so: here a suspension by the administrator
    r = client.post(f"/api/v1/process-instances/{started['id']}/suspend", headers=root, json={})
    assert r.status_code == 200, r.get_json()
    suspended = r.get_json()
    assert len(suspended["audit"]) == ACTION_AUDIT
    assert suspended["audit_total"] == len(everything) + 1
    assert suspended["audit"][-1]["action"] == "suspended"
