"""A角/B角 absences: who is away when, set by themselves or a manager (`mark_away`, `mark_back`,
`list_absences`). Setting or ending one hands tasks over or back at once
(`engine.people.handover.sync_all`); the hand-over rules live there.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.access import may_manage_absence
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.people.accounts import Actor, get_user
from engine.people.handover import sync_all
from engine.store import instance_state as store
from engine.store.records_ops import (
    AbsenceRecord,
)
from engine.time_range import check_date

MAX_REASON = 1000

if TYPE_CHECKING:
    from engine.context import EngineContext


def _may_manage(actor: Actor, username: str) -> None:
    if not may_manage_absence(actor, username):
        raise Forbidden(
            "只能为自己设置，或由经理/管理员设置 "
            "(only the user, a manager or an admin may do this)",
            {"username": username},
        )


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
