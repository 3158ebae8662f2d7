"""A角/B角 hand-over: when a user is away (an out-of-office period set by them or a manager), their
new and open tasks go to the instance's other owner (`a_owner` ↔ `b_owner` in the instance data)
or to the deputy named on the absence; when they are back the tasks still held by the substitute
return.

Two ways in, neither needs the scheduler:
* at every save of an instance (`engine.store.task_projection.sync_tasks` → `apply_for_instance`):
  new tasks are assigned past an absent user, open ones are handed over / back as the periods say;
* `sync_all` across all instances now (after `engine.people.absence.mark_away` / `mark_back`, or
  from cron).

Every move is a `task_handovers` row plus an audit entry on the instance, so A and B both see
the history (`engine.operations.instance_operations`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.notify.notifications import publish
from engine.store import instance_probe
from engine.store import instance_state as store
from engine.store.records_ops import (
    LIVE_STATUSES,
    AbsenceRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    is_live,
)
from engine.store.tables import HumanTaskRow, InstanceRecord, UserRecord
from engine.store.versioning import touch

if TYPE_CHECKING:
    from engine.context import EngineContext


def active_absences(session: Session, now: datetime) -> dict[str, AbsenceRecord]:
    rows = session.scalars(
        select(AbsenceRecord)
        .where(
            AbsenceRecord.starts_at <= now,
            or_(AbsenceRecord.ends_at.is_(None), AbsenceRecord.ends_at > now),
        )
        .order_by(AbsenceRecord.starts_at)
    ).all()
    return {r.username: r for r in rows}


def is_away(session: Session, username: str, now: datetime) -> bool:
    return username in active_absences(session, now)


def substitute(
    session: Session, data: dict[str, Any], username: str, away: dict[str, AbsenceRecord]
) -> str | None:
    """Who works for `username` on an instance with this data: the other of the A/B pair, else
    the absence's deputy; never someone who is away too, never an unknown/disabled user."""
    candidates: list[str] = []
    a, b = data.get("a_owner"), data.get("b_owner")
    if isinstance(a, str) and isinstance(b, str) and a and b and a != b:
        if username == a:
            candidates.append(b)
        elif username == b:
            candidates.append(a)
    absence = away.get(username)
    if absence is not None and absence.deputy:
        candidates.append(absence.deputy)
    for candidate in candidates:
        if candidate == username or candidate in away:
            continue
        user = session.scalar(select(UserRecord).where(UserRecord.username == candidate))
        if user is not None and user.is_active:
            return candidate
    return None


def hand_over(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    row: HumanTaskRow,
    to_user: str,
    now: datetime,
) -> None:
    from_user = row.assignee or ""
    row.assignee = to_user
    session.add(
        TaskHandoverRecord(
            instance_id=record.id,
            task_id=row.id,
            from_user=from_user,
            to_user=to_user,
            reason="absence",
            created_at=now,
        )
    )
    store.audit(
        session,
        now,
        "task_handover",
        instance_id=record.id,
        actor="system",
        task_id=row.id,
        element_id=row.element_id,
        details={"from": from_user, "to": to_user, "reason": "absence"},
    )
    publish(
        ctx,
        session,
        "task_assigned",
        {
            "task_id": row.id,
            "instance_id": record.id,
            "name": row.name,
            "users": [to_user],
            "kind": "handover",
        },
    )


def hand_back(
    ctx: EngineContext,
    session: Session,
    handover: TaskHandoverRecord,
    row: HumanTaskRow | None,
    now: datetime,
) -> bool:
    handover.returned_at = now
    if row is None or row.status not in LIVE_STATUSES or row.assignee != handover.to_user:
        return False  # done, or moved on by someone meanwhile: nothing to give back
    row.assignee = handover.from_user
    store.audit(
        session,
        now,
        "task_handback",
        instance_id=handover.instance_id,
        actor="system",
        task_id=row.id,
        element_id=row.element_id,
        details={"from": handover.to_user, "to": handover.from_user},
    )
    publish(
        ctx,
        session,
        "task_assigned",
        {
            "task_id": row.id,
            "instance_id": handover.instance_id,
            "name": row.name,
            "users": [handover.from_user],
            "kind": "handback",
        },
    )
    return True


