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
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    and_,
    bindparam,
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
from engine.store import held_audits
from engine.store.records_ops import (
    LIVE_STATUSES,
    ON_HOLD,
    TaskDelegationRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.store.tables import HumanTaskRow, InstanceRecord, UserRecord
from engine.store.task_properties import ExpressionProblem, expression_error_text

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.bpmn.specs import ParsedModel
    from engine.context import EngineContext

log = logging.getLogger("planflow.ops")

OPEN_SIGNER = ("pending", "open", "rejected")


_OPS_RECORDS = (TaskSignerRecord, TaskDelegationRecord, TaskSubmissionRecord)


_instance = bindparam("instance_id")
# Built once (constructing it costs about as much as running it).
_ANY_TASK_OPERATION = select(
    union_all(
        select(literal(1)).where(TaskSignerRecord.instance_id == _instance),
        select(literal(1)).where(TaskDelegationRecord.instance_id == _instance),
        select(literal(1)).where(TaskSubmissionRecord.instance_id == _instance),
    ).subquery()
).limit(1)


def has_task_operations(session: Session, instance_id: int) -> bool:
    """One indexed probe of the three operation tables (each row carries its instance id)."""
    return session.execute(_ANY_TASK_OPERATION, {"instance_id": instance_id}).first() is not None


def with_task_operations(session: Session, instance_ids: list[int]) -> set[int]:
    """`has_task_operations` for a whole batch in one query (the timer worker wakes many
    instances per transaction; most never had an operation): the ids that have any."""
    return set(
        session.scalars(
            union(
                *(
                    select(record.instance_id).where(record.instance_id.in_(instance_ids))
                    for record in _OPS_RECORDS
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
    created: list[HumanTaskRow],
    closed: list[HumanTaskRow],
    now: datetime,
    *,
    ops: bool = True,
    assign: Mapping[str, str],
) -> None:
    """`ops=False`: the instance has no signers/delegations/submissions (has_task_operations),
    so closing rows has nothing of planflow's to take along."""
    from engine.notify.notifications import publish
    from engine.people import absence

    if closed and ops:
        close_planflow_steps(session, [r.id for r in closed], now)
    overrides = assign
    plain: list[HumanTaskRow] = []
    voting: list[HumanTaskRow] = []
    for row in created:
        if row.id in overrides:
            row.assignee, row.claimed_at = overrides[row.id], now
        step = model.steps.get(row.element_id)
        sign_mode = (step.properties.get("signMode") if step else None) or ""
        if sign_mode.strip() and setup_vote(ctx, session, record, workflow, row, step, now):
            voting.append(row)
        else:
            plain.append(row)
    if created:
        held_audits.flush(session)  # the save's audit entries wait for its one INSERT
    before = {r.id: r.assignee for r in plain}
    absence.apply_for_instance(ctx, session, record, created, now)
    for row in plain:
        if row.id in overrides or row.assignee != before[row.id]:
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
                "groups": [c.group_name for c in row.candidate_groups],
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
            .where(HumanTaskRow.id.in_(open_steps), HumanTaskRow.status.in_(LIVE_STATUSES))
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


# --- 会签 / 或签 from the model ------------------------------------------------------------------


def parse_sign_mode(value: str, voters: int) -> tuple[str, int]:
    """`all` | `any` | `quorum:N` → (mode, approvals needed). Unknown values mean `all`."""
    text = value.strip().lower()
    if text in ("any", "or", "或签"):
        return "any", 1
    if text.startswith("quorum"):
        _, _, n = text.partition(":")
        try:
            needed = int(n)
        except ValueError:
            needed = voters // 2 + 1
        return "quorum", max(1, min(needed, voters))
    return "all", voters


def _voters(value: Any) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list | tuple | set):
        items = [str(v).strip() for v in value]
    else:
        items = []
    return list(dict.fromkeys(v for v in items if v))


def _unknown_users(session: Session, names: list[str]) -> set[str]:
    if not names:
        return set()
    active = set(
        session.scalars(
            select(UserRecord.username).where(
                UserRecord.username.in_(names), UserRecord.is_active.is_(True)
            )
        )
    )
    return {n for n in names if n not in active}


def setup_vote(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    row: HumanTaskRow,
    step: Any,
    now: datetime,
) -> bool:
    """A user task with `signMode` and `assignees`: the BPMN task is held and every assignee gets
    a vote step. Falls back to a plain task (and says so in the audit) without voters."""
    from engine.bpmn.runtime import find_task
    from engine.store import instance_state as store

    task = find_task(workflow, row.id)
    expression = step.properties.get("assignees") or ""
    voters: list[str] = []
    problems: list[ExpressionProblem] = []
    fallback = "按普通任务办理 (the step opened as a plain task, without votes)"
    if task is not None and expression:
        try:
            value = workflow.script_engine.evaluate(task, expression)
        except Exception as exc:  # NameError, TypeError, ScriptError ...
            log.warning("assignees of %s failed: %s", row.element_id, exc)
            problems.append(ExpressionProblem(
                "assignees", expression, expression_error_text(exc), fallback
            ))
        else:
            voters = _voters(value)
            if value is not None and not isinstance(value, str | list | tuple | set):
                problems.append(ExpressionProblem(
                    "assignees", expression,
                    f"结果不是用户名列表 (returned a {type(value).__name__}, not user names)",
                    fallback,
                ))
            unknown = _unknown_users(session, voters)
            if unknown:
                # A vote step for nobody would never be decided: such voters are left out.
                voters = [v for v in voters if v not in unknown]
                problems.append(ExpressionProblem(
                    "assignees", expression,
                    f"用户不存在或已停用，已从表决人中去掉 (no active user of these names, left "
                    f"out of the vote): {', '.join(sorted(unknown))[:300]}",
                    fallback if not voters else "其余表决人照常表决 (the other voters vote)",
                ))
    if problems:
        # Warning-level incidents (see store.record_expression_problems for why).
        store.record_expression_problems(session, record.id, row, problems, now)
    if not voters:
        store.audit(
            session,
            now,
            "vote_without_voters",
            instance_id=record.id,
            task_id=row.id,
            element_id=row.element_id,
            details={"assignees": expression},
        )
        return False
    mode, needed = parse_sign_mode(step.properties.get("signMode", ""), len(voters))
    row.status, row.assignee = ON_HOLD, None
    steps = []
    for seq, voter in enumerate(voters, start=1):
        step_row = HumanTaskRow(
            id=str(uuid.uuid4()),
            instance_id=record.id,
            model_key=record.model_key,
            element_id=row.element_id,
            name=row.name,
            lane=row.lane,
            form_file=None,
            assignee=voter,
            status="open",
            due_at=row.due_at,
            created_at=now,
        )
        session.add(step_row)
        steps.append((seq, voter, step_row.id))
    held_audits.flush(session)
    for seq, voter, step_id in steps:
        session.add(
            TaskSignerRecord(
                instance_id=record.id,
                parent_task_id=row.id,
                step_task_id=step_id,
                mode="vote",
                seq=seq,
                signer=voter,
                added_by="system",
                status="open",
                comment="",
                created_at=now,
            )
        )
    store.audit(
        session,
        now,
        "vote_opened",
        instance_id=record.id,
        task_id=row.id,
        element_id=row.element_id,
        details={"mode": mode, "needed": needed, "voters": voters},
    )
    return True
