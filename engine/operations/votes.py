"""会签/或签 from the model (`signMode` = all | any | quorum:N): the vote rule of a held task and
the tally after each ballot, which completes the task with `<element>_decision` and
`<element>_votes` once the outcome is certain (SpiffWorkflow's completionCondition only sees the
last instance's data, so a quorum cannot be counted there).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.operations.completion import complete_bpmn
from engine.operations.vote_setup import parse_sign_mode
from engine.store import instance_state as store
from engine.store.records_ops import TaskSignerRecord
from engine.store.tables import HumanTaskRow, InstanceRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def vote_rule(
    ctx: EngineContext, session: Session, record: InstanceRecord, parent: HumanTaskRow
) -> tuple[str, int, str]:
    model = store.parsed_model(ctx, session, record.version_id)
    step = model.steps.get(parent.element_id)
    props = step.properties if step else {}
    voters = (
        session.scalar(
            select(func.count(TaskSignerRecord.id)).where(
                TaskSignerRecord.parent_task_id == parent.id,
                TaskSignerRecord.mode == "vote",
            )
        )
        or 0
    )
    mode, needed = parse_sign_mode(props.get("signMode", ""), voters)
    variable = props.get("signResultVariable") or f"{parent.element_id}_decision"
    return mode, needed, variable


def count_votes(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    parent: HumanTaskRow,
    actor: Actor,
    now: datetime,
) -> None:
    session.flush()
    votes = list(
        session.scalars(
            select(TaskSignerRecord)
            .where(TaskSignerRecord.parent_task_id == parent.id, TaskSignerRecord.mode == "vote")
            .order_by(TaskSignerRecord.seq)
        )
    )
    mode, needed, variable = vote_rule(ctx, session, record, parent)
    total = len(votes)
    approvals = sum(1 for v in votes if v.status == "approved")
    rejections = sum(1 for v in votes if v.status == "rejected")
    decision = None
    if mode == "any":
        if approvals or rejections:
            decision = "approve" if approvals else "reject"
    elif mode == "all":
        if rejections:
            decision = "reject"
        elif approvals == total:
            decision = "approve"
    else:  # quorum
        if approvals >= needed:
            decision = "approve"
        elif rejections > total - needed:
            decision = "reject"
    if decision is None:
        return
    for v in votes:
        if v.status in ("pending", "open"):
            v.status, v.acted_at = "cancelled", now
            step = session.get(HumanTaskRow, v.step_task_id) if v.step_task_id else None
            if step is not None and step.status == "open":
                step.status, step.completed_at = "cancelled", now
    ballots = [
        {
            "user": v.acted_by or v.signer,
            "decision": v.status,
            "comment": v.comment,
            "at": v.acted_at.isoformat() if v.acted_at else None,
        }
        for v in votes
        if v.status in ("approved", "rejected")
    ]
    store.audit(
        session,
        now,
        "vote_decided",
        instance_id=record.id,
        actor=actor.username,
        task_id=parent.id,
        element_id=parent.element_id,
        details={
            "mode": mode,
            "needed": needed,
            "approvals": approvals,
            "rejections": rejections,
            "voters": total,
            "decision": decision,
        },
    )
    data = {variable: decision, f"{parent.element_id}_votes": ballots}
    complete_bpmn(ctx, session, record, parent, data, actor.username, actor, {"vote": mode})

