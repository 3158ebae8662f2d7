"""Shared helpers for the task operation page tests (tests/web/test_task_ops_*.py; their `ctx`
fixture is tests.web.staff_helpers's): calling the engine as a user, reading task rows, audit
entries and signers, instances brought to 提交说明 or 经理审批, posting a page's form with its
CSRF token, and the operations a task page offers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from engine.context import EngineContext
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.records_ops import TaskSignerRecord
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord
from engine.usecases import instances
from tests.pages import csrf
from tests.web.staff_helpers import start


def engine_call(ctx: EngineContext, fn: Callable[..., Any], username: str, *args: Any) -> Any:
    with transaction(ctx.sessions) as s:
        return fn(ctx, s, actor_for(s, username), *args)


def rows(ctx: EngineContext, instance_id: int, status: str | None = "open") -> list[HumanTaskRow]:
    with transaction(ctx.sessions) as s:
        q = select(HumanTaskRow).where(HumanTaskRow.instance_id == instance_id)
        if status:
            q = q.where(HumanTaskRow.status == status)
        return list(s.scalars(q.order_by(HumanTaskRow.created_at, HumanTaskRow.id)))


def row(ctx: EngineContext, task_id: str) -> HumanTaskRow:
    with transaction(ctx.sessions) as s:
        return s.get(HumanTaskRow, task_id)


def by_element(
    ctx: EngineContext, instance_id: int, element: str, status: str = "open"
) -> HumanTaskRow:
    found = [r for r in rows(ctx, instance_id, status) if r.element_id == element]
    assert len(found) == 1, [(r.element_id, r.status, r.assignee) for r in rows(ctx, instance_id)]
    return found[0]


def audits(ctx: EngineContext, instance_id: int, action: str) -> list[AuditRecord]:
    with transaction(ctx.sessions) as s:
        return list(
            s.scalars(
                select(AuditRecord).where(
                    AuditRecord.instance_id == instance_id, AuditRecord.action == action
                )
            )
        )


def signers(ctx: EngineContext, task_id: str) -> list[TaskSignerRecord]:
    with transaction(ctx.sessions) as s:
        return list(
            s.scalars(
                select(TaskSignerRecord)
                .where(TaskSignerRecord.parent_task_id == task_id)
                .order_by(TaskSignerRecord.id)
            )
        )


def instance_status(ctx: EngineContext, instance_id: int) -> str:
    with transaction(ctx.sessions) as s:
        return s.get(InstanceRecord, instance_id).status


def claimed_submit(
    ctx: EngineContext, username: str = "alice", amount: int = 5000
) -> tuple[int, str]:
    """An instance started by alice whose 提交说明 step `username` has claimed."""
    iid = start(ctx, amount=amount)
    tid = by_element(ctx, iid, "submit").id
    engine_call(ctx, instances.claim, username, tid)
    return iid, tid


def at_review(ctx: EngineContext, claim_by: str | None = "mgr") -> tuple[int, str, str]:
    """alice submitted 提交说明; 经理审批 is open (claimed by `claim_by`)."""
    iid, submit_id = claimed_submit(ctx)
    engine_call(ctx, instances.complete, "alice", submit_id, {"description": "方案说明"})
    review = by_element(ctx, iid, "review").id
    if claim_by:
        engine_call(ctx, instances.claim, claim_by, review)
    return iid, submit_id, review


def post(client: Any, path: str, data: dict[str, Any] | None = None, token: bool = True) -> Any:
    body = dict(data or {})
    if token:
        body["csrf_token"] = csrf(client)
    return client.post(path, data=body)


OPS_URL = re.compile(r'action="/tasks/([^/"]+)/([a-z-]+)"')


def offered(page: str, task_id: str) -> set[str]:
    """The operations the page offers for this task (the form actions under /tasks/<id>/)."""
    return {op for tid, op in OPS_URL.findall(page) if tid == task_id} - {"claim", "unclaim"}
