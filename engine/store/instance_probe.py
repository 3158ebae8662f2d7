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

from engine.store import timer_rows
from engine.store.records_ops import (
    LIVE_STATUSES,
    AbsenceRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.store.tables import HumanTaskRow
from engine.store.timer_rows import INSTANCE_ID, TIMER_AND_INCIDENT_ROWS, Known, Pending, Timer

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


def _flag(name: str, condition: object) -> object:
    """A row ``(name, NULL, …)`` exactly when ``condition`` holds (no FROM: one row or none)."""
    return select(literal_column(f"'{name}'"), null(), null(), null(), null(), null()).where(
        condition
    )


# Built once (constructing a statement costs about as much as running it).
_PROBE = union_all(
    *TIMER_AND_INCIDENT_ROWS,
    _flag("o", _ANY_OPERATION),
    _flag(
        "r",
        or_(
            SOMEONE_AWAY,
            exists().where(
                TaskHandoverRecord.instance_id == _instance,
                TaskHandoverRecord.returned_at.is_(None),
            ),
        ),
    ),
    # The live task rows' ids: the save's task projection would otherwise read them again.
    select(literal_column("'h'"), null(), HumanTaskRow.id, null(), null(), null()).where(
        HumanTaskRow.instance_id == _instance, HumanTaskRow.status.in_(LIVE_STATUSES)
    ),
)


def has_task_operations(session: Session, instance_id: int) -> bool:
    """Whether the instance ever had a signer, delegation or held submission (one probe)."""
    return bool(session.execute(_HAS_OPERATIONS, {"instance_id": instance_id}).scalar())


def probe(session: Session, instance_id: int, now: datetime) -> Known:
    """The instance's timer rows and unresolved incidents, whether it has task operations,
    whether its tasks may need routing around an absence (`now`) and which of its task rows
    are live, in one statement."""
    timers: tuple[list[Timer], list[Pending]] = ([], [])
    ops = route = False
    live: set[str] = set()
    # A column read on the connection (the ORM adds nothing but its per-statement cost),
    # before the action changes anything.
    for row in session.connection().execute(_PROBE, {"instance_id": instance_id, "now": now}):
        if timer_rows.take_row(timers, row):
            continue
        if row.src == "h":
            live.add(row.task_id)
        ops, route = ops or row.src == "o", route or row.src == "r"
    return Known(timers=timers, task_operations=ops, to_route=route, live_tasks=frozenset(live))


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
