"""催办 remind: nudge whoever has to act on a task now, at most once per
`remind_interval_seconds` per task (automatic overdue reminders included).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access import require_task
from engine.errors import Conflict
from engine.notify import ops_settings
from engine.notify.notifications import publish
from engine.operations.shared import (
    audit_task,
    clean_text,
    require_live,
    touch_instance,
    who_must_act,
)
from engine.store.tables import AuditRecord, HumanTaskRow
from engine.usecases import instances

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def remind_interval(ctx: EngineContext) -> timedelta:
    return timedelta(seconds=ops_settings.get_int(ctx.settings, "remind_interval_seconds"))


def last_reminded(session: Session, row: HumanTaskRow) -> datetime | None:
    manual = session.scalar(
        select(func.max(AuditRecord.at)).where(
            AuditRecord.instance_id == row.instance_id,
            AuditRecord.task_id == row.id,
            AuditRecord.action == "reminder",
        )
    )
    times = [t for t in (row.reminded_at, manual) if t is not None]
    return max(times) if times else None


def remind(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str, message: str = ""
) -> list[str]:
    """Nudge whoever has to act now; at most once per `remind_interval_seconds` (default 1 h)
    per task, automatic overdue reminders included. Returns who was reminded."""
    task = require_task(session, actor, "remind", task_id)
    row, record = task.row, task.record
    require_live(row)
    instances.require_active(record)
    message = clean_text(message, "message")
    now = ctx.clock.now()
    last = last_reminded(session, row)
    interval = remind_interval(ctx)
    if last is not None and now - last < interval:
        raise Conflict(
            "催办过于频繁，请稍后再试 (reminded recently: try again later)",
            {
                "last_reminded_at": last.isoformat(),
                "next_allowed_at": (last + interval).isoformat(),
            },
        )
    recipients = [u for u in dict.fromkeys(who_must_act(session, row)) if u != actor.username]
    if not recipients:
        raise Conflict("当前没有可催办的处理人 (nobody to remind)", {"task_id": row.id})
    if row.due_at is not None and row.due_at <= now:
        # Overdue already: the automatic reminder need not fire after this one.
        row.reminded_at = now
    audit_task(
        session,
        now,
        "reminder",
        actor,
        row,
        {"manual": True, "users": recipients, "message": message},
    )
    publish(
        ctx,
        session,
        "reminder",
        {
            "task_id": row.id,
            "instance_id": row.instance_id,
            "name": row.name,
            "users": recipients,
            "by": actor.username,
            "message": message,
        },
    )
    touch_instance(session, record, now)
    return recipients

