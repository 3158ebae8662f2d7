"""抄送我的 (CC'd to me), the read side: copies as dicts, the unread count, the inbox page and
one copy's read-only view of its instance. Copying and marking read: `engine.operations.cc`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.read.inbox import clean_query, like
from engine.read.list_queries import INSTANCE_COLUMNS, count_rows
from engine.read.queries import get_instance, instance_dict
from engine.store.records_ops import InstanceCcRecord
from engine.store.tables import HumanTaskRow, InstanceRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def copies_select(actor: Actor, *, unread_only: bool = False, q: str | None = None) -> Select[Any]:
    """The actor's copies, newest first, each row (copy, the instance's list columns, the
    step's name): one rule for the API's 抄送我的 and the page's. ``q`` searches titles."""
    query: Select[Any] = (
        select(InstanceCcRecord, *INSTANCE_COLUMNS, HumanTaskRow.name.label("step"))
        .join(InstanceRecord, InstanceRecord.id == InstanceCcRecord.instance_id)
        .outerjoin(HumanTaskRow, HumanTaskRow.id == InstanceCcRecord.task_id)
        .where(InstanceCcRecord.username == actor.username)
    )
    if unread_only:
        query = query.where(InstanceCcRecord.read_at.is_(None))
    text = clean_query(q)
    if text:
        query = query.where(InstanceRecord.title.ilike(like(text), escape="\\"))
    return query.order_by(InstanceCcRecord.id.desc())


def cc_dict(
    item: InstanceCcRecord, record: InstanceRecord | Row[Any] | None = None
) -> dict[str, Any]:
    return {
        "id": item.id,
        "instance_id": item.instance_id,
        "task_id": item.task_id,
        "element_id": item.element_id,
        "cc_by": item.cc_by,
        "note": item.note,
        "created_at": item.created_at.isoformat(),
        "read_at": item.read_at.isoformat() if item.read_at else None,
        "read": item.read_at is not None,
        **({"instance": instance_dict(record)} if record is not None else {}),
    }


def unread_cc_count(session: Session, actor: Actor) -> int:
    return (
        session.scalar(
            select(func.count(InstanceCcRecord.id)).where(
                InstanceCcRecord.username == actor.username, InstanceCcRecord.read_at.is_(None)
            )
        )
        or 0
    )


def cc_inbox(
    session: Session,
    actor: Actor,
    *,
    unread_only: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """抄送我的: newest first, with the instance summary and the unread count."""
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    query = copies_select(actor, unread_only=unread_only)
    total = count_rows(session, query)
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "items": [cc_dict(row[0], row) for row in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
        "unread": unread_cc_count(session, actor),
    }


def own_copy(session: Session, actor: Actor, cc_id: int) -> InstanceCcRecord:
    item = session.get(InstanceCcRecord, cc_id)
    if item is None or item.username != actor.username:
        raise NotFound(f"抄送 {cc_id} 不存在 (CC not found)", {"id": cc_id})
    return item


def cc_detail(ctx: EngineContext, session: Session, actor: Actor, cc_id: int) -> dict[str, Any]:
    """The actor's copy and its instance, read-only (no task operations)."""
    item = own_copy(session, actor, cc_id)
    detail = get_instance(ctx, session, actor, item.instance_id)
    return {"cc": cc_dict(item), "instance": detail, "read_only": True}
