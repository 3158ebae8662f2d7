"""The bell: a person's in-app notifications, their unread count, marking them read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.store.records_ops import NotificationRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def notification_dict(row: NotificationRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "event": row.event,
        "title": row.title,
        "body": row.body,
        "instance_id": row.instance_id,
        "task_id": row.task_id,
        "created_at": row.created_at.isoformat(),
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "read": row.read_at is not None,
    }


def unread_count(session: Session, actor: Actor) -> int:
    return (
        session.scalar(
            select(func.count(NotificationRecord.id)).where(
                NotificationRecord.username == actor.username, NotificationRecord.read_at.is_(None)
            )
        )
        or 0
    )


def list_notifications(
    session: Session, actor: Actor, *, unread_only: bool = False, page: int = 1, per_page: int = 20
) -> dict[str, Any]:
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    query = select(NotificationRecord).where(NotificationRecord.username == actor.username)
    if unread_only:
        query = query.where(NotificationRecord.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(NotificationRecord.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return {
        "items": [notification_dict(r) for r in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
        "unread": unread_count(session, actor),
    }


def mark_read(
    ctx: EngineContext, session: Session, actor: Actor, ids: list[int] | None = None
) -> int:
    """Mark the caller's notifications read (all of them when `ids` is None)."""
    stmt = update(NotificationRecord).where(
        NotificationRecord.username == actor.username, NotificationRecord.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(NotificationRecord.id.in_(ids or [-1]))
    result = session.execute(stmt.values(read_at=ctx.clock.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
