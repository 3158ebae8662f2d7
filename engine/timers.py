"""Processing due timers: find instances with due timer rows, wake each in its own transaction.

Used by `planflow tick` and by the background scheduler. On PostgreSQL the due rows are claimed
with FOR UPDATE SKIP LOCKED so several workers never wake the same instance at once.
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
            InstanceRecord.status.in_(("running", "waiting")),
        )
        .order_by(TimerRow.due_at)
        .limit(limit)
    )
    return list(dict.fromkeys(session.scalars(query)))


def process_due(ctx: EngineContext, limit: int = 500) -> TickReport:
    """Wake every instance with a timer due as of the context's clock."""
    report = TickReport()
    with transaction(ctx.sessions) as session:
        ids = due_instance_ids(session, ctx.clock.now(), limit)
    for instance_id in ids:
        try:
            with transaction(ctx.sessions) as session:
                if _claim(session, instance_id, ctx.clock.now()):
                    fire_due_timers(ctx, session, instance_id)
                    report.woken.append(instance_id)
        except Conflict:
            # Someone else (a user action or another worker) saved it first; the next poll
            # sees the fresh timer rows.
            report.conflicts.append(instance_id)
        except Exception as exc:  # one broken instance must not stop the others
            log.exception("waking instance %s failed", instance_id)
            report.failed[instance_id] = str(exc)
    return report


def _claim(session: Session, instance_id: int, as_of: datetime) -> bool:
    """Lock the instance's due timer rows for this transaction (skip if another worker has)."""
    query = select(TimerRow.id).where(TimerRow.instance_id == instance_id, TimerRow.due_at <= as_of)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first() is not None


def next_due(session: Session) -> datetime | None:
    return session.scalar(select(TimerRow.due_at).order_by(TimerRow.due_at).limit(1))
