"""Small helpers shared by the ops tests (engine level, one transaction per call)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.context import EngineContext
from engine.people.accounts import Actor
from engine.store.db import transaction
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord
from engine.usecases import instances


def run(ctx: EngineContext, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with transaction(ctx.sessions) as session:
        return fn(ctx, session, *args, **kwargs)


def start(ctx: EngineContext, actor: Actor, key: str, data: dict[str, Any]) -> int:
    with transaction(ctx.sessions) as s:
        return instances.start(ctx, s, actor, key, data).id


def tasks(ctx: EngineContext, instance_id: int, status: str | None = "open") -> list[HumanTaskRow]:
    with transaction(ctx.sessions) as s:
        q = select(HumanTaskRow).where(HumanTaskRow.instance_id == instance_id)
        if status is not None:
            q = q.where(HumanTaskRow.status == status)
        rows = s.scalars(q.order_by(HumanTaskRow.created_at, HumanTaskRow.id)).all()
        for r in rows:
            _ = r.candidate_groups
        return list(rows)


def by_element(
    ctx: EngineContext, instance_id: int, element: str, status: str | None = "open"
) -> HumanTaskRow:
    found = [t for t in tasks(ctx, instance_id, status) if t.element_id == element]
    assert len(found) == 1, [(t.element_id, t.status, t.assignee) for t in found]
    return found[0]


def open_elements(ctx: EngineContext, instance_id: int) -> list[str]:
    return sorted(t.element_id for t in tasks(ctx, instance_id))


def audit(ctx: EngineContext, instance_id: int, action: str | None = None) -> list[AuditRecord]:
    with transaction(ctx.sessions) as s:
        q = select(AuditRecord).where(AuditRecord.instance_id == instance_id)
        if action:
            q = q.where(AuditRecord.action == action)
        return list(s.scalars(q.order_by(AuditRecord.id)))


def instance(ctx: EngineContext, instance_id: int) -> InstanceRecord:
    with transaction(ctx.sessions) as s:
        return s.get(InstanceRecord, instance_id)


def complete(ctx: EngineContext, actor: Actor, task_id: str, data: dict[str, Any] | None = None):
    with transaction(ctx.sessions) as s:
        return instances.complete(ctx, s, actor, task_id, data or {})


HANDLE_DATA = {"summary": "已办理", "amount": 100}
