"""Processing due timers in batches: claim up to N due instances in one transaction, wake each
inside its own SAVEPOINT, commit once per batch. The fired timer rows' DELETE and the audit
entries of the whole batch are written once, before its commit (`timer_rows.BatchWrites`).

A failing or conflicting instance rolls back only its savepoint: it keeps its incident/retry
behaviour and the rest of the batch commits. Used by `planflow tick` and by the background
scheduler.

On PostgreSQL a batch is claimed with one `SELECT … FOR UPDATE OF process_instances SKIP LOCKED
LIMIT N`: any number of workers share the work and never hold the same instance. The claimed rows
are read while locked, so a worker always fires from the latest state (an instance another worker
has just fired has no due timer left in it: exactly once). On SQLite one scheduler runs (see
engine.timing.scheduler); a batch first takes the database's writer lock, so the rows it reads stay
current until it commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.operations import save_hooks
from engine.store import instance_probe, timer_rows
from engine.store.db import transaction
from engine.store.tables import IncidentRecord, InstanceRecord, TimerRow
from engine.usecases.control import fire_due_timers

if TYPE_CHECKING:
    from engine.context import EngineContext

log = logging.getLogger(__name__)
ACTIVE = ("running", "waiting")
# A batch stops taking on instances after this long and commits. On SQLite it holds the
# database's writer lock (every other writer waits); on PostgreSQL only its instances' rows.
BATCH_SECONDS = {"sqlite": 0.5, "postgresql": 2.0}


@dataclass
class TickReport:
    woken: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def fired(self) -> int:
        return len(self.woken)

    @property
    def handled(self) -> int:
        return len(self.woken) + len(self.conflicts) + len(self.failed)

    def merge(self, other: TickReport) -> None:
        self.woken += other.woken
        self.conflicts += other.conflicts
        self.failed.update(other.failed)


def process_due(
    ctx: EngineContext,
    limit: int = 500,
    batch_size: int | None = None,
    stopping: Callable[[], bool] | None = None,
) -> TickReport:
    """Wake instances with a timer due as of the context's clock: at most `limit`, each at most
    once per call, `batch_size` (default: the setting) per transaction. `stopping` is asked
    before each batch: once it answers True no further batch is claimed (a scheduler shutting
    down finishes the batch in flight and takes on no more)."""
    size = max(1, batch_size or ctx.settings.timer_batch_size)
    report = TickReport()
    seen: set[int] = set()
    while len(seen) < limit:
        if stopping is not None and stopping():
            break
        if not _run_batch(ctx, report, seen, min(size, limit - len(seen))):
            break
    return report


def _run_batch(ctx: EngineContext, report: TickReport, seen: set[int], size: int) -> bool:
    """Claim and wake one batch. True when more may be due (the claim came back full, or the
    batch stopped early); False when not, or when the batch as a whole failed."""
    batch = TickReport()
    claimed: list[int] = []
    try:
        with transaction(ctx.sessions) as session:
            records, more = _claim(ctx, session, size, seen)
            if not records:
                return False
            claimed = [r.id for r in records]
            # Instances already handled in this call are not claimed again by it, whatever
            # their outcome (a still-due row would otherwise be taken over and over).
            seen.update(claimed)
            writes = timer_rows.BatchWrites()
            retries, known = _read_rows(session, claimed, ctx.clock.now(), writes)
            deadline = time.monotonic() + BATCH_SECONDS.get(ctx.db.dialect.name, 0.5)
            for position, instance_id in enumerate(claimed):
                if position and time.monotonic() > deadline:
                    # Untouched: their locks go with the commit and the next batch takes them.
                    seen.difference_update(claimed[position:])
                    more = True
                    break
                _wake(ctx, session, batch, instance_id, retries.get(instance_id, []),
                      known[instance_id])
            # The fired timers' DELETE and the audit entries of every instance that woke.
            writes.write(session)
    except Exception as exc:  # the claim or the commit failed: nothing of this batch was saved
        log.exception("timer batch of %s instance(s) failed", len(claimed))
        for instance_id in batch.woken:
            batch.failed[instance_id] = f"batch rolled back: {exc}"
        batch.woken = []
        report.merge(batch)
        return False
    report.merge(batch)
    return more


def _claim(
    ctx: EngineContext, session: Session, size: int, seen: Collection[int]
) -> tuple[list[InstanceRecord], bool]:
    """Up to `size` due instances, locked; and whether the due list may go on."""
    if ctx.db.dialect.name == "sqlite":
        # pysqlite begins a transaction only before a write, and a SAVEPOINT outside one would
        # commit on RELEASE. This write that matches nothing begins the batch's transaction and
        # takes the writer lock now (through engine.store.db's in-process lock too).
        session.execute(update(TimerRow.__table__).where(false()).values(kind=TimerRow.kind))
    query = (
        select(InstanceRecord)
        .join(TimerRow, TimerRow.instance_id == InstanceRecord.id)
        .where(
            TimerRow.due_at <= ctx.clock.now(),
            InstanceRecord.status.in_(ACTIVE),
            InstanceRecord.suspended.is_(False),
        )
        .order_by(TimerRow.due_at)
        .limit(size)
        # Walks the due-time index and locks instance rows, skipping those other workers hold.
        .with_for_update(of=InstanceRecord, skip_locked=True)
    )
    if seen:
        query = query.where(InstanceRecord.id.not_in(seen))
    rows = session.scalars(query).all()
    # An instance with several due timers comes once per timer.
    return list(dict.fromkeys(rows)), len(rows) == size


def _read_rows(
    session: Session, instance_ids: list[int], now: datetime, writes: timer_rows.BatchWrites
) -> tuple[dict[int, list[IncidentRecord]], dict[int, timer_rows.Known]]:
    """The batch's due retries (`store.due_retries`), and for each instance what its save need
    not read again (`timer_rows.Known`): its timer rows and unresolved incidents (one query
    for the batch; not for instances with a due retry, which resolves incidents before its
    save), whether it ever had a task operation and whether its tasks may need routing around
    an absence (one query each for the batch)."""
    rows = timer_rows.for_instances(session, instance_ids)
    due = [
        i
        for i, (_timers, pending) in rows.items()
        if any(p.retry_at is not None and p.retry_at <= now for p in pending)
    ]
    with_ops = save_hooks.with_task_operations(session, instance_ids)
    to_route = instance_probe.routing(session, instance_ids, now)
    known = {
        i: timer_rows.Known(
            timers=None if i in due else rows[i], task_operations=i in with_ops,
            to_route=i in to_route, batch=writes,
        )
        for i in instance_ids
    }
    return (_due_retries(session, due, now) if due else {}), known


def _due_retries(
    session: Session, instance_ids: list[int], now: datetime
) -> dict[int, list[IncidentRecord]]:
    """`store.due_retries` for several instances in one query."""
    out: dict[int, list[IncidentRecord]] = {}
    for incident in session.scalars(
        select(IncidentRecord).where(
            IncidentRecord.instance_id.in_(instance_ids),
            IncidentRecord.resolved_at.is_(None),
            IncidentRecord.retry_at <= now,
        )
    ):
        out.setdefault(incident.instance_id, []).append(incident)
    return out


def _wake(
    ctx: EngineContext,
    session: Session,
    report: TickReport,
    instance_id: int,
    retries: list[IncidentRecord],
    known: timer_rows.Known,
) -> None:
    """One instance inside its own savepoint of the batch's transaction; what it left for the
    batch to write goes if the savepoint rolls back."""
    part = known.batch.part() if known.batch is not None else nullcontext()
    try:
        with part, session.begin_nested():
            woken = fire_due_timers(ctx, session, instance_id, retries=retries, known=known)
            if woken is not None:
                report.woken.append(instance_id)
    except Conflict:
        # A user action saved the instance first; the next poll sees its fresh timer rows.
        report.conflicts.append(instance_id)
    except Exception as exc:  # one broken instance must not stop the others
        log.exception("waking instance %s failed", instance_id)
        report.failed[instance_id] = str(exc)


def next_due(session: Session) -> datetime | None:
    return session.scalar(select(TimerRow.due_at).order_by(TimerRow.due_at).limit(1))
