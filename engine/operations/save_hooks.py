"""What `engine.store.instance_state._sync_tasks` asks planflow's task operations at every save.

* `guard_completions`: a BPMN user task may complete only when planflow's rules allow it (no
  active delegation, no signature still due). Operations that satisfy the rules complete through
  `engine.operations`; anything else trying to complete such a task (e.g. the plain complete use
  case) is refused with Conflict and its transaction rolls back.
* `has_task_operations`: whether an instance ever had signers, delegations or submissions; when
  not (the common case) the other checks here have nothing to find and are skipped.
* `managed_task_ids`: projection rows planflow created itself (加签 / 会签 steps). They are not
  SpiffWorkflow tasks, so the sync must not cancel them for not being READY.
* `after_sync`: rows that just closed take their signers/delegation/submission with them; new
  rows get a vote set up (signMode), are routed around absent users (A/B roles), and their
  assignees are notified; a completed instance notifies its initiator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    and_,
    delete,
    literal,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.operations.vote_setup import open_vote
from engine.store import instance_probe
from engine.store.held_audits import HeldAudits
from engine.store.records_ops import (
    TaskDelegationRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
    is_live,
)
from engine.store.tables import HumanTaskRow, InstanceRecord, TaskValues
from engine.store.task_projection import attach

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.bpmn.specs import ParsedModel
    from engine.context import EngineContext

log = logging.getLogger("planflow.ops")

OPEN_SIGNER = ("pending", "open", "rejected")


def has_task_operations(session: Session, instance_id: int) -> bool:
    """Whether the instance ever had a signer, delegation or held submission (the rule and its
    one probe: `engine.store.instance_probe`)."""
    return instance_probe.has_task_operations(session, instance_id)


def with_task_operations(session: Session, instance_ids: list[int]) -> set[int]:
    """`has_task_operations` for a whole batch in one query (the timer worker wakes many
    instances per transaction; most never had an operation): the ids that have any."""
    return set(
        session.scalars(
            union(
                *(
                    select(record.instance_id).where(record.instance_id.in_(instance_ids))
                    for record in instance_probe.OPERATION_RECORDS
                )
            )
        )
    )


def guard_completions(session: Session, completed: Mapping[str, str]) -> None:
    if not completed:
        return
    ids = list(completed)
    delegated = session.scalar(
        select(TaskDelegationRecord.task_id)
        .where(TaskDelegationRecord.task_id.in_(ids), TaskDelegationRecord.status == "active")
        .limit(1)
    )
    if delegated is not None:
        raise Conflict(
            "任务已委派，需由被委派人办理后交还 (the task is delegated: the delegate must resolve "
            "it and hand it back first)",
            {"task_id": delegated},
        )
    waiting = session.scalar(
        select(TaskSignerRecord.parent_task_id)
        .where(
            TaskSignerRecord.parent_task_id.in_(ids),
            or_(
                TaskSignerRecord.status.in_(("pending", "open")),
                and_(TaskSignerRecord.status == "rejected", TaskSignerRecord.mode != "vote"),
            ),
        )
        .limit(1)
    )
    if waiting is not None:
        raise Conflict(
            "该任务还有加签/会签未完成，请通过提交操作处理 (signatures are still due on this task: "
            "submit it through the task operations)",
            {"task_id": waiting},
        )


def managed_task_ids(session: Session, instance_id: int) -> set[str]:
    return set(
        session.scalars(
            select(TaskSignerRecord.step_task_id).where(
                TaskSignerRecord.instance_id == instance_id,
                TaskSignerRecord.step_task_id.is_not(None),
            )
        )
    )


def after_sync(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    model: ParsedModel,
    created: list[TaskValues],
    closed: list[HumanTaskRow],
    now: datetime,
    *,
    ops: bool = True,
    assign: Mapping[str, str],
    held: HeldAudits,
    groups: Mapping[str, list[str]],
    to_route: bool | None = None,
) -> None:
    """`ops=False`: the instance has no signers/delegations/submissions (has_task_operations),
    so closing rows has nothing of planflow's to take along; ``to_route``: see SaveHooks."""
    from engine.notify.notifications import publish
    from engine.people import handover

    if closed and ops:
        close_planflow_steps(session, [r.id for r in closed], now)
    plain: list[TaskValues] = []
    voting: list[HumanTaskRow] = []
    for task in created:
        step = model.steps.get(task.element_id)
        sign_mode = (step.properties.get("signMode") if step else None) or ""
        if sign_mode.strip():
            row = attach(session, task)  # a vote holds it: changed below
            if open_vote(session, record, workflow, row, step, now, held):
                voting.append(row)
                continue
        plain.append(task)
    if created:
        held.flush()  # the save's audit entries wait for its one INSERT
    handed_over = handover.apply_for_instance(ctx, session, record, now, to_route)
    for row in plain:
        if row.id in assign or row.id in handed_over:
            continue  # 退回/撤回 and handovers send their own message
        publish(
            ctx,
            session,
            "task_assigned",
            {
                "task_id": row.id,
                "instance_id": record.id,
                "name": row.name,
                "assignee": row.assignee,
                "groups": list(groups.get(row.id, ())),
            },
        )
    for row in voting:
        votes = session.scalars(
            select(HumanTaskRow)
            .join(TaskSignerRecord, TaskSignerRecord.step_task_id == HumanTaskRow.id)
            .where(TaskSignerRecord.parent_task_id == row.id)
        ).all()
        publish(
            ctx,
            session,
            "task_assigned",
            {
                "task_id": row.id,
                "instance_id": record.id,
                "name": row.name,
                "users": [v.assignee for v in votes if v.assignee],
                "kind": "vote",
            },
        )
    if record.status == "completed" and record.completed_at == now:
        publish(
            ctx,
            session,
            "instance_completed",
            {"instance_id": record.id, "users": [record.started_by]},
        )


