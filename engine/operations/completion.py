"""How a BPMN task with signatures (加签, 会签) moves on: opening a signature step as its own
projection row in the signer's inbox, advancing through before / parallel / after signers
(holding the task meanwhile), and completing the BPMN task with the owner's data once every
signature is approved (completed_by is the handler whose data it is).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.operations.shared import announce_assigned, live_signers
from engine.people import handover
from engine.store.records_ops import ON_HOLD, TaskSignerRecord, TaskSubmissionRecord
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.usecases import instances
from engine.usecases.acting import acting_on

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def open_entry(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    parent: HumanTaskRow,
    entry: TaskSignerRecord,
    actor: Actor,
    now: datetime,
) -> None:
    label = {"before": "前加签", "after": "后加签", "parallel": "会签加签"}.get(entry.mode, "加签")
    step = HumanTaskRow(
        id=str(uuid.uuid4()),
        instance_id=parent.instance_id,
        model_key=parent.model_key,
        element_id=parent.element_id,
        name=f"{parent.name}（{label}）"[:256],
        lane=parent.lane,
        form_file=None,
        assignee=entry.signer,
        status="open",
        due_at=parent.due_at,
        created_at=now,
    )
    session.add(step)
    session.flush()
    entry.step_task_id, entry.status = step.id, "open"
    # A signer who is away: their B角 / deputy signs instead (as at every save).
    if step.id in handover.apply_for_instance(ctx, session, record, now):
        return  # the handover told the substitute
    announce_assigned(ctx, session, step, entry.signer, "signer", entry.added_by)


def advance(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    row: HumanTaskRow,
    actor: Actor,
    now: datetime,
) -> None:
    """Move a BPMN task with signatures to its next state (see the module docstring)."""
    session.flush()
    entries = live_signers(session, row.id)
    before = [e for e in entries if e.mode == "before"]
    if any(e.status == "open" for e in before):
        row.status = ON_HOLD
        return
    nxt = next((e for e in before if e.status == "pending"), None)
    if nxt is not None:
        open_entry(ctx, session, record, row, nxt, actor, now)
        row.status = ON_HOLD
        return
    submission = session.get(TaskSubmissionRecord, row.id)
    if submission is None or any(e.status == "rejected" for e in entries):
        row.status = "open"
        return
    if any(e.mode == "parallel" and e.status == "open" for e in entries):
        row.status = ON_HOLD
        return
    after = [e for e in entries if e.mode == "after"]
    if any(e.status == "open" for e in after):
        row.status = ON_HOLD
        return
    nxt = next((e for e in after if e.status == "pending"), None)
    if nxt is not None:
        open_entry(ctx, session, record, row, nxt, actor, now)
        row.status = ON_HOLD
        return
    signers = [{"signer": e.signer, "mode": e.mode, "status": e.status} for e in entries]
    complete_bpmn(
        ctx,
        session,
        record,
        row,
        dict(submission.data),
        submission.submitted_by,
        actor,
        {"signers": signers},
    )


def complete_bpmn(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    row: HumanTaskRow,
    data: dict[str, Any],
    completed_by: str,
    actor: Actor,
    extra: dict[str, Any],
) -> None:
    """Complete the BPMN task now that planflow's rules are satisfied (completed_by is the
    handler whose data it is, not necessarily the person whose signature came last)."""
    session.flush()
    with acting_on(ctx, session, record, actor.username) as act:
        task = instances.ready_task(act.workflow, row.id)
        instances.run_ready(ctx, act, record, row, task, data, actor, completed_by=completed_by,
                            extra=extra)

