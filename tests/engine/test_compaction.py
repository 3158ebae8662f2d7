"""Compaction of long-running instances (engine.bpmn.compaction): a weekly non-interrupting cycle
timer must not make the state grow, and nothing still needed may go — the main path, the
diagram's completed steps, the instance data, 退回/撤回 on the main path, and parallel joins."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import operations
from engine.bpmn import compaction
from engine.bpmn.runtime import complete_human_task, new_workflow, ready_human_tasks, run_steps
from engine.bpmn.serializer import StateSerializer
from engine.clock import FixedClock, engine_time
from engine.errors import Conflict
from engine.read import instance_view, queries
from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import make_helpers
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord, TimerRow
from engine.timing.timers import process_due
from engine.usecases import instances
from engine.usecases.deploy import Upload, deploy
from tests.conftest import START
from tests.engine.compaction_models import (
    CALL_LOOP,
    INNER_JOIN_LOOP,
    PARALLEL_LOOP,
    WEEKLY_LOOP,
    parsed,
)

# --- through the service (SQLite and PostgreSQL) ----------------------------------------------


def _deploy(ctx, name: str, xml: str) -> None:
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload(f"{name}.bpmn", xml.encode())], "owner")


def _open(ctx, iid: int, element: str) -> HumanTaskRow:
    with transaction(ctx.sessions) as s:
        rows = s.scalars(
            select(HumanTaskRow).where(
                HumanTaskRow.instance_id == iid,
                HumanTaskRow.status == "open",
                HumanTaskRow.element_id == element,
            )
        ).all()
        assert len(rows) == 1, (element, [r.id for r in rows])
        return rows[0]


def _complete(ctx, actor, iid: int, element: str, data: dict) -> InstanceRecord:
    with transaction(ctx.sessions) as s:
        return instances.complete(ctx, s, actor, _open(ctx, iid, element).id, data)


def _record(ctx, iid: int) -> InstanceRecord:
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        s.expunge(record)
        return record


def _spec_counts(state: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in json.loads(state)["tasks"].values():
        counts[task["task_spec"]] = counts.get(task["task_spec"], 0) + 1
    return counts


def _week(ctx, clock, actor, iid: int, week: int, data: dict) -> None:
    clock.set(START + timedelta(days=7 * week, seconds=1))
    report = process_due(ctx)
    assert iid in report.woken and not report.failed, report
    _complete(ctx, actor, iid, "weekly", data)


def _start_loop(ctx, staff) -> int:
    _deploy(ctx, "weekly_loop", WEEKLY_LOOP)
    with transaction(ctx.sessions) as s:
        iid = instances.start(ctx, s, staff["sup"], "weekly_loop", {"title": "两年项目"}).id
    _complete(ctx, staff["sup"], iid, "draft", {"plan": "v1"})
    return iid


def test_weekly_loops_stay_bounded_and_the_main_path_completes(ctx, staff, clock):
    sup = staff["sup"]
    iid = _start_loop(ctx, staff)
    sizes: dict[int, int] = {}
    for week in range(1, 31):
        extra = {"kickoff_note": "首周启动"} if week == 1 else {}
        _week(ctx, clock, sup, iid, week, {"overall_status": f"wk{week}", **extra})
        if week in (5, 30):
            sizes[week] = len(_record(ctx, iid).state.encode())
    record = _record(ctx, iid)
    # (a) bounded: 25 more weeks add (almost) nothing; uncompacted it was ~3 KB per week.
    assert sizes[30] < sizes[5] + 1024, sizes
    counts = _spec_counts(record.state)
    assert counts["weekly"] <= 2 and counts["gen"] <= 2, counts
    assert counts["monitor.BoundaryEventJoin"] <= 2, counts
    assert json.loads(record.state)["planflow_format"] == "planflow-state/2"

    # Values set by pruned branches are still the instance's data; the newest week wins.
    assert record.data["overall_status"] == "wk30"
    assert record.data["report_doc"] == "周报-wk30"
    assert record.data["kickoff_note"] == "首周启动"
    # (c) the diagram still shows the weekly steps as completed
    assert {"weekly", "gen", "weekly_end", "draft"} <= set(record.passed_elements or [])
    with transaction(ctx.sessions) as s:
        detail = queries.get_instance(ctx, s, staff["root"], iid)
    marks = instance_view.highlights(detail).as_dict()
    assert "weekly" in marks["completed"] and "draft" in marks["completed"]
    assert marks["active"] == ["monitor"] and "every" in marks["waiting"]
    # All 30 weekly rows are kept as planflow's own history.
    with transaction(ctx.sessions) as s:
        done = s.scalars(
            select(HumanTaskRow.id).where(
                HumanTaskRow.instance_id == iid,
                HumanTaskRow.element_id == "weekly",
                HumanTaskRow.status == "completed",
            )
        ).all()
    assert len(done) == 30

    # (b) the main path still runs to the end, with the weekly values merged in
    _complete(ctx, sup, iid, "monitor", {"monitor_done": True})
    with transaction(ctx.sessions) as s:
        assert not s.scalars(select(TimerRow).where(TimerRow.instance_id == iid)).all()
    record = _complete(ctx, sup, iid, "review", {"accepted": True})
    assert record.status == "completed"
    record = _record(ctx, iid)
    assert record.data["accepted"] is True and record.data["monitor_done"] is True
    assert record.data["kickoff_note"] == "首周启动"
    # SpiffWorkflow's own end merge: ending the monitor task cancels the cycle event and drops
    # the newest weekly branch's waiting end join, so that week's values are not merged into
    # the final data (the same without compaction; the weekly_report rows keep them).
    assert record.data["overall_status"] == "wk29"
    assert {"review", "end", "weekly"} <= set(record.passed_elements or [])


def test_return_and_withdraw_after_compaction(ctx, staff, clock):
    sup, root = staff["sup"], staff["root"]
    iid = _start_loop(ctx, staff)
    for week in range(1, 7):
        _week(ctx, clock, sup, iid, week, {"overall_status": f"wk{week}"})

    # 撤回 the newest weekly report: its branch is kept for exactly this
    with transaction(ctx.sessions) as s:
        weekly_rows = s.scalars(
            select(HumanTaskRow)
            .where(HumanTaskRow.instance_id == iid, HumanTaskRow.element_id == "weekly")
            .order_by(HumanTaskRow.created_at)
        ).all()
        oldest, newest = weekly_rows[0].id, weekly_rows[-1].id
    # Its branch was compacted away: refused with a reason, not a crash.
    with pytest.raises(Conflict), transaction(ctx.sessions) as s:
        operations.withdraw(ctx, s, root, oldest, "太早了")
    with transaction(ctx.sessions) as s:
        operations.withdraw(ctx, s, root, newest, "写错了")
    _complete(ctx, sup, iid, "weekly", {"overall_status": "wk6-fixed"})
    assert _record(ctx, iid).data["overall_status"] == "wk6-fixed"

    # 退回 from the main path's open task to the step before it
    monitor = _open(ctx, iid, "monitor")
    with transaction(ctx.sessions) as s:
        targets = operations.return_targets(ctx, s, root, monitor.id)
    assert [t["element_id"] for t in targets] == ["draft"]
    with transaction(ctx.sessions) as s:
        operations.return_to(ctx, s, root, monitor.id, "draft", "计划要改")
    record = _record(ctx, iid)
    assert record.status == "running"
    with transaction(ctx.sessions) as s:
        live = s.scalars(
            select(HumanTaskRow.element_id).where(
                HumanTaskRow.instance_id == iid, HumanTaskRow.status == "open"
            )
        ).all()
    assert live == ["draft"]
    # The weekly branches went with the reset, and so did what compaction kept of them.
    assert "weekly" not in (record.passed_elements or [])
    assert json.loads(record.state).get("planflow_residue") is None

    # Redo: the cycle starts again from the new monitor task and keeps compacting.
    _complete(ctx, sup, iid, "draft", {"plan": "v2"})
    for week in range(7, 12):
        _week(ctx, clock, sup, iid, week, {"overall_status": f"again{week}"})
    record = _record(ctx, iid)
    assert _spec_counts(record.state)["weekly"] <= 2
    assert record.data["plan"] == "v2" and record.data["overall_status"] == "again11"
    _complete(ctx, sup, iid, "monitor", {})
    assert _complete(ctx, sup, iid, "review", {}).status == "completed"


def test_parallel_join_keeps_its_finished_branch_until_it_fires(ctx, staff, clock):
    sup = staff["sup"]
    _deploy(ctx, "parallel_loop", PARALLEL_LOOP)
    with transaction(ctx.sessions) as s:
        iid = instances.start(ctx, s, sup, "parallel_loop", {"title": "并行"}).id
    # One branch of the fork finishes first and waits at the join for weeks.
    _complete(ctx, sup, iid, "other", {"other_value": 7})
    for week in range(1, 9):
        _week(ctx, clock, sup, iid, week, {"overall_status": f"wk{week}"})
    counts = _spec_counts(_record(ctx, iid).state)
    assert counts["weekly"] <= 2
    assert counts["other"] == 1 and counts["join"] == 2  # the finished branch is still there
    _complete(ctx, sup, iid, "monitor", {})
    record = _complete(ctx, sup, iid, "final", {})
    assert record.status == "completed"
    assert _record(ctx, iid).data["other_value"] == 7


# --- plain SpiffWorkflow with planflow's runtime and serializer (no database) ---------------


def test_a_weekly_branch_with_its_own_join_is_never_pruned():
    model = parsed(INNER_JOIN_LOOP, "inner_join_loop")
    clock = FixedClock(START)
    engine = PythonScriptEngine(environment=RestrictedEnvironment(make_helpers(clock.now, None)))
    ser = StateSerializer()
    wf = new_workflow(model, engine, {})
    run_steps(wf, clock)
    for week in (1, 2, 3):
        clock.set(START + timedelta(days=7 * week, seconds=1))
        wf = ser.loads(ser.dumps(wf), model.spec, model.subprocess_specs)
        wf.script_engine = engine
        assert run_steps(wf, clock, refresh=True).incident is None
        for element in ("a", "b"):
            ready = [t for t in ready_human_tasks(wf) if t.task_spec.bpmn_id == element]
            for task in ready:
                complete_human_task(wf, task, {element: week}, clock)
    # Every week's branch is finished and each holds a parallel gateway instance (SpiffWorkflow
    # itself trims the older weeks below theirs when the next week's fork fires): compaction
    # keeps all three, since a join counts its arrivals by looking at the tree.
    def count(name: str, state: int = TaskState.ANY_MASK) -> int:
        return sum(1 for t in wf.tasks.values() if t.task_spec.name == name and t.has_state(state))

    assert count("prep") == 3 and count("weekly_end", TaskState.COMPLETED) == 1
    assert compaction.compact(wf) == 0
    assert count("prep") == 3 and count("wfork", TaskState.COMPLETED) == 3


def test_old_format_states_still_load_and_compact_on_the_next_step():
    model = parsed(WEEKLY_LOOP, "weekly_loop")
    clock = FixedClock(START)
    engine = PythonScriptEngine(environment=RestrictedEnvironment(make_helpers(clock.now, None)))
    ser = StateSerializer()
    wf = new_workflow(model, engine, {"title": "x"})
    # Run as before compaction existed: plain engine steps, never compact().
    with engine_time(clock):
        wf.do_engine_steps()
        [draft] = ready_human_tasks(wf)
        draft.run()
        wf.do_engine_steps()
    for week in range(1, 5):
        clock.set(START + timedelta(days=7 * week, seconds=1))
        with engine_time(clock):
            wf.refresh_timers()
            wf.do_engine_steps()
            [task] = [t for t in ready_human_tasks(wf) if t.task_spec.bpmn_id == "weekly"]
            task.set_data(overall_status=f"wk{week}")
            task.run()
            wf.do_engine_steps()
    old = ser.dumps(wf)
    assert json.loads(old)["planflow_format"] == "planflow-state/1"
    assert _spec_counts(old)["weekly"] >= 3
    again = ser.loads(old, model.spec, model.subprocess_specs)
    again.script_engine = engine
    assert [str(t.id) for t in again.get_tasks()] == [str(t.id) for t in wf.get_tasks()]
    run_steps(again, clock)
    new = ser.dumps(again)
    assert json.loads(new)["planflow_format"] == "planflow-state/2"
    assert _spec_counts(new)["weekly"] <= 2 and len(new) < len(old)
    restored = ser.loads(new, model.spec, model.subprocess_specs)
    assert compaction.residue(restored) == compaction.residue(again)
    assert "weekly" in compaction.live_residue(restored)[0]["passed"]


def test_tasks_without_data_are_written_small_and_every_task_restores_its_data():
    model = parsed(PARALLEL_LOOP, "parallel_loop")
    clock = FixedClock(START)
    engine = PythonScriptEngine(environment=RestrictedEnvironment(make_helpers(clock.now, None)))
    ser = StateSerializer()
    wf = new_workflow(model, engine, {"title": "数据" * 50, "n": 1})
    run_steps(wf, clock)
    [other] = [t for t in ready_human_tasks(wf) if t.task_spec.bpmn_id == "other"]
    complete_human_task(wf, other, {"other_value": 7}, clock)
    state = json.loads(ser.dumps(wf))
    empty = [t for t in wf.tasks.values() if not t.data and t.parent is not None]
    assert empty  # predicted tasks below the open ones
    for task in empty:
        assert state["tasks"][str(task.id)]["delta"] == {}
    again = ser.loads(json.dumps(state), model.spec, model.subprocess_specs)
    assert {str(k): t.data for k, t in again.tasks.items()} == {
        str(k): t.data for k, t in wf.tasks.items()
    }


def test_called_processes_of_pruned_weeks_are_deleted_and_their_steps_stay_passed():
    from engine.bpmn.runtime import merged_data, passed_elements

    model = parsed(CALL_LOOP, "call_loop")
    clock = FixedClock(START)
    engine = PythonScriptEngine(environment=RestrictedEnvironment(make_helpers(clock.now, None)))
    ser = StateSerializer()
    wf = new_workflow(model, engine, {})
    run_steps(wf, clock)
    for week in range(1, 9):
        clock.set(START + timedelta(days=7 * week, seconds=1))
        wf = ser.loads(ser.dumps(wf), model.spec, model.subprocess_specs)
        wf.script_engine = engine
        assert run_steps(wf, clock, refresh=True).incident is None
        [task] = [t for t in ready_human_tasks(wf) if t.task_spec.bpmn_id == "report"]
        complete_human_task(wf, task, {"week": week, f"only_{week}": True}, clock)
    assert len(wf.subprocesses) <= 2
    assert len([t for t in wf.tasks.values() if t.task_spec.name == "call_weekly"]) <= 2
    assert {"report", "we", "call_weekly", "weekly_end"} <= set(passed_elements(wf))
    data = merged_data(wf)
    assert data["week"] == 8 and data["only_1"] is True and data["only_8"] is True
    again = ser.loads(ser.dumps(wf), model.spec, model.subprocess_specs)
    assert set(again.subprocesses) == set(wf.subprocesses)
    assert passed_elements(again) == passed_elements(wf)