def close_planflow_steps(session: Session, task_ids: list[str], now: datetime) -> None:
    """The BPMN tasks are gone (completed or cancelled): so are their extra steps."""
    if not _has_planflow_steps(session, task_ids):
        return  # the common case: one cheap query instead of four writes
    open_steps = session.scalars(
        select(TaskSignerRecord.step_task_id).where(
            TaskSignerRecord.parent_task_id.in_(task_ids),
            TaskSignerRecord.status.in_(OPEN_SIGNER),
            TaskSignerRecord.step_task_id.is_not(None),
        )
    ).all()
    if open_steps:
        session.execute(
            update(HumanTaskRow)
            .where(HumanTaskRow.id.in_(open_steps), is_live(HumanTaskRow.status))
            .values(status="cancelled", completed_at=now)
        )
    session.execute(
        update(TaskSignerRecord)
        .where(
            TaskSignerRecord.parent_task_id.in_(task_ids),
            TaskSignerRecord.status.in_(("pending", "open")),
        )
        .values(status="cancelled", acted_at=now)
    )
    session.execute(
        update(TaskDelegationRecord)
        .where(TaskDelegationRecord.task_id.in_(task_ids), TaskDelegationRecord.status == "active")
        .values(status="cancelled", resolved_at=now)
    )
    session.execute(delete(TaskSubmissionRecord).where(TaskSubmissionRecord.task_id.in_(task_ids)))


def _has_planflow_steps(session: Session, task_ids: list[str]) -> bool:
    checks = union_all(
        select(literal(1)).where(TaskSignerRecord.parent_task_id.in_(task_ids)),
        select(literal(1)).where(TaskDelegationRecord.task_id.in_(task_ids)),
        select(literal(1)).where(TaskSubmissionRecord.task_id.in_(task_ids)),
    )
    return session.execute(select(checks.subquery()).limit(1)).first() is not None
