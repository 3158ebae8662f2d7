"""认领/取消认领 claim and unclaim (the existing use cases, behind the authorisation matrix) and
转办 transfer: the task's assignee changes for good and the new assignee is told.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput
from engine.operations.shared import (
    _active_user,
    _announce_assigned,
    _audit,
    _bpmn_row,
    _check,
    _context,
    _no_vote,
    _require_live,
    _text,
    _touch,
)
from engine.usecases import instances

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor
    from engine.store.tables import HumanTaskRow


def claim(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> HumanTaskRow:
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "claim", row, record, rel, delegation)
    _bpmn_row(session, row)
    return instances.claim(ctx, session, actor, task_id)


def unclaim(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> HumanTaskRow:
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "unclaim", row, record, rel, delegation)
    _bpmn_row(session, row)
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
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "transfer", row, record, rel, delegation)
    _require_live(row)
    instances._require_active(record)
    _no_vote(session, row)
    if delegation is not None:
        raise Conflict(
            "任务已委派，请先收回 (the task is delegated: recall it first)", {"task_id": row.id}
        )
    target = _active_user(session, to_user)
    comment = _text(comment, "comment")
    if target == row.assignee:
        raise InvalidInput("任务已在该用户名下 (the task is already theirs)", {"to": target})
    now = ctx.clock.now()
    previous = row.assignee
    row.assignee, row.claimed_at = target, now
    _audit(
        session,
        now,
        "task_transferred",
        actor,
        row,
        {"from": previous, "to": target, "comment": comment},
    )
    _announce_assigned(ctx, session, row, target, "transferred", actor.username)
    _touch(session, record, now)
    return row

