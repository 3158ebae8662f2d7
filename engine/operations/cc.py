"""抄送 CC: copy people on an instance or on one of its steps. They see it under 抄送我的
("CC'd to me"), read-only, with an unread state (`engine.read.copies`); copying is audited and
notified."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.access import instance_for, require_task
from engine.errors import NotFound
from engine.notify.notifications import publish
from engine.operations.shared import active_users, clean_text, touch_instance
from engine.read.copies import cc_detail, own_copy
from engine.store import instance_state as store
from engine.store.records_ops import InstanceCcRecord
from engine.store.tables import HumanTaskRow

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def cc(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    instance_id: int,
    usernames: Any,
    *,
    task_id: str | None = None,
    note: str = "",
) -> list[InstanceCcRecord]:
    """Copy `usernames` on the instance (or on the step `task_id`). People already copied on the
    same instance/step are left as they are. Returns the new copies."""
    row: HumanTaskRow | None = None
    if task_id:
        task = require_task(session, actor, "cc", task_id)
        row, record = task.row, task.record
        if record.id != instance_id:
            raise NotFound(
                "该任务不属于此流程实例 (task not in this instance)", {"task_id": task_id}
            )
    else:
        record = instance_for(session, actor, "cc", instance_id)
    users = active_users(session, usernames, "users")
    note = clean_text(note, "note")
    key = row.id if row is not None else ""
    existing = set(
        session.scalars(
            select(InstanceCcRecord.username).where(
                InstanceCcRecord.instance_id == record.id, InstanceCcRecord.task_key == key
            )
        )
    )
    now = ctx.clock.now()
    added = []
    for user in users:
        if user in existing:
            continue
        item = InstanceCcRecord(
            instance_id=record.id,
            task_id=row.id if row is not None else None,
            task_key=key,
            element_id=row.element_id if row is not None else None,
            username=user,
            cc_by=actor.username,
            note=note,
            created_at=now,
        )
        session.add(item)
        added.append(item)
    if not added:  # everyone named is copied already: nothing happened, nothing is written
        return added
    store.audit(
        session,
        now,
        "cc",
        instance_id=record.id,
        actor=actor.username,
        task_id=row.id if row is not None else None,
        element_id=row.element_id if row is not None else None,
        details={"users": [a.username for a in added], "note": note},
    )
    publish(
        ctx,
        session,
        "cc",
        {
            "instance_id": record.id,
            "task_id": row.id if row is not None else None,
            "name": row.name if row is not None else None,
            "users": [a.username for a in added],
            "by": actor.username,
            "note": note,
        },
    )
    touch_instance(session, record, now)
    session.flush()
    return added


def mark_cc_read(
    ctx: EngineContext, session: Session, actor: Actor, cc_id: int | None = None
) -> int:
    stmt = update(InstanceCcRecord).where(
        InstanceCcRecord.username == actor.username, InstanceCcRecord.read_at.is_(None)
    )
    if cc_id is not None:
        own_copy(session, actor, cc_id)
        stmt = stmt.where(InstanceCcRecord.id == cc_id)
    result = session.execute(stmt.values(read_at=ctx.clock.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cc_view(ctx: EngineContext, session: Session, actor: Actor, cc_id: int) -> dict[str, Any]:
    """The copy opened: marked read, and its read-only view (`engine.read.copies.cc_detail`)."""
    item = own_copy(session, actor, cc_id)
    if item.read_at is None:
        item.read_at = ctx.clock.now()
    return cc_detail(ctx, session, actor, cc_id)
