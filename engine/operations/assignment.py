"""认领/取消认领 claim and unclaim (the existing use cases, behind the authorisation matrix) and
转办 transfer: the task's assignee changes for good and the new assignee is told.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine.access import require_task
from engine.errors import Conflict, InvalidInput
from engine.operations.shared import (
    active_user,
    announce_assigned,
    audit_task,
    clean_text,
    require_bpmn_row,
    require_live,
    require_no_vote,
    touch_instance,
)
from engine.usecases import instances

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor
    from engine.store.tables import HumanTaskRow


def claim(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> HumanTaskRow:
    task = require_task(session, actor, "claim", task_id)
    row = task.row
    require_bpmn_row(session, row)
    return instances.claim(ctx, session, actor, task_id)


def unclaim(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> HumanTaskRow:
    task = require_task(session, actor, "unclaim", task_id)
    row, delegation = task.row, task.delegation
    require_bpmn_row(session, row)
    if delegation is not None:
        raise Conflict("任务已委派 (the task is delegated)", {"task_id": row.id})
    return instances.unclaim(ctx, session, actor, task_id)


def transfer(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    to_user: str,
    comment: str = "",
) -> HumanTaskRow:
    task = require_task(session, actor, "transfer", task_id)
    row, record, delegation = task.row, task.record, task.delegation
    require_live(row)
    instances.require_active(record)
    require_no_vote(session, row)
    if delegation is not None:
        raise Conflict(
            "任务已委派，请先收回 (the task is delegated: recall it first)", {"task_id": row.id}
        )
    target = active_user(session, to_user, "to")
    comment = clean_text(comment, "comment")
    if target == row.assignee:
        raise InvalidInput("任务已在该用户名下 (the task is already theirs)", {"to": target})
    now = ctx.clock.now()
    previous = row.assignee
    row.assignee, row.claimed_at = target, now
    audit_task(
        session,
        now,
        "task_transferred",
        actor,
        row,
        {"from": previous, "to": target, "comment": comment},
    )
    announce_assigned(ctx, session, row, target, "transferred", actor.username)
    touch_instance(session, record, now)
    return row

