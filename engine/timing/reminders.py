"""Automatic reminders (催办) when a user task reaches its due time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.instance_state import audit
from engine.store.tables import HumanTaskRow

if TYPE_CHECKING:
    from engine.context import EngineContext


def send_due_reminders(
    ctx: EngineContext, session: Session, now: datetime, limit: int = 200
) -> int:
    """Remind the assignee (or candidate groups) of every open task that has just become
    overdue, once; returns how many were sent."""
    query = (
        select(HumanTaskRow)
        .where(
            HumanTaskRow.status == "open",
            HumanTaskRow.due_at <= now,
            HumanTaskRow.reminded_at.is_(None),
        )
        .order_by(HumanTaskRow.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.scalars(query).all()
    for row in rows:
        row.reminded_at = now
        late = (now - row.due_at).total_seconds() if row.due_at else 0
        payload = {
            "task_id": row.id,
            "instance_id": row.instance_id,
            "name": row.name,
            "assignee": row.assignee,
            "groups": [c.group_name for c in row.candidate_groups],
            "due_at": row.due_at.isoformat() if row.due_at else None,
        }
        audit(
            session,
            now,
            "reminder",
            instance_id=row.instance_id,
            actor="system",
            task_id=row.id,
            element_id=row.element_id,
            details={**payload, "late_seconds": round(late, 1), "automatic": True},
        )
        ctx.notifier.notify(session, "task_overdue", payload)
    return len(rows)
