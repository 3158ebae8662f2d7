"""A save writes the instance row, task rows and timer rows by prebuilt statements, not through
the ORM's unit of work (engine.store.versioning, engine.store.task_projection): what the
session holds afterwards must be exactly what the tables hold, nothing may be left for a
flush to write, and a concurrent save must still lose with Conflict. On SQLite and
PostgreSQL."""

from __future__ import annotations

from uuid import UUID

import pytest
from sqlalchemy import event, inspect, select, update

from engine.errors import Conflict
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord, TaskCandidateRow, TimerRow
from engine.store.versioning import write_checked
from engine.usecases import instances
from engine.usecases.acting import acting_on
from tests.conftest import deploy_fixture
from tests.engine.approval_helpers import first_step_done

COLUMNS = [a.key for a in inspect(InstanceRecord).column_attrs]
TASK_COLUMNS = [a.key for a in inspect(HumanTaskRow).column_attrs]


def _clean(session) -> None:
    """Nothing left for a flush: no new object, no attribute with a change to write."""
    assert not session.new
    changed = [o for o in session.dirty if session.is_modified(o)]
    assert not changed, changed


def _as_stored(ctx, record: InstanceRecord, rows: list[HumanTaskRow]) -> None:
    held = {k: getattr(record, k) for k in COLUMNS}
    held_rows = {r.id: ({k: getattr(r, k) for k in TASK_COLUMNS},
                        sorted(c.group_name for c in r.candidate_groups)) for r in rows}
    with transaction(ctx.sessions) as s:
        fresh = s.get(InstanceRecord, record.id)
        assert {k: getattr(fresh, k) for k in COLUMNS} == held
        for task_id, (values, groups) in held_rows.items():
            row = s.get(HumanTaskRow, task_id)
            assert {k: getattr(row, k) for k in TASK_COLUMNS} == values
            assert sorted(c.group_name for c in row.candidate_groups) == groups


def test_start_and_complete_leave_the_session_as_the_tables(ctx, staff):
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        record = instances.start(ctx, s, staff["alice"], "approval_demo",
                                 {"title": "预算", "amount": 5000})
        _clean(s)
        assert record.lock_version == 2 and record.suspended is False  # inserted, then saved
        [first] = s.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == record.id))
    _as_stored(ctx, record, [first])
    with transaction(ctx.sessions) as s:
        # The session's identity map is weak: keep every task row it ever held.
        rows: list[HumanTaskRow] = []

        def keep(_session, obj) -> None:
            if isinstance(obj, HumanTaskRow):
                rows.append(obj)

        event.listen(s, "loaded_as_persistent", keep)
        event.listen(s, "detached_to_persistent", keep)
        record = instances.complete(ctx, s, staff["alice"], first.id, {"description": "b"})
        _clean(s)
        # The new review step was written as values, not made into an ORM object (one cost
        # more than its INSERT): the session holds only the completed row...
        assert [r.status for r in rows] == ["completed"]
        # ...and a read in the same transaction finds the new row as written, its groups too.
        review = s.scalar(select(HumanTaskRow).where(HumanTaskRow.instance_id == record.id,
                                                     HumanTaskRow.status == "open"))
        assert review is not None and rows[-1] is review
        assert (review.element_id, review.assignee, review.claimed_at) == ("review", None, None)
        assert [c.group_name for c in review.candidate_groups] == ["planning_manager"]
        assert all(isinstance(o, TaskCandidateRow) for o in review.candidate_groups)
    _as_stored(ctx, record, rows)


def test_a_timer_row_written_by_the_save_is_in_the_table(ctx, staff):
    instance_id, _ = first_step_done(ctx, staff)
    with transaction(ctx.sessions) as s:
        [review] = s.scalars(select(HumanTaskRow).where(
            HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"))
    with transaction(ctx.sessions) as s:
        instances.complete(ctx, s, staff["mgr"], review.id, {"decision": "approve"})
        _clean(s)
    with transaction(ctx.sessions) as s:
        timers = s.scalars(select(TimerRow.element_id).where(TimerRow.instance_id == instance_id))
        assert list(timers) == ["wait"]  # the 1-hour cooling-off after approval


def test_a_version_moved_on_is_a_conflict_and_writes_nothing(ctx, staff):
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        record_id = instances.start(ctx, s, staff["alice"], "approval_demo",
                                    {"title": "预算", "amount": 5000}).id
    s1 = ctx.sessions()
    try:
        record = s1.get(InstanceRecord, record_id)
        version = record.lock_version
        with transaction(ctx.sessions) as s2:  # another save commits first
            s2.execute(update(InstanceRecord).where(InstanceRecord.id == record_id)
                       .values(lock_version=InstanceRecord.lock_version + 1))
        with pytest.raises(Conflict):
            write_checked(s1, record, {"stage": "不该写入"})
        assert record.lock_version == version  # the record was not told it was stored
        s1.rollback()
    finally:
        s1.close()
    with transaction(ctx.sessions) as s:
        stored = s.get(InstanceRecord, record_id)
        assert stored.stage != "不该写入" and stored.lock_version == version + 1


def test_pending_changes_on_the_record_go_out_with_the_save(ctx, staff):
    """What the request changed on the record before the save (a touch, a title) is written by
    the same UPDATE, not lost and not written twice."""
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        record_id = instances.start(ctx, s, staff["alice"], "approval_demo",
                                    {"title": "预算", "amount": 5000}).id
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, record_id)
        record.title = "改过的标题"
        write_checked(s, record, {"stage": "阶段"})
        _clean(s)
    with transaction(ctx.sessions) as s:
        stored = s.get(InstanceRecord, record_id)
        assert (stored.title, stored.stage) == ("改过的标题", "阶段")


def test_a_new_task_row_never_reopens_a_closed_one(ctx, staff):
    """Closing the finished rows and inserting the new ones is one upsert. Its update half is
    for live rows only: a task the engine makes ready again under an id whose row is closed (a
    reset that did not renew the id, as `engine.bpmn.rewind.renew_id` does for 退回) fails the
    save and writes nothing, as a plain INSERT did, instead of quietly reopening the history
    row with its old name, assignee and groups."""
    instance_id, first_id = first_step_done(ctx, staff)

    def rows() -> list[tuple]:
        with transaction(ctx.sessions) as s:
            return [tuple(getattr(r, k) for k in TASK_COLUMNS) for r in s.scalars(
                select(HumanTaskRow).where(HumanTaskRow.instance_id == instance_id)
                .order_by(HumanTaskRow.id))]

    before = rows()
    assert sorted(r[TASK_COLUMNS.index("status")] for r in before) == ["completed", "open"]
    with pytest.raises(RuntimeError, match="closed"), transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, instance_id)
        with acting_on(ctx, s, record, "alice") as action:
            action.workflow.reset_from_task_id(UUID(first_id))  # the same id, ready again
    assert rows() == before
