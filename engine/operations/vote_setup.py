"""会签 / 或签 from the model: a user task with `signMode` and an `assignees` expression opens
one vote step per voter (engine.operations.votes decides the outcome as they vote)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.runtime import find_task
from engine.store.audit_log import audit
from engine.store.held_audits import HeldAudits
from engine.store.records_ops import ON_HOLD, TaskSignerRecord
from engine.store.tables import HumanTaskRow, InstanceRecord, UserRecord
from engine.store.task_projection import record_expression_problems
from engine.store.task_properties import ExpressionProblem, expression_error_text

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow

log = logging.getLogger("planflow.ops")


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


def resolve_voters(
    session: Session, workflow: BpmnWorkflow, row: HumanTaskRow, expression: str
) -> tuple[list[str], list[ExpressionProblem]]:
    """The active users the step's `assignees` expression names, and what was wrong with it
    (each problem says what the step does instead)."""
    task = find_task(workflow, row.id)
    voters: list[str] = []
    problems: list[ExpressionProblem] = []
    fallback = "按普通任务办理 (the step opened as a plain task, without votes)"
    if task is None or not expression:
        return voters, problems
    try:
        value = workflow.script_engine.evaluate(task, expression)
    except Exception as exc:  # NameError, TypeError, ScriptError ...
        log.warning("assignees of %s failed: %s", row.element_id, exc)
        problems.append(ExpressionProblem(
            "assignees", expression, expression_error_text(exc), fallback
        ))
        return voters, problems
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
    return voters, problems


def open_vote(
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    row: HumanTaskRow,
    step: Any,
    now: datetime,
    held: HeldAudits,
) -> bool:
    """A user task with `signMode` and `assignees`: the BPMN task is held and every assignee gets
    a vote step. Falls back to a plain task (and says so in the audit) without voters."""
    expression = step.properties.get("assignees") or ""
    voters, problems = resolve_voters(session, workflow, row, expression)
    if problems:
        # Warning-level incidents (see store.record_expression_problems for why).
        record_expression_problems(session, record.id, row, problems, now)
    if not voters:
        audit(session, now, "vote_without_voters", instance_id=record.id, task_id=row.id,
              element_id=row.element_id, details={"assignees": expression})
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
    held.flush()  # the step rows exist before the signer rows that point at them
    for seq, voter, step_id in steps:
        session.add(
            TaskSignerRecord(
                instance_id=record.id, parent_task_id=row.id, step_task_id=step_id,
                mode="vote", seq=seq, signer=voter, added_by="system", status="open",
                comment="", created_at=now,
            )
        )
    audit(session, now, "vote_opened", instance_id=record.id, task_id=row.id,
          element_id=row.element_id, details={"mode": mode, "needed": needed, "voters": voters})
    return True
