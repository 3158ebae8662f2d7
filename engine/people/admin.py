"""用户与角色: what the admin pages do to users, groups and memberships.

Builds on engine.people.accounts (which creates users and checks passwords) and adds the
administrator's
operations: (de)activating accounts, resetting passwords, changing memberships, creating groups.
Every change is written to the audit log (instance_id empty). Two guards keep the system
administrable: nobody deactivates themselves or takes away their own admin membership, and the
last active administrator cannot be removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput
from engine.people.accounts import Actor, add_group, add_user, get_user, hash_password, set_groups
from engine.store.instance_state import audit
from engine.store.tables import ApiTokenRecord, GroupRecord, MembershipRecord, UserRecord

ADMIN_GROUP = "admin"
GROUP_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    email: str | None
    is_active: bool
    is_admin: bool
    groups: list[str]
    created_at: datetime


def list_users(session: Session) -> list[UserRow]:
    users = session.scalars(select(UserRecord).order_by(UserRecord.username)).all()
    members: dict[int, list[str]] = {}
    for user_id, group in session.execute(
        select(MembershipRecord.user_id, MembershipRecord.group_name).order_by(
            MembershipRecord.group_name
        )
    ):
        members.setdefault(user_id, []).append(group)
    return [
        UserRow(
            username=u.username,
            display_name=u.display_name,
            email=u.email,
            is_active=u.is_active,
            is_admin=u.is_admin or ADMIN_GROUP in members.get(u.id, []),
            groups=members.get(u.id, []),
            created_at=u.created_at,
        )
        for u in users
    ]


def list_groups(session: Session) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            select(MembershipRecord.group_name, func.count())
            .join(UserRecord, UserRecord.id == MembershipRecord.user_id)
            .where(UserRecord.is_active.is_(True))
            .group_by(MembershipRecord.group_name)
        ).all()
    )
    return [
        {
            "name": g.name,
            "display_name": g.display_name,
            "display_name_en": g.display_name_en,
            "members": counts.get(g.name, 0),
        }
        for g in session.scalars(select(GroupRecord).order_by(GroupRecord.name))
    ]


def create_user(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    username: str,
    password: str,
    display_name: str,
    email: str | None,
    groups: list[str],
) -> UserRecord:
    display_name = display_name.strip()[:128]
    email = (email or "").strip()[:256] or None
    if email and "@" not in email:
        raise InvalidInput("邮箱格式不正确 (invalid e-mail address)", {"field": "email"})
    user = add_user(
        session,
        username,
        password,
        now=now,
        display_name=display_name or None,
        groups=groups,
        email=email,
    )
    audit(
        session,
        now,
        "user_created",
        actor=actor.username,
        details={"username": user.username, "groups": sorted(set(groups))},
    )
    return user


def set_active(session: Session, actor: Actor, now: datetime, username: str, active: bool) -> None:
    user = get_user(session, username)
    if user.is_active == active:
        return
    if not active:
        if user.username == actor.username:
            raise InvalidInput("不能停用自己的账号 (you cannot deactivate yourself)")
        _keep_an_admin(session, user, still_admin=False)
        _revoke_tokens(session, user, now)
    user.is_active = active
    audit(
        session,
        now,
        "user_reactivated" if active else "user_deactivated",
        actor=actor.username,
        details={"username": user.username},
    )
    session.flush()


def reset_password(
    session: Session, actor: Actor, now: datetime, username: str, password: str
) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            "密码至少 8 位 (password must have at least 8 characters)", {"field": "password"}
        )
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    # Tokens issued under the old password stop working with it.
    _revoke_tokens(session, user, now)
    audit(session, now, "password_reset", actor=actor.username, details={"username": username})
    session.flush()


def change_groups(
    session: Session, actor: Actor, now: datetime, username: str, groups: list[str]
) -> None:
    user = get_user(session, username)
    before = sorted(m.group_name for m in user.memberships)
    wanted = sorted(set(groups))
    if wanted == before:
        return
    makes_admin = ADMIN_GROUP in wanted
    if not makes_admin:
        if user.username == actor.username and (user.is_admin or ADMIN_GROUP in before):
            raise InvalidInput("不能取消自己的管理员身份 (you cannot remove your own admin role)")
        _keep_an_admin(session, user, still_admin=False)
    set_groups(session, user, wanted)
    # Admin is a membership; the flag follows it so removing the group removes the rights.
    user.is_admin = makes_admin
    audit(
        session,
        now,
        "groups_changed",
        actor=actor.username,
        details={"username": username, "before": before, "after": wanted},
    )
    session.flush()


def create_group(
    session: Session, actor: Actor, now: datetime, name: str, display_name: str, display_en: str
) -> None:
    name = name.strip()
    display_name = display_name.strip()[:128]
    if not GROUP_NAME.match(name):
        raise InvalidInput(
            "用户组标识只能包含小写字母、数字和下划线，且以字母开头 "
            "(group id: lowercase letters, digits and _, starting with a letter)",
            {"field": "name"},
        )
    if not display_name:
        raise InvalidInput("请填写用户组名称 (display name required)", {"field": "display_name"})
    taken = session.scalar(select(GroupRecord).where(GroupRecord.display_name == display_name))
    if taken is not None:
        raise Conflict(f"用户组名称 {display_name} 已被使用 (display name in use)")
    add_group(session, name, display_name, display_en.strip()[:128])
    audit(
        session,
        now,
        "group_created",
        actor=actor.username,
        details={"group": name, "display_name": display_name},
    )
    session.flush()


def _active_admins(session: Session) -> set[int]:
    flagged = set(
        session.scalars(
            select(UserRecord.id).where(UserRecord.is_active.is_(True), UserRecord.is_admin)
        )
    )
    members = set(
        session.scalars(
            select(UserRecord.id)
            .join(MembershipRecord, MembershipRecord.user_id == UserRecord.id)
            .where(UserRecord.is_active.is_(True), MembershipRecord.group_name == ADMIN_GROUP)
        )
    )
    return flagged | members


def _keep_an_admin(session: Session, user: UserRecord, still_admin: bool) -> None:
    admins = _active_admins(session)
    if not still_admin and admins == {user.id}:
        raise InvalidInput(
            "至少需要保留一名启用的管理员 (at least one active administrator must remain)"
        )


def _revoke_tokens(session: Session, user: UserRecord, now: datetime) -> None:
    session.execute(
        update(ApiTokenRecord)
        .where(ApiTokenRecord.user_id == user.id, ApiTokenRecord.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --- working-day calendar ----------------------------------------------------------------------

MAX_RANGE_DAYS = 31


def edit_calendar_days(
    session: Session,
    actor: Actor,
    now: datetime,
    first: date,
    last: date,
    kind: str | None,
    name: str,
) -> int:
    """Mark every day from `first` to `last` as a holiday (放假), a make-up working day (调休上班)
    or, with `kind=None`, an ordinary day again. A year touched for the first time becomes
    provisional (engine.store.calendar_rows). Returns the number of days written."""
    from engine.store.calendar_rows import set_day

    _check_calendar_year(first.year)
    _check_calendar_year(last.year)
    if last < first:
        raise InvalidInput("结束日期早于开始日期 (the range ends before it starts)")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"一次最多修改 {MAX_RANGE_DAYS} 天 (at most {MAX_RANGE_DAYS} days at a time)"
        )
    name = name.strip()[:64]
    if kind is not None and not name:
        raise InvalidInput("请填写名称，如“春节”或“春节调休” (a name is required)")
    for offset in range(days):
        set_day(session, first + timedelta(days=offset), kind, name)
    audit(
        session,
        now,
        "calendar_changed",
        actor=actor.username,
        details={"from": first.isoformat(), "to": last.isoformat(), "kind": kind, "name": name},
    )
    session.flush()
    return days


def set_calendar_year(
    session: Session, actor: Actor, now: datetime, year: int, status: str
) -> None:
    from engine.store.calendar_rows import set_year_status

    _check_calendar_year(year)
    set_year_status(session, year, status)
    audit(
        session,
        now,
        "calendar_year_set",
        actor=actor.username,
        details={"year": year, "status": status},
    )
    session.flush()


def _check_calendar_year(year: int) -> None:
    """The working-day calendar keeps the years 2000–2100 (its data and the page's years)."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("年份超出范围 (year out of range)")