def _delegated(session: Session, task_ids: list[str]) -> set[str]:
    if not task_ids:
        return set()
    return set(
        session.scalars(
            select(TaskDelegationRecord.task_id).where(
                TaskDelegationRecord.task_id.in_(task_ids), TaskDelegationRecord.status == "active"
            )
        )
    )


def apply_for_instance(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    now: datetime,
    to_route: bool | None = None,
) -> set[str]:
    """The save-time check: route this instance's live tasks (those just written included)
    around absent users, and back; the ids of the tasks handed over (each handover tells its
    substitute). ``to_route``: the caller's probe answer (`engine.store.instance_probe`);
    None: probe here."""
    handed: set[str] = set()
    if record.status in ("completed", "terminated"):
        return handed
    # Nearly always nobody is away and nothing of this instance is handed over: one probe
    # says so (read at every save, so an absence set by another process is seen at once).
    if to_route is None:
        to_route = bool(instance_probe.routing(session, [record.id], now))
    if not to_route:
        return handed
    away = active_absences(session, now)
    open_handovers = session.scalars(
        select(TaskHandoverRecord).where(
            TaskHandoverRecord.instance_id == record.id, TaskHandoverRecord.returned_at.is_(None)
        )
    ).all()
    if not away and not open_handovers:
        return handed
    data = record.data or {}
    if away:
        rows = session.scalars(
            select(HumanTaskRow).where(
                HumanTaskRow.instance_id == record.id,
                is_live(HumanTaskRow.status),
                HumanTaskRow.assignee.in_(sorted(away)),
            )
        ).all()
        delegated = _delegated(session, [row.id for row in rows])
        for row in rows:
            if row.id not in delegated:
                to_user = substitute(session, data, row.assignee, away)
                if to_user:
                    hand_over(ctx, session, record, row, to_user, now)
                    handed.add(row.id)
    for handover in open_handovers:
        if handover.from_user not in away:
            hand_back(ctx, session, handover, session.get(HumanTaskRow, handover.task_id), now)
    return handed


# --- explicit operations -------------------------------------------------------------------------


def _touch(session: Session, instance_id: int, now: datetime) -> InstanceRecord:
    record = store.get_instance(session, instance_id)
    touch(session, record, now)
    return record


def sync_all(ctx: EngineContext, session: Session, users: list[str] | None = None) -> int:
    """Apply absences to every instance now (optionally only for these users); returns the number
    of tasks moved."""
    now = ctx.clock.now()
    away = active_absences(session, now)
    moved = 0
    touched: dict[int, InstanceRecord] = {}

    def record_of(instance_id: int) -> InstanceRecord:
        if instance_id not in touched:
            touched[instance_id] = _touch(session, instance_id, now)
        return touched[instance_id]

    names = sorted(away if users is None else set(users) & set(away))
    if names:
        rows = session.scalars(
            select(HumanTaskRow)
            .where(is_live(HumanTaskRow.status), HumanTaskRow.assignee.in_(names))
            .order_by(HumanTaskRow.instance_id, HumanTaskRow.created_at)
        ).all()
        delegated = _delegated(session, [r.id for r in rows])
        for row in rows:
            if row.id in delegated:
                continue
            record = store.get_instance(session, row.instance_id)
            to_user = substitute(session, record.data or {}, row.assignee or "", away)
            if to_user:
                hand_over(ctx, session, record_of(row.instance_id), row, to_user, now)
                moved += 1
    query = select(TaskHandoverRecord).where(TaskHandoverRecord.returned_at.is_(None))
    if users is not None:
        query = query.where(TaskHandoverRecord.from_user.in_(users))
    for handover in session.scalars(query.order_by(TaskHandoverRecord.id)).all():
        if handover.from_user in away:
            continue
        record_of(handover.instance_id)
        if hand_back(ctx, session, handover, session.get(HumanTaskRow, handover.task_id), now):
            moved += 1
    session.flush()
    return moved
