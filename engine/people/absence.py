"""A角/B角: when a user is away (an out-of-office period set by them or a manager), their new and
open tasks go to the instance's other owner (`a_owner` ↔ `b_owner` in the instance data) or to
the deputy named on the absence; when they are back the tasks still held by the substitute
return.

Two ways in, neither needs the scheduler:
* at every save of an instance (`engine.store.task_projection.sync_tasks` → `apply_for_instance`):
  new tasks are assigned past an absent user, open ones are handed over / back as the periods say;
* `mark_away` / `mark_back` (and `sync_all`, e.g. from cron) reassign across all instances now.

Every move is a `task_handovers` row plus an audit entry on the instance, so A and B both see
the history (`engine.operations.instance_operations`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.access import may_manage_absence
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.notify.notifications import publish
from engine.people.accounts import Actor, get_user
from engine.store import instance_probe
from engine.store import instance_state as store
from engine.store.records_ops import (
    LIVE_STATUSES,
    AbsenceRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
)
from engine.store.tables import HumanTaskRow, InstanceRecord, UserRecord
from engine.store.versioning import touch
from engine.time_range import check_date

MAX_REASON = 1000

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
                HumanTaskRow.status.in_(LIVE_STATUSES),
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


def _may_manage(actor: Actor, username: str) -> None:
    if not may_manage_absence(actor, username):
        raise Forbidden(
            "只能为自己设置，或由经理/管理员设置 "
            "(only the user, a manager or an admin may do this)",
            {"username": username},
        )


def _touch(session: Session, instance_id: int, now: datetime) -> InstanceRecord:
    record = store.get_instance(session, instance_id)
    touch(session, record, now)
    return record


def mark_away(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    username: str,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    deputy: str | None = None,
    reason: str = "",
) -> AbsenceRecord:
    _may_manage(actor, username)
    user = get_user(session, username)
    now = ctx.clock.now()
    starts_at = starts_at or now
    if starts_at.tzinfo is None or (ends_at is not None and ends_at.tzinfo is None):
        raise InvalidInput("时间必须带时区 (times must carry a timezone)",
                           {"field": "starts_at" if starts_at.tzinfo is None else "ends_at"})
    check_date(starts_at, "starts_at", ("开始时间", "start"))
    check_date(ends_at, "ends_at", ("结束时间", "end"))
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("结束时间必须晚于开始时间 (the end must be after the start)",
                           {"field": "ends_at"})
    if deputy:
        if deputy == username:
            raise InvalidInput("代理人不能是本人 (the deputy cannot be the user)",
                               {"field": "deputy"})
        if not get_user(session, deputy).is_active:
            raise InvalidInput("代理人账号已停用 (the deputy's account is disabled)",
                               {"field": "deputy"})
    if len(reason) > MAX_REASON:  # refused, not cut: what was typed is kept whole or not at all
        raise InvalidInput(f"外出原因过长，最多 {MAX_REASON} 字 (field reason: longer than "
                           f"{MAX_REASON} characters)", {"field": "reason", "problem": "too_long"})
    _refuse_overlap(session, user.username, starts_at, ends_at)
    absence = AbsenceRecord(
        username=user.username,
        starts_at=starts_at,
        ends_at=ends_at,
        deputy=deputy or None,
        reason=reason,
        set_by=actor.username,
        created_at=now,
    )
    session.add(absence)
    session.flush()
    store.audit(
        session,
        now,
        "absence_set",
        actor=actor.username,
        details={
            "username": username,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat() if ends_at else None,
            "deputy": deputy,
            "reason": reason,
        },
    )
    sync_all(ctx, session, users=[username])
    return absence


def _refuse_overlap(
    session: Session, username: str, starts_at: datetime, ends_at: datetime | None
) -> None:
    """Two absences of one person over the same time would each name a deputy for it: the
    second is refused (a repeated request used to add another, 27 for one user)."""
    query = select(AbsenceRecord.id).where(
        AbsenceRecord.username == username,
        or_(AbsenceRecord.ends_at.is_(None), AbsenceRecord.ends_at > starts_at),
    )
    if ends_at is not None:
        query = query.where(AbsenceRecord.starts_at < ends_at)
    existing = session.scalar(query.limit(1))
    if existing is not None:
        raise Conflict("这段时间已设置外出 (an absence already covers this time)",
                       {"field": "starts_at", "absence_id": existing})


def mark_back(ctx: EngineContext, session: Session, actor: Actor, username: str) -> int:
    """End the user's current absence now; returns how many tasks came back."""
    _may_manage(actor, username)
    get_user(session, username)
    now = ctx.clock.now()
    current = [
        a
        for a in session.scalars(
            select(AbsenceRecord).where(
                AbsenceRecord.username == username,
                AbsenceRecord.starts_at <= now,
                or_(AbsenceRecord.ends_at.is_(None), AbsenceRecord.ends_at > now),
            )
        )
    ]
    if not current:
        raise Conflict("该用户当前不在休假中 (the user is not away)", {"username": username})
    for absence in current:
        absence.ends_at = now
    session.flush()
    store.audit(session, now, "absence_ended", actor=actor.username, details={"username": username})
    return sync_all(ctx, session, users=[username])


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
            .where(HumanTaskRow.status.in_(LIVE_STATUSES), HumanTaskRow.assignee.in_(names))
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


def absence_dict(a: AbsenceRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat() if a.ends_at else None,
        "deputy": a.deputy,
        "reason": a.reason,
        "set_by": a.set_by,
    }


def list_absences(
    ctx: EngineContext, session: Session, actor: Actor, username: str | None = None
) -> list[dict[str, Any]]:
    query = select(AbsenceRecord).order_by(AbsenceRecord.starts_at.desc())
    if username:
        _may_manage(actor, username)
        query = query.where(AbsenceRecord.username == username)
    elif not may_manage_absence(actor, None):
        query = query.where(AbsenceRecord.username == actor.username)
    now = ctx.clock.now()
    out = []
    for a in session.scalars(query.limit(200)):
        item = absence_dict(a)
        item["active"] = a.starts_at <= now and (a.ends_at is None or a.ends_at > now)
        out.append(item)
    return out
