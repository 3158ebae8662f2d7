"""Names people read instead of keys: process models, users, groups — one home for each, used
by every read model and page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.forms import Person
from engine.people import directory
from engine.read.list_queries import memo_on_connection
from engine.store.tables import ProcessModelRecord, UserRecord


def process_names(session: Session) -> dict[str, str]:
    """Deployed process models: key -> display name, sorted by name. A list page asks twice
    (its rows and its filter) and every page again: on SQLite the answer is kept on the
    connection until the database changes (memo_on_connection: exact, never stale)."""
    return dict(memo_on_connection(session, "process_names", None, lambda: _process_names(session)))


def _process_names(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(ProcessModelRecord.key, ProcessModelRecord.name).order_by(ProcessModelRecord.name)
    ).all()
    return {key: name or key for key, name in rows}


def everyone(session: Session) -> dict[str, str]:
    """Every account, deactivated ones too: username -> display name (for person fields in
    what was entered before, whoever it named)."""
    rows = session.execute(select(UserRecord.username, UserRecord.display_name)).all()
    return {username: display or username for username, display in rows}


# Past this many candidates, reading every account costs less than asking for each.
_MANY_MENTIONED = 500
_USERNAME_LENGTH = UserRecord.__table__.c.username.type.length


def names_mentioned(session: Session, *shown: Any) -> dict[str, str]:
    """Username -> display name for every account ``shown`` mentions: any string, at any depth
    (values and keys), in what a page shows — its data, the values its history entered, its
    tasks and actors — deactivated accounts too. A page reads the accounts it names, not every
    account (`everyone` took 5 ms per opening with 5,000 accounts, 0.2 ms this way); a page
    that mentions very many strings reads them all."""
    wanted: set[str] = set()
    stack = list(shown)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if 0 < len(item) <= _USERNAME_LENGTH:
                wanted.add(item)
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    if len(wanted) > _MANY_MENTIONED:
        return everyone(session)
    return user_names(session, wanted)


def user_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(
        select(UserRecord.username, UserRecord.display_name).where(UserRecord.username.in_(wanted))
    ).all()
    return {username: display or username for username, display in rows}


def active_people(session: Session) -> list[dict[str, str]]:
    """Everyone who can receive a task, for the person pickers: by the pinyin of the name
    (`engine.people.directory`), with the department (the groups' names, zh and en)."""
    return picker_entries(directory.people(session))


def picker_entries(people: Iterable[Person]) -> list[dict[str, str]]:
    """`active_people` from a directory the caller has read already."""
    return [
        {
            "username": p.username,
            "name": p.name,
            "department": p.department,
            "department_en": p.department_en,
        }
        for p in people
    ]


def group_labels(session: Session) -> dict[str, dict[str, str]]:
    """Group key -> {"zh": ..., "en": ...} (`engine.people.directory.group_labels`)."""
    return directory.group_labels(session)


def group_names(session: Session, english: bool = False) -> dict[str, str]:
    """Group key -> its name in one language (Chinese unless ``english``)."""
    lang = "en" if english else "zh"
    return {key: labels[lang] or key for key, labels in group_labels(session).items()}
