"""What an action on one instance needs to know before it saves, read in one statement.

A save asks three questions besides the instance itself: its timer rows and unresolved
incidents (`timer_rows.sync_timers`, the status), whether it ever had a task operation (加签,
delegation, held submission: `engine.operations.save_hooks`), and whether anyone is away or
one of its tasks is handed over (`engine.people.absence.apply_for_instance`). Asked one by one
they cost three round trips through the ORM on every completion; `probe` answers all three in
one UNION and returns them as a `timer_rows.Known`, which the caller passes to the save. A
timer batch asks the same for all its instances (`routing`, beside `timer_rows.for_instances`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, exists, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from engine.store.records_ops import (
    AbsenceRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.store.tables import IncidentRecord, TimerRow
from engine.store.timer_rows import Known, Pending, Timer

_instance = bindparam("instance_id")
_now = bindparam("now")

_SOMEONE_AWAY = exists().where(
    AbsenceRecord.starts_at <= _now,
    or_(AbsenceRecord.ends_at.is_(None), AbsenceRecord.ends_at > _now),
)


def _flag(name: str, condition: object) -> object:
    """A row ``(name, NULL, …)`` exactly when ``condition`` holds (no FROM: one row or none)."""
    return select(literal_column(f"'{name}'"), null(), null(), null(), null(), null()).where(
        condition
    )


# Built once (constructing a statement costs about as much as running it).
_PROBE = union_all(
    select(
        literal_column("'t'").label("src"),
        TimerRow.id,
        TimerRow.task_id,
        TimerRow.element_id,
        TimerRow.kind,
        TimerRow.due_at.label("at"),
    ).where(TimerRow.instance_id == _instance),
    select(
        literal_column("'i'"),
        IncidentRecord.id,
        IncidentRecord.task_id,
        IncidentRecord.element_id,
        literal_column("'retry'"),
        IncidentRecord.retry_at,
    ).where(IncidentRecord.instance_id == _instance, IncidentRecord.resolved_at.is_(None)),
    _flag(
        "o",
        or_(
            exists().where(TaskSignerRecord.instance_id == _instance),
            exists().where(TaskDelegationRecord.instance_id == _instance),
            exists().where(TaskSubmissionRecord.instance_id == _instance),
        ),
    ),
    _flag(
        "r",
        or_(
            _SOMEONE_AWAY,
            exists().where(
                TaskHandoverRecord.instance_id == _instance,
                TaskHandoverRecord.returned_at.is_(None),
            ),
        ),
    ),
)


def probe(session: Session, instance_id: int, now: datetime) -> Known:
    """The instance's timer rows and unresolved incidents, whether it has task operations and
    whether its tasks may need routing around an absence (`now`), in one statement."""
    timers: list[Timer] = []
    pending: list[Pending] = []
    ops = route = False
    for src, id_, task_id, element, kind, at in session.execute(
        _PROBE, {"instance_id": instance_id, "now": now}
    ):
        if src == "t":
            timers.append(Timer(id_, task_id, element, kind, at))
        elif src == "i":
            pending.append(Pending(task_id, element, at))
        elif src == "o":
            ops = True
        else:
            route = True
    return Known(timers=(timers, pending), task_operations=ops, to_route=route)


_ids = bindparam("ids", expanding=True)
_ROUTING = union_all(
    select(literal_column("0").label("instance_id")).where(_SOMEONE_AWAY),
    select(TaskHandoverRecord.instance_id).where(
        TaskHandoverRecord.instance_id.in_(_ids), TaskHandoverRecord.returned_at.is_(None)
    ),
)


def routing(session: Session, instance_ids: list[int], now: datetime) -> set[int]:
    """Of ``instance_ids``, those whose tasks may need routing around an absence at ``now``
    (all of them when anyone is away), in one statement."""
    found = set(session.scalars(_ROUTING, {"ids": instance_ids, "now": now}))
    return set(instance_ids) if 0 in found else found
