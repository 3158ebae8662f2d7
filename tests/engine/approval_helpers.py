"""approval_demo instances for the engine's tests: one with some of everything its detail
shows (documents, incidents, timers, audit entries), one whose first step is done."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.context import EngineContext
from engine.people.accounts import Actor
from engine.store.db import transaction
from engine.store.tables import (
    AuditRecord,
    DocumentRecord,
    HumanTaskRow,
    IncidentRecord,
    TimerRow,
)
from engine.usecases import instances
from tests.conftest import deploy_fixture


def start_with_history(ctx: EngineContext, staff: dict[str, Actor]) -> int:
    """An approval with two documents, a resolved and an open incident, two timers (inserted
    latest-due first) and an extra audit entry with nested details."""
    deploy_fixture(ctx)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, staff["alice"], "approval_demo", {"title": "品牌周", "amount": 5000}
        ).id
    with transaction(ctx.sessions) as s:
        [task_id] = s.scalars(select(HumanTaskRow.id).where(HumanTaskRow.instance_id == iid))
        s.add_all([
            DocumentRecord(instance_id=iid, doc_type="charter", title="《项目立项书》",
                           content_md="# x", created_at=now),
            DocumentRecord(instance_id=iid, doc_type="memo", title="备忘", content_md="y",
                           created_at=now + timedelta(minutes=1)),
            IncidentRecord(instance_id=iid, task_id=task_id, element_id="svc", message="boom",
                           created_at=now, resolved_at=now + timedelta(hours=1)),
            IncidentRecord(instance_id=iid, task_id=None, element_id=None, message="again",
                           created_at=now + timedelta(hours=2)),
            TimerRow(instance_id=iid, task_id=task_id, element_id="late", kind="timer",
                     due_at=now + timedelta(days=3)),
            TimerRow(instance_id=iid, task_id=task_id, element_id="soon", kind="cycle",
                     due_at=now + timedelta(days=1)),
            AuditRecord(instance_id=iid, at=now, actor="mgr", action="remind", task_id=task_id,
                        element_id="submit", details={"to": ["alice"], "n": 1}),
        ])
    return iid


def first_step_done(ctx: EngineContext, staff: dict[str, Actor]) -> tuple[int, str]:
    """An approval_demo instance whose first step alice completed, each step its own
    transaction: its id and that step's task id (the next, the manager's review, is offered
    to the planning_manager group)."""
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        instance_id = instances.start(ctx, s, staff["alice"], "approval_demo",
                                      {"title": "预算", "amount": 5000}).id
    with transaction(ctx.sessions) as s:
        [first] = s.scalars(select(HumanTaskRow.id).where(HumanTaskRow.instance_id == instance_id))
    with transaction(ctx.sessions) as s:
        instances.complete(ctx, s, staff["alice"], first, {"description": "b"})
    return instance_id, first
