"""`tree_scan.scan` answers what SpiffWorkflow's `get_tasks` calls answered before it: the live
tasks in the same order (the instance data's tie-break), the ready user tasks in the same
order, and the completed elements by the COMPLETED walk's own rule (a started multi-instance
parent's finished children are not among them; every subprocess's are). Checked at every step
of the department's event process with three guests and of the compaction models (weekly
cycles, parallel branches, a call activity per week), after a save/restore as the service
does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.runtime import complete_human_task, new_workflow, run_steps
from engine.bpmn.serializer import StateSerializer
from engine.bpmn.tree_scan import LIVE, scan
from engine.clock import FixedClock
from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import make_helpers
from tests.conftest import START
from tests.engine.bpmn_harness import Runner, make_parser
from tests.engine.bpmn_scripts import freeze_clock
from tests.engine.compaction_models import (
    CALL_LOOP,
    INNER_JOIN_LOOP,
    PARALLEL_LOOP,
    WEEKLY_LOOP,
    parsed,
)


def _completed_ids(tasks: list[Any]) -> set[str]:
    return {t.task_spec.bpmn_id for t in tasks if getattr(t.task_spec, "bpmn_id", None)}


class Checks:
    """Compares scan with the get_tasks calls it replaces, and counts the cases that matter."""

    def __init__(self) -> None:
        self.steps = self.with_subprocesses = self.path_rule_mattered = 0

    def __call__(self, wf: BpmnWorkflow) -> None:
        tree = scan(wf)
        live = wf.get_tasks(state=LIVE)
        assert [t.id for t in tree.live] == [t.id for t in live]
        ready = wf.get_tasks(state=TaskState.READY, spec_class=UserTaskMixin)
        assert [t.id for t in tree.ready_human] == [t.id for t in ready]
        passed = _completed_ids(wf.get_tasks(state=TaskState.COMPLETED))
        for sub in wf.subprocesses.values():
            passed |= _completed_ids(sub.get_tasks(state=TaskState.COMPLETED))
        assert tree.passed == passed
        # what `runtime.stall_point` filters out of the live tasks, as its queries were
        for mask in (TaskState.READY | TaskState.ERROR, TaskState.STARTED, TaskState.WAITING):
            assert [t.id for t in tree.live if t.state & mask] == [
                t.id for t in wf.get_tasks(state=mask)
            ]
        self.steps += 1
        self.with_subprocesses += bool(wf.subprocesses)
        # every completed task the walk met, ignoring the rule: differs while a parent waits
        naive = _completed_ids([t for t in tree.live if t.state == TaskState.COMPLETED])
        self.path_rule_mattered += naive != passed


@pytest.fixture
def checks() -> Checks:
    return Checks()


def test_the_event_process_with_three_guests(monkeypatch, checks):
    event_day = freeze_clock(monkeypatch).value + timedelta(days=10)
    start = {"event_name": "2025 新品发布会", "theme": "科技", "venue": "上海国际会议中心",
             "event_date": event_day.strftime("%Y-%m-%dT14:00")}
    run = Runner(make_parser(), "product_launch", start)
    guests = [{"guest_name": name, "organization": "某媒体", "guest_type": "media"}
              for name in ("王总", "李记者", "小周")]
    idle = 0
    for step in range(300):
        checks(run.wf)
        ready = sorted(run.ready(), key=lambda t: (t.task_spec.bpmn_id, str(t.id)))
        if not ready:
            if run.wf.is_completed() or idle == 30:
                break
            idle += 1
            run.tick(days=1)
            continue
        idle, task = 0, ready[step % len(ready)]
        element = task.task_spec.bpmn_id
        extra = {"guests": guests} if element == "Task_guest_list" else {}
        if element.endswith("_publish"):
            extra[element.removeprefix("Task_") + "_status"] = "published"
        run.complete(None, task=task, **extra)
    assert run.wf.is_completed() and checks.steps > 20
    assert checks.path_rule_mattered  # the guests' confirmations finished one by one


@pytest.mark.parametrize(
    ("xml", "key"),
    [
        (WEEKLY_LOOP, "weekly_loop"),
        (PARALLEL_LOOP, "parallel_loop"),
        (INNER_JOIN_LOOP, "inner_join_loop"),
        (CALL_LOOP, "call_loop"),
    ],
)
def test_the_compaction_models_week_by_week(checks, xml, key):
    model = parsed(xml, key)
    clock = FixedClock(START)
    engine = PythonScriptEngine(environment=RestrictedEnvironment(make_helpers(clock.now, None)))
    serializer = StateSerializer()
    wf = new_workflow(model, engine, {"title": key})
    run_steps(wf, clock)
    for week in range(1, 7):
        clock.set(START + timedelta(days=7 * week, seconds=1))
        wf = serializer.loads(serializer.dumps(wf), model.spec, model.subprocess_specs)
        wf.script_engine = engine
        checks(wf)
        assert run_steps(wf, clock, refresh=True).incident is None
        # every ready step but the long-running one, one at a time, checking after each
        while True:
            checks(wf)
            ready = [t for t in scan(wf).ready_human if t.task_spec.bpmn_id != "monitor"]
            if not ready:
                break
            data = {"week": week, "overall_status": f"第{week}周", "other_value": week}
            result = complete_human_task(wf, ready[0], data, clock)
            assert result.incident is None
    assert checks.steps > 12
    if key == "call_loop":
        assert checks.with_subprocesses > 12
