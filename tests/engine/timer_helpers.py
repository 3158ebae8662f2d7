"""Shared by the due-timer batch tests (tests/engine/test_timer_batches.py and
test_timer_drain_backlog.py): start many instances at once, and count each one's timer firings
in the audit log."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from engine.people.accounts import SYSTEM
from engine.store.db import transaction
from engine.store.tables import AuditRecord
from engine.usecases import instances


def start_many(ctx, process: str, datas: list[dict]) -> list[int]:
    with transaction(ctx.sessions) as s:
        return [instances.start(ctx, s, SYSTEM, process, d).id for d in datas]


def fired_counts(ctx, ids: list[int]) -> Counter:
    with transaction(ctx.sessions) as s:
        rows = s.execute(select(AuditRecord.instance_id, func.count())
                         .where(AuditRecord.action == "timer_fired",
                                AuditRecord.instance_id.in_(ids))
                         .group_by(AuditRecord.instance_id)).all()
        return Counter(dict(rows))
