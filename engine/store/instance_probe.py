"""What an action on one instance needs to know before it saves, asked with what it reads
anyway.

A save asks three questions besides the instance itself: its timer rows and unresolved
incidents (`timer_rows.sync_timers`, the status), whether it ever had a task operation (加签,
delegation, held submission: `engine.operations.save_hooks`), and whether anyone is away or
one of its tasks is handed over (`engine.people.handover.apply_for_instance`); it also needs the
instance's live task rows. Asked one by one they cost round trips through the ORM on every
completion. A completion asks them as columns of the task's own read (`about_the_instance`,
added to `engine.access.task_access`'s statement) and passes the answers to the save as a
`timer_rows.Known` (`known_about`). A timer batch asks the same for all its instances
(`routing`, beside `timer_rows.for_instances`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from engine.store.records_ops import (
    AbsenceRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
    is_live,
)
from engine.store.tables import HumanTaskRow, IncidentRecord, TimerRow
from engine.store.timer_rows import INSTANCE_ID, Known, Pending, Timer

_instance = INSTANCE_ID
_now = bindparam("now")

# The tables of planflow's task operations (加签, delegation, held submission): an instance
# with none of their rows skips the operations' lookups at every save.
OPERATION_RECORDS = (TaskSignerRecord, TaskDelegationRecord, TaskSubmissionRecord)
_ANY_OPERATION = or_(*(exists().where(r.instance_id == _instance) for r in OPERATION_RECORDS))
_HAS_OPERATIONS = select(_ANY_OPERATION)

# Whether anyone is away at `now` (a start asks it with the model's version: a new instance
# has no handovers, so this is its whole routing question).
SOMEONE_AWAY = exists().where(
    AbsenceRecord.starts_at <= _now,
    or_(AbsenceRecord.ends_at.is_(None), AbsenceRecord.ends_at > _now),
)


# The same questions as columns of the task's own read (`engine.access.task_access`), asked of
# the task's instance: a completion then needs no statement of its own for them. Rows (timers,
# incidents) come as one JSON array each, which SQLite and PostgreSQL spell differently.
_live = aliased(HumanTaskRow)
_task_instance = HumanTaskRow.instance_id


def _of_task(*conditions: Any) -> Any:
    # Correlated to the task row only: the task's read also joins its delegation, which the
    # operations' question must not take for its own.
    return exists().where(*conditions).correlate(HumanTaskRow)


def _rows(dialect: str, *columns: Any) -> Any:
    """The columns of every row, as JSON text ``[[…], …]`` (None or ``[]`` for no row)."""
    if dialect == "sqlite":
        return func.json_group_array(func.json_array(*columns))
    return cast(func.json_agg(func.json_build_array(*columns)), Text)


def _joined(dialect: str, column: Any) -> Any:
    """Every row's ``column``, comma-separated (None for no row). Not `func.aggregate_strings`:
    its separator is a bind that SQLAlchemy writes into the statement again at every run."""
    name = "group_concat" if dialect == "sqlite" else "string_agg"
    return getattr(func, name)(column, literal_column("','"))


def about_the_instance(dialect: str) -> tuple[Any, ...]:
    """The columns (for ``dialect``, the database's name) that `known_about` reads."""
    return (
        select(_rows(dialect, TimerRow.id, TimerRow.task_id, TimerRow.element_id,
                     TimerRow.kind, TimerRow.due_at))
        .where(TimerRow.instance_id == _task_instance)
        .correlate(HumanTaskRow).scalar_subquery().label("timers"),
        select(_rows(dialect, IncidentRecord.task_id, IncidentRecord.element_id,
                     IncidentRecord.retry_at))
        .where(IncidentRecord.instance_id == _task_instance,
               IncidentRecord.resolved_at.is_(None))
        .correlate(HumanTaskRow).scalar_subquery().label("incidents"),
        or_(*(_of_task(r.instance_id == _task_instance) for r in OPERATION_RECORDS)).label(
            "has_operations"
        ),
        or_(
            SOMEONE_AWAY,
            _of_task(TaskHandoverRecord.instance_id == _task_instance,
                     TaskHandoverRecord.returned_at.is_(None)),
        ).label("to_route"),
        select(_joined(dialect, _live.id))
        .where(_live.instance_id == _task_instance, is_live(_live.status))
        .correlate(HumanTaskRow).scalar_subquery().label("live_tasks"),
    )


def known_about(values: Sequence[Any]) -> Known:
    """`about_the_instance`'s values as the save's `timer_rows.Known`."""
    timers, incidents, ops, route, live = values
    return Known(
        timers=(
            [Timer(id_, task, element, kind, _instant(at))
             for id_, task, element, kind, at in json.loads(timers or "[]")],
            [Pending(task, element, _instant(at) if at else None)
             for task, element, at in json.loads(incidents or "[]")],
        ),
        task_operations=bool(ops),
        to_route=bool(route),
        live_tasks=frozenset(live.split(",")) if live else frozenset(),
    )


def _instant(text: str) -> datetime:
    # As `tables.UTCDateTime` reads a column: SQLite's text is UTC without an offset,
    # PostgreSQL's JSON carries one (the session's zone).
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def has_task_operations(session: Session, instance_id: int) -> bool:
    """Whether the instance ever had a signer, delegation or held submission (one probe)."""
    return bool(session.execute(_HAS_OPERATIONS, {"instance_id": instance_id}).scalar())


_ids = bindparam("ids", expanding=True)
_ROUTING = union_all(
    select(literal_column("0").label("instance_id")).where(SOMEONE_AWAY),
    select(TaskHandoverRecord.instance_id).where(
        TaskHandoverRecord.instance_id.in_(_ids), TaskHandoverRecord.returned_at.is_(None)
    ),
)


def routing(session: Session, instance_ids: list[int], now: datetime) -> set[int]:
    """Of ``instance_ids``, those whose tasks may need routing around an absence at ``now``
    (all of them when anyone is away), in one statement."""
    found = set(session.scalars(_ROUTING, {"ids": instance_ids, "now": now}))
    return set(instance_ids) if 0 in found else found
