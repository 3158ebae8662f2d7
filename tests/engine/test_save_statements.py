"""What a save costs in statements, and that the reads it skips had nothing to find.

* A timer batch passes the timer rows and incidents it read to each save, a save writes its audit
  entries in one INSERT (in creation order) and reads no task rows for an instance that had no
  ready task: waking a `timer_once` instance is three statements (instance, timer row, audit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from engine.people.accounts import SYSTEM
from engine.store.db import transaction
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord, TimerRow
from engine.timing.timers import process_due
from engine.usecases import instances
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import FIXTURES


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            self.seen.append(" ".join(statement.split()))


@pytest.fixture
def statements(ctx) -> Iterator[Statements]:
    log = Statements()
    event.listen(ctx.db, "before_cursor_execute", log)
    yield log
    event.remove(ctx.db, "before_cursor_execute", log)


def test_waking_a_timer_costs_one_statement_and_keeps_the_audit_order(ctx, clock, statements):
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([FIXTURES / "models_extra" / "timer_once.bpmn"]), "o")
    with transaction(ctx.sessions) as s:
        ids = [instances.start(ctx, s, SYSTEM, "timer_once", {"delay": "PT1H"}).id
               for _ in range(10)]
    clock.advance(hours=2)
    statements.seen.clear()
    report = process_due(ctx, batch_size=50)
    assert sorted(report.woken) == ids
    per_instance = [s for s in statements.seen if s.startswith("UPDATE process_instances")]
    assert len(per_instance) == len(ids), statements.seen
    # The fired timers' DELETE and the audit entries: once for the batch (timer_rows.BatchWrites)
    per_batch = [s for s in statements.seen if s.startswith(("DELETE FROM timers",
                                                              "INSERT INTO audit_log"))]
    assert len(per_batch) == 2, statements.seen
    # Nothing else per instance but its savepoint: the batch's claim, its rows read and the
    # operations probe (plus SQLite's lock-taking no-op write and a final empty claim).
    savepoints = [s for s in statements.seen if s.startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements.seen) - len(per_instance) - len(per_batch) - len(savepoints) <= 6, \
        statements.seen
    assert not [s for s in statements.seen if "FROM human_tasks" in s]
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(TimerRow.id).where(TimerRow.instance_id.in_(ids))) is None
        assert set(s.scalars(select(InstanceRecord.status).where(InstanceRecord.id.in_(ids)))) \
            == {"completed"}
        for instance_id in ids:
            actions = s.scalars(select(AuditRecord.action)
                                .where(AuditRecord.instance_id == instance_id)
                                .order_by(AuditRecord.id)).all()
            assert actions == ["started", "timer_fired", "completed"]


def test_a_save_writes_its_audit_entries_in_creation_order(ctx, staff):
    """complete → service task → timer: the completion, the service call and the timer's
    task row changes come out in the order they happened, with one audit INSERT."""
    from tests.conftest import deploy_fixture

    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        record = instances.start(ctx, s, staff["alice"], "approval_demo",
                                 {"title": "预算", "amount": 5000})
        iid = record.id
    with transaction(ctx.sessions) as s:
        task = s.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == iid)).one()
        instances.complete(ctx, s, staff["alice"], task.id, {"description": "budget"})
    with transaction(ctx.sessions) as s:
        review = s.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == iid,
                                                      HumanTaskRow.status == "open")).one()
        instances.complete(ctx, s, staff["mgr"], review.id, {"decision": "approve"})
    with transaction(ctx.sessions) as s:
        rows = s.execute(select(AuditRecord.action, AuditRecord.at)
                         .where(AuditRecord.instance_id == iid).order_by(AuditRecord.id)).all()
    assert [a for a, _ in rows] == [
        "started", "task_created",  # start
        "task_completed", "task_created",  # first completion
        "task_completed", "service_called", "handler_note",  # the review, then the service
    ]
    assert [at for _, at in rows] == sorted(at for _, at in rows)


def test_held_rows_and_recorded_entries_keep_the_order_they_were_made_in(ctx, clock):
    """A save's own entries go to its HeldAudits as rows (no record object); entries recorded
    in the session meanwhile (hooks, handlers) still come out in the order they were made."""
    from engine.store.audit_log import audit, audit_row
    from engine.store.held_audits import HeldAudits

    now = clock.now()
    with transaction(ctx.sessions) as s:
        held = HeldAudits(s)
        audit(s, now, "started", details={"n": 1})
        held.add(audit_row(now, "task_created", details={"n": 2}))
        audit(s, now, "task_completed", details={"n": 3})
        audit(s, now, "handler_note", details={"n": 4})
        held.add(audit_row(now, "completed", details={"n": 5}))
        audit(s, now, "cc", details={"n": 6})
        held.write()
    with transaction(ctx.sessions) as s:
        rows = s.execute(select(AuditRecord.action, AuditRecord.details)
                         .order_by(AuditRecord.id)).all()
    assert [(a, d["n"]) for a, d in rows if d and "n" in d] == [
        ("started", 1), ("task_created", 2), ("task_completed", 3), ("handler_note", 4),
        ("completed", 5), ("cc", 6),
    ]
    with pytest.raises(ValueError, match="unknown audit action"):
        audit_row(now, "no_such_action")
