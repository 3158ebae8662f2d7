"""`queries.get_instance` reads an instance's tasks (with candidate groups) in one statement and
its timers, incidents, documents and audit log in one UNION: the answer must still be what the
tables hold, in the documented order, on SQLite and PostgreSQL, with the same visibility rule.
An action's answer (``acted``) is the same but for the latest audit entries and tasks only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.context import EngineContext
from engine.errors import NotFound
from engine.people.accounts import Actor
from engine.read import queries
from engine.read.instance_detail import ACTION_AUDIT, ACTION_TASKS
from engine.store.db import transaction
from engine.store.tables import (
    AuditRecord,
    DocumentRecord,
    HumanTaskRow,
    IncidentRecord,
    InstanceRecord,
    TimerRow,
)
from engine.usecases import instances
from tests.engine.approval_helpers import start_with_history
from tests.sql_log import statements_run


def _expected(ctx: EngineContext, iid: int) -> dict[str, Any]:
    """The same answer read the long way: ORM rows, one query per table."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert record is not None
        tasks = s.scalars(
            select(HumanTaskRow).where(HumanTaskRow.instance_id == iid)
            .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
        ).all()
        iso = queries._iso
        audit = [
            {"id": a.id, "at": iso(a.at), "actor": a.actor, "action": a.action,
             "task_id": a.task_id, "element_id": a.element_id, "details": a.details}
            for a in s.scalars(select(AuditRecord).where(AuditRecord.instance_id == iid)
                               .order_by(AuditRecord.id))
        ]
        return {
            **queries.instance_dict(record),
            "data": record.data,
            "open_tasks": [queries.task_dict(t, now) for t in tasks if t.status == "open"],
            "tasks": [queries.task_dict(t, now) for t in tasks],
            "timers": [
                {"element_id": t.element_id, "kind": t.kind, "due_at": iso(t.due_at),
                 "task_id": t.task_id}
                for t in s.scalars(select(TimerRow).where(TimerRow.instance_id == iid)
                                   .order_by(TimerRow.due_at))
            ],
            "incidents": [
                {"id": i.id, "element_id": i.element_id, "task_id": i.task_id,
                 "message": i.message, "created_at": iso(i.created_at),
                 "resolved_at": iso(i.resolved_at)}
                for i in s.scalars(select(IncidentRecord).where(IncidentRecord.instance_id == iid)
                                   .order_by(IncidentRecord.id))
            ],
            "documents": [
                {"id": d.id, "doc_type": d.doc_type, "title": d.title,
                 "created_at": iso(d.created_at)}
                for d in s.scalars(select(DocumentRecord).where(DocumentRecord.instance_id == iid)
                                   .order_by(DocumentRecord.id))
            ],
            "audit": audit,
            "audit_total": len(audit),
            "tasks_total": len(tasks),
        }


def test_detail_is_what_the_tables_hold(ctx: EngineContext, staff: dict[str, Actor]) -> None:
    iid = start_with_history(ctx, staff)
    with transaction(ctx.sessions) as s:
        detail = queries.get_instance(ctx, s, staff["mgr"], iid)
    assert detail == _expected(ctx, iid)
    # Not vacuous: every part is there, in its order.
    assert [t["element_id"] for t in detail["timers"]] == ["soon", "late"]
    assert [i["message"] for i in detail["incidents"]] == ["boom", "again"]
    assert detail["incidents"][0]["resolved_at"] and detail["incidents"][1]["resolved_at"] is None
    assert [d["title"] for d in detail["documents"]] == ["《项目立项书》", "备忘"]
    assert detail["audit"][-1]["details"] == {"to": ["alice"], "n": 1}
    assert detail["audit"][-1]["at"].endswith("+00:00")  # aware, as the ORM returns it
    [task] = detail["open_tasks"]
    assert task["candidate_groups"] and task["created_at"]


def test_detail_reads_in_one_statement(ctx: EngineContext, staff: dict[str, Actor]) -> None:
    iid = start_with_history(ctx, staff)
    with transaction(ctx.sessions) as s:
        # As after a start or completion: the record is in hand (held: the map is weak).
        record = s.get(InstanceRecord, iid)
        assert record is not None
        with statements_run(ctx.db) as seen:
            queries.get_instance(ctx, s, staff["mgr"], iid)
    assert len(seen) == 1, seen
    assert "human_tasks" in seen[0] and "audit_log" in seen[0]


