"""The timer rows of an instance (waiting BPMN timers and scheduled service retries), kept in
step with its state at every save (`engine.store.instance_state.save`). The scheduler polls these
rows instead
of restoring workflows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import bindparam, delete, insert, literal_column, select, union_all
from sqlalchemy.orm import Session

from engine.bpmn.runtime import waiting_timers
from engine.store.held_audits import insert_audits
from engine.store.prepared import Prepared
from engine.store.tables import IncidentRecord, InstanceRecord, TimerRow


class Pending(NamedTuple):
    """An unresolved incident: waits for a person (`retry_at` None) or for a scheduled retry."""

    task_id: str | None
    element_id: str | None
    retry_at: datetime | None


class Timer(NamedTuple):
    id: int
    task_id: str
    element_id: str
    kind: str
    due_at: datetime


INSTANCE_ID = bindparam("instance_id")
# The instance's timer rows and its unresolved incidents as rows of one shape
# (src, id, task_id, element_id, kind, at); built once.
_TIMERS_AND_INCIDENTS = union_all(
    select(
        literal_column("'t'").label("src"),
        TimerRow.id,
        TimerRow.task_id,
        TimerRow.element_id,
        TimerRow.kind,
        TimerRow.due_at.label("at"),
    ).where(TimerRow.instance_id == INSTANCE_ID),
    select(
        literal_column("'i'"),
        IncidentRecord.id,
        IncidentRecord.task_id,
        IncidentRecord.element_id,
        literal_column("'retry'"),
        IncidentRecord.retry_at,
    ).where(IncidentRecord.instance_id == INSTANCE_ID, IncidentRecord.resolved_at.is_(None)),
)


def take_row(out: tuple[list[Timer], list[Pending]], row: Sequence[Any]) -> None:
    """Add one row of the timers-and-incidents shape (src, id, task_id, element_id, kind, at)
    to ``out``."""
    src, id_, task_id, element, kind, at = row
    if src == "t":
        out[0].append(Timer(id_, task_id, element, kind, at))
    else:
        out[1].append(Pending(task_id, element, at))


def timers_and_incidents(
    session: Session, instance_id: int
) -> tuple[list[Timer], list[Pending]]:
    out: tuple[list[Timer], list[Pending]] = ([], [])
    for row in session.execute(_TIMERS_AND_INCIDENTS, {"instance_id": instance_id}):
        take_row(out, row)
    return out


_ids = bindparam("ids", expanding=True)
_incident_ids = bindparam("incident_ids", expanding=True)
_BATCH_TIMERS_AND_INCIDENTS = union_all(
    select(
        TimerRow.instance_id,
        literal_column("'t'").label("src"),
        TimerRow.id,
        TimerRow.task_id,
        TimerRow.element_id,
        TimerRow.kind,
        TimerRow.due_at.label("at"),
    ).where(TimerRow.instance_id.in_(_ids)),
    select(
        IncidentRecord.instance_id,
        literal_column("'i'"),
        IncidentRecord.id,
        IncidentRecord.task_id,
        IncidentRecord.element_id,
        literal_column("'retry'"),
        IncidentRecord.retry_at,
    ).where(IncidentRecord.instance_id.in_(_incident_ids), IncidentRecord.resolved_at.is_(None)),
)


def for_instances(
    session: Session, instance_ids: list[int]
) -> dict[int, tuple[list[Timer], list[Pending]]]:
    """`timers_and_incidents` of several instances in one statement."""
    out: dict[int, tuple[list[Timer], list[Pending]]] = {i: ([], []) for i in instance_ids}
    rows = session.execute(
        _BATCH_TIMERS_AND_INCIDENTS, {"ids": instance_ids, "incident_ids": instance_ids}
    )
    for instance_id, *row in rows:
        take_row(out[instance_id], row)
    return out


@dataclass
class BatchWrites:
    """Writes a timer batch makes once for all its instances instead of once per instance:
    the fired timer rows' DELETE and the audit entries. Each instance adds its part inside
    ``part()``, which drops it again if the instance fails (its savepoint rolls back);
    ``write`` runs before the batch commits."""

    timer_ids: list[int] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)

    @contextmanager
    def part(self) -> Iterator[None]:
        marks = len(self.timer_ids), len(self.audits)
        try:
            yield
        except BaseException:
            del self.timer_ids[marks[0]:]
            del self.audits[marks[1]:]
            raise

    def write(self, session: Session) -> None:
        if self.timer_ids:
            session.execute(_DELETE, {"ids": self.timer_ids})
        insert_audits(session, self.audits)
        self.timer_ids, self.audits = [], []


@dataclass(frozen=True, slots=True)
class Known:
    """What the caller already read about one instance for its save, so the save need not
    read it again: a timer batch (engine.timing.timers) reads it for all its instances in one
    statement each, and holds their locks meanwhile, so nothing else writes those rows.
    ``None`` means not known: the save reads it."""

    timers: tuple[list[Timer], list[Pending]] | None = None
    task_operations: bool | None = None
    # Whether anyone is away or a task of the instance is handed over (the absence routing).
    to_route: bool | None = None
    # The ids of the instance's live task rows (open or held), read with the probe: the task
    # projection then takes those rows from the session instead of reading them again.
    live_tasks: frozenset[str] | None = None
    # A timer batch's: where the save leaves its timer DELETE and audit entries.
    batch: BatchWrites | None = None


# Built once (constructing it cost more than running it); a plain table DELETE: the rows are
# never loaded as objects, so the ORM has nothing to synchronize.
_DELETE = delete(TimerRow.__table__).where(
    TimerRow.__table__.c.id.in_(bindparam("ids", expanding=True))
)

_INSERT = Prepared(insert(TimerRow.__table__))


def sync_timers(
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    existing: list[Timer],
    unresolved: list[Pending],
    batch: BatchWrites | None = None,
) -> None:
    """Make the instance's timer rows match its waiting timers and scheduled retries, writing
    only what changed (most saves change nothing here); stale rows are left to ``batch`` to
    delete, if given."""
    wanted: list[tuple[str, str, str, datetime]] = []
    if record.status != "terminated":
        wanted = [
            (i.task_id or "", i.element_id or "", "retry", i.retry_at)
            for i in unresolved
            if i.retry_at is not None
        ]
        wanted += [(t.task_id, t.element_id, t.kind, t.due_at) for t in waiting_timers(workflow)]
    missing = list(wanted)
    stale: list[int] = []
    for row in existing:
        key = (row.task_id, row.element_id, row.kind, row.due_at)
        if key in missing:
            missing.remove(key)
        else:
            stale.append(row.id)
    if stale and batch is not None:
        batch.timer_ids += stale
    elif stale:
        session.execute(_DELETE, {"ids": stale})
    if missing:  # one executemany: nothing reads these rows back as objects
        _INSERT.run(session.connection(), [
            {"instance_id": record.id, "task_id": task_id, "element_id": element, "kind": kind,
             "due_at": due}
            for task_id, element, kind, due in missing
        ])
