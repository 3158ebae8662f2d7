"""Which of the actor's completed steps may still be withdrawn (撤回), for a whole page of the
已办 list at once.

`engine.operations.withdraw` has the last word (it restores the workflow and plans the rewind);
this is the cheap projection-only preview that decides whether to offer the button: one query
for a page of the list, and for the one row of the task page (`available_operations` asks it
too, so both places offer exactly the same steps). The rule
mirrors `withdraw`: a BPMN step (not a signature row) the actor completed, its instance still
running and not suspended, and nothing after it taken up yet — no later step completed,
claimed, signed, given extra signers or delegated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import exists, or_, select, true
from sqlalchemy.orm import Session, aliased

from engine.store.records_ops import TaskDelegationRecord, TaskSignerRecord, is_live
from engine.store.tables import HumanTaskRow, InstanceRecord

if TYPE_CHECKING:
    from engine.people.accounts import Actor

ENDED = ("completed", "terminated")


def withdrawable(session: Session, actor: Actor, task_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(task_ids))
    if not ids:
        return set()
    step = aliased(HumanTaskRow)
    later = aliased(HumanTaskRow)
    taken_up = or_(
        later.status == "completed",
        later.claimed_at.is_not(None),
        exists().where(
            TaskSignerRecord.parent_task_id == later.id,
            or_(
                TaskSignerRecord.mode != "vote",
                TaskSignerRecord.status.in_(("approved", "rejected")),
            ),
        ),
        exists().where(TaskDelegationRecord.task_id == later.id),
    )
    acted_after = exists().where(
        later.instance_id == step.instance_id,
        later.id != step.id,
        # Steps the completion opened (or anything later) start at or after it.
        later.created_at >= step.completed_at,
        or_(later.status == "completed", is_live(later.status)),
        taken_up,
    )
    signature_row = exists().where(TaskSignerRecord.step_task_id == step.id)
    mine = true() if actor.is_admin else step.completed_by == actor.username
    query = (
        select(step.id)
        .join(InstanceRecord, InstanceRecord.id == step.instance_id)
        .where(
            step.id.in_(ids),
            step.status == "completed",
            mine,
            InstanceRecord.status.not_in(ENDED),
            InstanceRecord.suspended.is_(False),
            ~signature_row,
            ~acted_after,
        )
    )
    return set(session.scalars(query))
