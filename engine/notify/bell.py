"""The bell: a person's in-app notifications, their unread count, marking them read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from engine.store.records_ops import NotificationRecord, is_live
from engine.store.tables import HumanTaskRow, InstanceRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


# Events that ask the reader to act on a task: once the task is no longer waiting (done,
# cancelled, handed on), the notification is settled and no longer counts as unread.
ACTIONABLE = ("task_assigned", "reminder", "task_overdue", "returned")


def _still_asks() -> Any:
    return or_(
        NotificationRecord.task_id.is_(None),
        NotificationRecord.event.not_in(ACTIONABLE),
        is_live(HumanTaskRow.status),
    )


def notification_dict(
    row: NotificationRecord, settled: bool = False, english: bool = False
) -> dict[str, Any]:
    """The notification in both languages (``title``/``body`` in the reader's when
    ``english`` is given, the Chinese otherwise); ``settled``: it asked for a task that no
    longer waits for anyone; ``repeats``: how often it came while unread."""
    title = (row.title_en or row.title) if english else row.title
    body = (row.body_en or row.body) if english else row.body
    return {
        "id": row.id,
        "event": row.event,
        "title": title,
        "body": body,
        "title_zh": row.title,
        "body_zh": row.body,
        "title_en": row.title_en or row.title,
        "body_en": row.body_en or row.body,
        "instance_id": row.instance_id,
        "task_id": row.task_id,
        "created_at": row.created_at.isoformat(),
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "read": row.read_at is not None,
        "settled": settled,
        "repeats": row.repeats or 1,
    }


# Built once: every page's bell asks, and building it cost three times what running it does.
_UNREAD_COUNT = (
    select(func.count(NotificationRecord.id))
    .outerjoin(HumanTaskRow, HumanTaskRow.id == NotificationRecord.task_id)
    .where(
        NotificationRecord.username == bindparam("bell_username"),
        NotificationRecord.read_at.is_(None),
        _still_asks(),
    )
)


def unread_count(session: Session, actor: Actor) -> int:
    """Unread notifications that still ask something of the reader."""
    return session.scalar(_UNREAD_COUNT, {"bell_username": actor.username}) or 0


def list_notifications(
    session: Session,
    actor: Actor,
    *,
    unread_only: bool = False,
    page: int = 1,
    per_page: int = 20,
    english: bool = False,
) -> dict[str, Any]:
    """Newest first (a folded repeat counts as new); ``unread_only``: those `unread_count`
    counts."""
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    query = (
        select(NotificationRecord, _still_asks().label("asks"), InstanceRecord.title)
        .outerjoin(HumanTaskRow, HumanTaskRow.id == NotificationRecord.task_id)
        .outerjoin(InstanceRecord, InstanceRecord.id == NotificationRecord.instance_id)
        .where(NotificationRecord.username == actor.username)
    )
    if unread_only:
        query = query.where(NotificationRecord.read_at.is_(None), _still_asks())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(NotificationRecord.created_at.desc(), NotificationRecord.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return {
        "items": [
            {**notification_dict(r, not asks, english), "instance_title": title or ""}
            for r, asks, title in rows
        ],
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