def _read(ctx: EngineContext, actor: Actor, iid: int, acted: bool) -> tuple[Any, list[str]]:
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)  # in hand, as after an action
        assert record is not None
        with statements_run(ctx.db) as seen:
            detail = queries.get_instance(ctx, s, actor, iid, latest=acted)
    return detail, seen


def test_an_actions_answer_is_the_detail_while_the_instance_is_young(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    iid = start_with_history(ctx, staff)
    detail, seen = _read(ctx, staff["mgr"], iid, acted=True)
    assert detail == _expected(ctx, iid)
    assert len(seen) == 1, seen  # nothing to count: fewer than the latest were there


def test_an_actions_answer_on_an_old_instance_is_the_latest_of_it(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    iid = start_with_history(ctx, staff)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as s:
        s.add_all([AuditRecord(instance_id=iid, at=now, actor="alice", action="data_changed",
                               details={"n": n}) for n in range(ACTION_AUDIT + 10)])
        s.add_all([HumanTaskRow(id=f"done-{n:03d}", instance_id=iid, model_key="approval_demo",
                                element_id="weekly", name=f"周报 {n}", status="completed",
                                created_at=now - timedelta(days=400 - n), completed_at=now)
                   for n in range(ACTION_TASKS + 5)])
    full = _expected(ctx, iid)
    detail, seen = _read(ctx, staff["mgr"], iid, acted=True)
    assert len(seen) == 2, seen  # the detail, then the totals it could not see
    assert detail["audit"] == full["audit"][-ACTION_AUDIT:]
    assert detail["audit_total"] == full["audit_total"] == ACTION_AUDIT + 10 + 3
    # the open task (the newest here) and the latest done ones, oldest first
    assert detail["tasks"] == full["tasks"][-ACTION_TASKS:]
    assert detail["tasks_total"] == full["tasks_total"] == ACTION_TASKS + 6
    assert detail["open_tasks"] == full["open_tasks"]
    assert {k: v for k, v in detail.items() if k not in ("audit", "tasks")} == {
        k: v for k, v in full.items() if k not in ("audit", "tasks")}
    # the instance's own read still has everything
    assert _read(ctx, staff["mgr"], iid, acted=False)[0] == full


@pytest.mark.parametrize(
    ("who", "sees"),
    [("alice", True), ("bob", True), ("mgr", True), ("owner", True), ("root", True),
     ("req", False), ("fin", False)],
)
def test_visibility_rule_unchanged(
    ctx: EngineContext, staff: dict[str, Actor], who: str, sees: bool
) -> None:
    """The initiator, a member of the task's candidate group, managers, process owners and
    admins see it; to staff strangers it does not exist (NotFound, as for an unknown id)."""
    iid = start_with_history(ctx, staff)
    with transaction(ctx.sessions) as s:
        if sees:
            assert queries.get_instance(ctx, s, staff[who], iid)["id"] == iid
        else:
            with pytest.raises(NotFound):
                queries.get_instance(ctx, s, staff[who], iid)


def test_whoever_completed_a_task_still_sees_the_instance(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    """bob (not the initiator) completes the first step; the review is offered to managers only,
    so bob sees the instance through the task he completed."""
    iid = start_with_history(ctx, staff)
    with transaction(ctx.sessions) as s:
        [task_id] = s.scalars(select(HumanTaskRow.id).where(HumanTaskRow.instance_id == iid))
        instances.claim(ctx, s, staff["bob"], task_id)
        instances.complete(ctx, s, staff["bob"], task_id, {"description": "budget"})
    with transaction(ctx.sessions) as s:
        detail = queries.get_instance(ctx, s, staff["bob"], iid)
    done = {t["id"]: t for t in detail["tasks"]}[task_id]
    assert (done["status"], done["completed_by"]) == ("completed", "bob")
    assert "bob" not in {t["assignee"] for t in detail["open_tasks"]}
