"""撤回 withdraw a step one completed while nothing after it has been taken up (the step opens
again for its completer), 撤销 withdraw a whole instance by its initiator while nobody has acted
on it, and 终止 terminate an instance with a reason. `engine.read.withdrawable` is the cheap preview
of the step rule for the lists and the task page; `withdraw` has the last word.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.access import instance_for, require_task
from engine.bpmn import rewind
from engine.bpmn.runtime import find_task, run_steps
from engine.errors import Conflict
from engine.notify.notifications import publish
from engine.operations.returns import rewind_keeping_form
from engine.operations.shared import (
    audit_task,
    clean_text,
    require_bpmn_row,
    who_must_act,
)
from engine.store import instance_state as store
from engine.store.records_ops import LIVE_STATUSES, TaskDelegationRecord, TaskSignerRecord
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord
from engine.usecases import control, instances
from engine.usecases.acting import acting_on

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def _rows(session: Session, ids: list[str]) -> list[HumanTaskRow]:
    if not ids:
        return []
    return list(session.scalars(select(HumanTaskRow).where(HumanTaskRow.id.in_(ids))))


def _with_entries(session: Session, ids: list[str]) -> list[str]:
    """Those of these tasks somebody already took up by signing, adding signers or delegating."""
    if not ids:
        return []
    signed = session.scalars(
        select(TaskSignerRecord.parent_task_id).where(
            TaskSignerRecord.parent_task_id.in_(ids),
            or_(
                TaskSignerRecord.mode != "vote",
                TaskSignerRecord.status.in_(("approved", "rejected")),
            ),
        )
    )
    delegated = session.scalars(
        select(TaskDelegationRecord.task_id).where(TaskDelegationRecord.task_id.in_(ids))
    )
    return [*signed, *delegated]


def withdraw(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str, reason: str = ""
) -> InstanceRecord:
    """Take back a step one completed, while nothing after it has been acted on (no later step
    completed, claimed, delegated or signed). The step opens again for its completer, with its
    form as they submitted it."""
    task = require_task(session, actor, "withdraw", task_id)
    row, record = task.row, task.record
    require_bpmn_row(session, row)
    if row.status != "completed":
        raise Conflict(
            "只能撤回已完成的步骤 (only a completed step can be withdrawn)", {"status": row.status}
        )
    instances.require_active(record)
    reason = clean_text(reason, "reason")
    now = ctx.clock.now()
    with acting_on(ctx, session, record, actor.username) as act:
        task = find_task(act.workflow, row.id)
        if task is None or task.state != TaskState.COMPLETED:
            raise Conflict(
                "该步骤已无法撤回 (the step can no longer be withdrawn)", {"task_id": row.id}
            )
        plan = rewind.plan(act.workflow, task)
        done_later = plan.user_tasks(TaskState.COMPLETED)
        if done_later:
            raise Conflict(
                "后续步骤已处理，无法撤回 (a later step has already been acted on)",
                {"steps": [rewind.element_id(t) for t in done_later]},
            )
        live_ids = [str(t.id) for t in plan.user_tasks(TaskState.READY)]
        live_rows = _rows(session, live_ids)
        touched = [r.id for r in live_rows if r.claimed_at is not None]
        touched += _with_entries(session, live_ids)
        if touched:
            raise Conflict(
                "后续步骤已被认领或处理，无法撤回 (the next step has already been taken up)",
                {"tasks": sorted(set(touched))},
            )
        recipients: list[str] = []
        for r in live_rows:
            recipients += who_must_act(session, r)
        new_id = rewind_keeping_form(act.model, act.workflow, plan)
        owner = row.completed_by or actor.username
        act.assign[new_id] = owner
        audit_task(
            session,
            now,
            "task_withdrawn",
            actor,
            row,
            {
                "reason": reason,
                "new_task_id": new_id,
                "assigned_to": owner,
                "cancelled": [{"task_id": r.id, "element_id": r.element_id} for r in live_rows],
            },
        )
        act.result = run_steps(act.workflow, ctx.clock)
    publish(
        ctx,
        session,
        "withdrawn",
        {
            "task_id": new_id,
            "instance_id": record.id,
            "names": sorted({r.name for r in live_rows}),
            "users": recipients,
            "by": actor.username,
        },
    )
    return record


def withdraw_instance(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int, reason: str = ""
) -> InstanceRecord:
    """The initiator takes the whole submission back (撤销) while nobody has acted on it yet."""
    record = instance_for(session, actor, "withdraw", instance_id)
    if record.status in ("completed", "terminated"):
        raise Conflict("流程已结束 (instance already ended)", {"status": record.status})
    rows = list(session.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == record.id)))
    acted = [
        r.id
        for r in rows
        if r.status == "completed" or (r.status in LIVE_STATUSES and r.claimed_at is not None)
    ]
    ids = [r.id for r in rows]
    if ids:
        acted += list(
            session.scalars(
                select(TaskSignerRecord.parent_task_id).where(
                    TaskSignerRecord.parent_task_id.in_(ids), TaskSignerRecord.mode != "vote"
                )
            )
        )
        acted += list(
            session.scalars(
                select(TaskDelegationRecord.task_id).where(TaskDelegationRecord.task_id.in_(ids))
            )
        )
        acted += [
            r.parent_task_id
            for r in session.scalars(
                select(TaskSignerRecord).where(
                    TaskSignerRecord.parent_task_id.in_(ids),
                    TaskSignerRecord.status.in_(("approved", "rejected")),
                )
            )
        ]
    if acted:
        raise Conflict(
            "流程已有人处理，无法撤回 (someone has already acted on the instance)",
            {"tasks": sorted(set(acted))},
        )
    reason = clean_text(reason, "reason") or "发起人撤回 (withdrawn by the initiator)"
    live = [r for r in rows if r.status in LIVE_STATUSES]
    recipients: list[str] = []
    for r in live:
        recipients += who_must_act(session, r)
    now = ctx.clock.now()
    store.audit(
        session,
        now,
        "instance_withdrawn",
        instance_id=record.id,
        actor=actor.username,
        details={"reason": reason},
    )
    control.terminate(ctx, session, actor, instance_id, reason)
    publish(
        ctx,
        session,
        "withdrawn",
        {
            "instance_id": record.id,
            "names": sorted({r.name for r in live}),
            "users": recipients,
            "by": actor.username,
        },
    )
    return record


def terminate(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int, reason: str
) -> InstanceRecord:
    """`control.terminate`, with a reason required."""
    instance_for(session, actor, "terminate", instance_id)
    reason = clean_text(reason, "reason", required=True)
    return control.terminate(ctx, session, actor, instance_id, reason)



def reopened_step(session: Session, task_id: str) -> str | None:
    """The task a withdrawal of ``task_id`` reopened (the latest), if any."""
    details = session.scalar(
        select(AuditRecord.details)
        .where(AuditRecord.task_id == task_id, AuditRecord.action == "task_withdrawn")
        .order_by(AuditRecord.id.desc())
        .limit(1)
    )
    found = (details or {}).get("new_task_id")
    return str(found) if found else None
