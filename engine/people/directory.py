"""The people directory: every active user with their groups, in the order pickers list them.

One query (users, memberships, group names) gives each active user as an
``engine.forms.Person`` (display name, groups, 部门 = the groups' names). The order is the one
Chinese staff expect, by the pinyin of the name: GB2312 (the first 3,755 characters of
GB18030, which hold every common surname) is in pinyin order, so the GB18030 bytes of a name
sort it without a pinyin table; Latin names come first, a name's rare characters after the
common ones. Person pickers (form fields, 转办/委派/加签/抄送, 外出设置) and the person-field
rule of form validation read this directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.forms import Person
from engine.people.accounts import STANDARD_GROUPS
from engine.store.tables import GroupRecord, MembershipRecord, UserRecord

_GROUP_ORDER = {key: i for i, (key, _, _) in enumerate(STANDARD_GROUPS)}


def sort_key(name: str, username: str) -> tuple[bytes, str]:
    """Pinyin order of ``name`` (see the module docstring), then the username."""
    return name.casefold().encode("gb18030", errors="replace"), username


def group_labels(session: Session) -> dict[str, dict[str, str]]:
    """Group key -> {"zh": ..., "en": ...}, the one rule for a group's name on every page, list,
    picker and report: its display name, else its key; in English its English name, else the
    Chinese one (never empty)."""
    rows = session.execute(
        select(GroupRecord.name, GroupRecord.display_name, GroupRecord.display_name_en)
    )
    return {
        name: {"zh": display or name, "en": display_en or display or name}
        for name, display, display_en in rows
    }


def people(
    session: Session, labels: Mapping[str, Mapping[str, str]] | None = None
) -> list[Person]:
    """Every active user, by the pinyin of their name. ``labels``: `group_labels`, when the
    caller has read them already (a task page shows group names and a person picker)."""
    if labels is None:
        labels = group_labels(session)
    groups: dict[int, list[str]] = {}
    for user_id, group in session.execute(
        select(MembershipRecord.user_id, MembershipRecord.group_name)
    ):
        groups.setdefault(user_id, []).append(group)
    users = session.execute(
        select(UserRecord.id, UserRecord.username, UserRecord.display_name).where(
            UserRecord.is_active.is_(True)
        )
    ).all()
    out = []
    for user_id, username, display in users:
        mine = _ordered(groups.get(user_id, ()))
        out.append(
            Person(
                username=username,
                name=display or username,
                groups=frozenset(mine),
                department="、".join(_label(labels, g, "zh") for g in mine),
                department_en=", ".join(_label(labels, g, "en") for g in mine),
            )
        )
    out.sort(key=lambda p: sort_key(p.name, p.username))
    return out


def roster(session: Session) -> dict[str, Person]:
    """The active users by username (what person fields are validated against)."""
    return {p.username: p for p in people(session)}


def _label(labels: Mapping[str, Mapping[str, str]], group: str, lang: str) -> str:
    entry = labels.get(group)
    return entry[lang] if entry else group


def _ordered(groups: Iterable[str]) -> list[str]:
    return sorted(set(groups), key=lambda g: (_GROUP_ORDER.get(g, len(_GROUP_ORDER)), g))
