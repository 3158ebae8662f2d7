"""Processing due timers: find instances with due timer rows, wake each in its own transaction.

Used by `planflow tick` and by the background scheduler. On PostgreSQL each worker claims one
due instance at a time with `SELECT … FOR UPDATE SKIP LOCKED` on the instance row, so any number
of workers share the work and never wake the same instance at once. On SQLite a single
scheduler runs (see engine.scheduler) and walks the due list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict
from engine.instances import fire_due_timers
from engine.models import InstanceRecord, TimerRow

log = logging.getLogger(__name__)
ACTIVE = ("running", "waiting")


@dataclass
class TickReport:
    woken: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def fired(self) -> int:
        return len(self.woken)


def due_instance_ids(session: Session, as_of: datetime, limit: int = 500) -> list[int]:
    query = (
        select(TimerRow.instance_id)
        .join(InstanceRecord, InstanceRecord.id == TimerRow.instance_id)
        .where(
            TimerRow.due_at <= as_of,
            InstanceRecord.suspended.is_(False),
            InstanceRecord.status.in_(ACTIVE),
        )
        .order_by(TimerRow.due_at)
        .limit(limit)
    )
    return list(dict.fromkeys(session.scalars(query)))


def process_due(ctx: EngineContext, limit: int = 500) -> TickReport:
    """Wake every instance with a timer due as of the context's clock (at most `limit`)."""
    if ctx.db.dialect.name == "postgresql":
        return _process_claiming(ctx, limit)
    report = TickReport()
    with transaction(ctx.sessions) as session:
        ids = due_instance_ids(session, ctx.clock.now(), limit)
    for instance_id in ids:
        _wake(ctx, report, instance_id, lambda s, iid=instance_id: iid)
    return report


def _process_claiming(ctx: EngineContext, limit: int) -> TickReport:
    report = TickReport()

    def claim(session: Session) -> int | None:
        # Walk the due-time index; lock the instance row, skipping rows other workers hold.
        # Skip what already failed or conflicted in this round, or it would be claimed again.
        skip = [*report.failed, *report.conflicts] or [-1]
        return session.scalar(
            select(TimerRow.instance_id)
            .join(InstanceRecord, InstanceRecord.id == TimerRow.instance_id)
            .where(
                TimerRow.due_at <= ctx.clock.now(),
                InstanceRecord.status.in_(ACTIVE),
                InstanceRecord.suspended.is_(False),
                InstanceRecord.id.not_in(skip),
            )
            .order_by(TimerRow.due_at)
            .limit(1)
            .with_for_update(of=InstanceRecord, skip_locked=True)
        )

    for _ in range(limit):
        if not _wake(ctx, report, None, claim):
            break
    return report


def _wake(ctx: EngineContext, report: TickReport, instance_id: int | None, claim) -> bool:  # type: ignore[no-untyped-def]
    """One instance in one transaction. Returns False when there was nothing to claim."""
    claimed: int | None = instance_id
    try:
        with transaction(ctx.sessions) as session:
            claimed = claim(session)
            if claimed is None:
                return False
            if fire_due_timers(ctx, session, claimed) is not None:
                report.woken.append(claimed)
    except Conflict:
        # A user action saved the instance first; the next poll sees its fresh timer rows.
        report.conflicts.append(claimed or -1)
    except Exception as exc:  # one broken instance must not stop the others
        log.exception("waking instance %s failed", claimed)
        report.failed[claimed or -1] = str(exc)
    return True


def next_due(session: Session) -> datetime | None:
    return session.scalar(select(TimerRow.due_at).order_by(TimerRow.due_at).limit(1))
