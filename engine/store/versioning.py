"""Writing an instance row, with optimistic locking: every change bumps its version, and a
write that finds the version moved on (another transaction committed first) becomes a Conflict
(HTTP 409). The row a save always writes goes out by prebuilt statements (`insert_record`,
`write_checked`) rather than the ORM's unit of work, and the record is left holding what is
stored; anything else pending in the session is flushed as usual (`flush_checked`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, inspect, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict
from engine.store.prepared import Prepared
from engine.store.tables import InstanceRecord

_TABLE = InstanceRecord.__table__
_COLUMNS = {attr.key: attr.columns[0] for attr in inspect(InstanceRecord).column_attrs}
_COLUMN_OF = {key: column.name for key, column in _COLUMNS.items()}
# One UPDATE per set of changed columns, built once (building one costs about as much as
# running it; a save changes the same few columns every time).
_UPDATES: dict[tuple[str, ...], Prepared] = {}


def flush_checked(session: Session, record: InstanceRecord) -> None:
    """`session.flush()`; a concurrent update of `record` raises Conflict."""
    instance_id = record.id  # read before a failed flush expires the object
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "该流程实例已被其他操作更新，请刷新后重试 (the instance was changed concurrently)",
            {"instance_id": instance_id},
        ) from exc


_INSERT = Prepared(insert(_TABLE).returning(_TABLE.c.id))


def insert_record(session: Session, record: InstanceRecord) -> None:
    """Insert a new instance row (its id comes back) at version 1, by one prebuilt INSERT
    rather than the unit of work (every start does this once); the record is then in the
    session as stored."""
    values: dict[str, Any] = {}
    for key, column in _COLUMNS.items():
        if key == "id":
            continue
        value = record.__dict__.get(key)
        default = column.default
        if value is None and default is not None:  # the column's default, as the ORM's
            value = default.arg if default.is_scalar else default.arg(None)  # type: ignore[attr-defined]
        values[key] = value
    values["lock_version"] = 1
    [(record.id,)] = _INSERT.rows(
        session.connection(), {_COLUMNS[key].name: value for key, value in values.items()}
    )
    for key, value in values.items():
        setattr(record, key, value)
    make_transient_to_detached(record)
    session.add(record)


def flush_record_first(session: Session, record: InstanceRecord) -> None:
    """`flush_checked`, with the instance row's pending changes written first by
    `write_checked`."""
    write_checked(session, record, {})
    flush_checked(session, record)


def write_checked(session: Session, record: InstanceRecord, values: dict[str, Any]) -> None:
    """Set ``values`` on the instance row, with any change still pending on `record`, by one
    prebuilt UPDATE that bumps its version, as the ORM's flush would, but without its unit of
    work (for the row every save writes, that cost more than the engine step itself). The
    record then holds the values as stored, with nothing left for the session to write. A
    concurrent update of `record` raises Conflict; a record not inserted yet gets the values
    as attributes (the ORM inserts it)."""
    state = inspect(record)
    if state.key is None:
        for key, value in values.items():
            setattr(record, key, value)
        return
    pending = {k: getattr(record, k) for k in state.committed_state
               if k in _COLUMN_OF and k != "lock_version"}
    changes = {**pending, **values}
    if not changes:
        return
    keys = tuple(sorted(changes))
    version = record.lock_version
    written = _update_of(keys).run(
        session.connection(),
        {**changes, "b_id": record.id, "b_version": version, "lock_version": version + 1},
    )
    if written != 1:
        raise Conflict(
            "该流程实例已被其他操作更新，请刷新后重试 (the instance was changed concurrently)",
            {"instance_id": record.id},
        )
    for key, value in changes.items():
        set_committed_value(record, key, value)
    set_committed_value(record, "lock_version", version + 1)


def _update_of(keys: tuple[str, ...]) -> Prepared:
    statement = _UPDATES.get(keys)
    if statement is None:
        statement = _UPDATES[keys] = Prepared(
            update(_TABLE)
            .where(_TABLE.c.id == bindparam("b_id"),
                   _TABLE.c.lock_version == bindparam("b_version"))
            .values({_COLUMN_OF[k]: bindparam(k) for k in (*keys, "lock_version")})
        )
    return statement


def touch(session: Session, record: InstanceRecord, now: datetime) -> None:
    """Bump the instance's version without changing its state, so that a concurrent operation
    on the same instance cannot also commit."""
    record.updated_at = now
    flag_modified(record, "updated_at")  # bump the version even if the time did not move
    flush_checked(session, record)
