"""What an action on one instance needs to know before it saves, asked with what it reads
anyway.

A save asks three questions besides the instance itself: its timer rows and unresolved
incidents (`timer_rows.sync_timers`, the status), whether it ever had a task operation (加签,
delegation, held submission: `engine.operations.save_hooks`), and whether anyone is away or
one of its tasks is handed over (`engine.people.absence.apply_for_instance`); it also needs the
instance's live task rows. Asked one by one they cost round trips through the ORM on every
completion. A completion asks them as columns of the task's own read (`ABOUT_THE_INSTANCE`,
added to `engine.access.task_access`'s statement) and passes the answers to the save as a
`timer_rows.Known` (`known_about`). A timer batch asks the same for all its instances
(`routing`, beside `timer_rows.for_instances`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from engine.store.records_ops import (
    LIVE_STATUSES,
    AbsenceRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.store.tables import HumanTaskRow, IncidentRecord, TimerRow
from engine.store.timer_rows import INSTANCE_ID, Known

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
# the task's instance: a completion then needs no statement of its own for them. Timer rows and
# unresolved incidents come as one flag: an instance with none (most completions) needs nothing
# more, the save reads them for one with some.
_live = aliased(HumanTaskRow)
_task_instance = HumanTaskRow.instance_id


def _of_task(*conditions: Any) -> Any:
    # Correlated to the task row only: the task's read also joins its delegation, which the
    # operations' question must not take for its own.
    return exists().where(*conditions).correlate(HumanTaskRow)


ABOUT_THE_INSTANCE = (
    or_(
        _of_task(TimerRow.instance_id == _task_instance),
        _of_task(IncidentRecord.instance_id == _task_instance,
                 IncidentRecord.resolved_at.is_(None)),
    ).label("has_timers"),
    or_(*(_of_task(r.instance_id == _task_instance) for r in OPERATION_RECORDS)).label(
        "has_operations"
    ),
    or_(
        SOMEONE_AWAY,
        _of_task(TaskHandoverRecord.instance_id == _task_instance,
                 TaskHandoverRecord.returned_at.is_(None)),
    ).label("to_route"),
    select(func.aggregate_strings(_live.id, ","))
    .where(_live.instance_id == _task_instance, _live.status.in_(LIVE_STATUSES))
    .correlate(HumanTaskRow)
    .scalar_subquery()
    .label("live_tasks"),
)


def known_about(values: Sequence[Any]) -> Known:
    """`ABOUT_THE_INSTANCE`'s values as the save's `timer_rows.Known` (timers not known when
    there are some: the save reads them)."""
    has_timers, ops, route, live = values
    return Known(
        timers=None if has_timers else ([], []),
        task_operations=bool(ops),
        to_route=bool(route),
        live_tasks=frozenset(live.split(",")) if live else frozenset(),
    )


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
