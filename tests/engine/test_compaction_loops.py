"""Compaction of loops (engine.bpmn.compaction, `_compact_loops`) on the real 项目策划全流程: the
weekly report, risk and extra-budget listeners are drawn as merge → wait → … → parallel split →
back to the merge, so each iteration hangs below the previous one. Finished iterations must go
(the state stays flat, week after week) while everything still needed stays: each week's report
opens with its week after a fresh restore, the newest report can be withdrawn, the listeners keep
listening with the right data, and the retrospective follows the execution."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import operations
from engine.bpmn import compaction
from engine.bpmn.runtime import (
    complete_human_task,
    find_task,
    new_workflow,
    passed_elements,
    ready_human_tasks,
    run_steps,
)
from engine.bpmn.serializer import StateSerializer
from engine.clock import FixedClock
from engine.context import EngineContext, renewed
from engine.errors import Conflict
from engine.people.accounts import SYSTEM, Actor
from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import make_helpers
from engine.store.db import transaction
from engine.store.instance_state import parsed_model
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.timing.timers import process_due
from engine.usecases import instances
from tests.conftest import START as TEST_START
from tests.engine.compaction_models import flow, parsed, process_model
from tests.scenarios import add_extra_staff, deploy_department_models
from tests.scenarios.project_steps import CHARTER, PLAN, RETROSPECTIVE, START

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK_1_DUE = datetime(2026, 4, 8, tzinfo=SHANGHAI)  # cycle_start 2026-04-01
STEPS: list[tuple[str, dict[str, Any]]] = [
    ("Task_internal_research", {"interview_summary": "访谈销售部：目标提升Q3销售额20%",
                                "measurable_goal": "提升Q3销售额20%", "estimated_budget": 120000}),
    ("Task_external_research", {"industry_report_summary": "行业报告：直播预售转化率显著提升"}),
    ("Task_charter_draft", {**CHARTER, "cycle_end": "2027-03-31"}),
    ("Task_manager_confirm", {"manager_charter_decision": "approve"}),
    ("Task_requester_confirm", {"requester_charter_decision": "approve"}),
    ("Task_plan_design", PLAN),
    ("Task_internal_review", {"internal_review_comments": "创意可行",
                              "internal_review_decision": "approve"}),
    ("Task_requester_review", {"requester_review_decision": "approve"}),
    ("Task_finance_review", {"finance_review_decision": "approve",
                             "finance_budget_checked": True}),
    ("Task_legal_review", {"legal_review_decision": "approve", "legal_contract_checked": True}),
    ("Task_budget_approval", {"budget_approval_decision": "approve"}),
]
FINISHED = {"execution_summary": "预售与体验店活动按计划完成", "execution_finished": True}


def _rows(ctx: EngineContext, iid: int, element: str, status: str = "open") -> list[HumanTaskRow]:
    with transaction(ctx.sessions) as s:
        rows = s.scalars(
            select(HumanTaskRow)
            .where(HumanTaskRow.instance_id == iid, HumanTaskRow.element_id == element,
                   HumanTaskRow.status == status)
            .order_by(HumanTaskRow.created_at)
        ).all()
        for row in rows:
            s.expunge(row)
        return list(rows)


def _do(ctx: EngineContext, iid: int, element: str, data: dict[str, Any]) -> InstanceRecord:
    [row] = _rows(ctx, iid, element)
    # Every action on a fresh context: the instance is restored from its stored state, as after
    # a restart.
    with transaction(ctx.sessions) as s:
        record = instances.complete(renewed(ctx), s, SYSTEM, row.id, data)
        assert record.status in ("running", "waiting"), (element, record.status)
        return record


def _record(ctx: EngineContext, iid: int) -> InstanceRecord:
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert record is not None
        s.expunge(record)
        return record


def _workflow(ctx: EngineContext, iid: int) -> Any:
    """The instance as a fresh process restores it (new spec cache and serializer)."""
    fresh = renewed(ctx)
    record = _record(ctx, iid)
    with fresh.sessions() as s:
        model = parsed_model(fresh, s, record.version_id)
    return fresh.serializer.loads(record.state, model.spec, model.subprocess_specs)


def _specs(ctx: EngineContext, iid: int) -> Counter[str]:
    tasks = json.loads(_record(ctx, iid).state)["tasks"].values()
    return Counter(t["task_spec"] for t in tasks)


def _open_data(ctx: EngineContext, iid: int, element: str) -> dict[str, Any]:
    [row] = _rows(ctx, iid, element)
    task = find_task(_workflow(ctx, iid), row.id)
    assert task is not None, element
    return task.data


def _message(ctx: EngineContext, iid: int, name: str, payload: dict[str, Any]) -> None:
    with transaction(ctx.sessions) as s:
        instances.send_message(renewed(ctx), s, SYSTEM, iid, name, payload)


def _week_due(ctx: EngineContext, clock: Any, iid: int, week: int) -> dict[str, Any]:
    """Let week `week`'s report fall due; the data its open report task starts with."""
    clock.set(WEEK_1_DUE + timedelta(days=7 * (week - 1), seconds=1))
    report = process_due(renewed(ctx))
    assert iid in report.woken and not report.failed, report
    return _open_data(ctx, iid, "Task_weekly_report")


def _label(week: int) -> str:
    first = datetime(2026, 4, 1) + timedelta(days=7 * (week - 1))
    last = first + timedelta(days=6)
    return f"第{week}周（{first:%Y-%m-%d} 至 {last:%Y-%m-%d}）"


def _executing(ctx: EngineContext) -> int:
    add_extra_staff(ctx)
    deploy_department_models(ctx)
    with transaction(ctx.sessions) as s:
        iid = instances.start(ctx, s, SYSTEM, "project_initiation", START).id
    for element, data in STEPS:
        _do(ctx, iid, element, data)
    return iid


def _retrospective_follows(ctx: EngineContext, iid: int) -> None:
    _do(ctx, iid, "Task_execution_monitoring", FINISHED)
    for _row in _rows(ctx, iid, "Task_weekly_report"):  # the last reports outlive the execution
        _do(ctx, iid, "Task_weekly_report", {"weekly_report_action": "close",
                                             "weekly_close_reason": "执行已结束，进展见执行总结"})
    assert [r.element_id for r in _open_all(ctx, iid)] == ["Task_retrospective"]
    _do(ctx, iid, "Task_retrospective", RETROSPECTIVE)
    assert [r.element_id for r in _open_all(ctx, iid)] == ["Task_retrospective_signoff"]


def _open_all(ctx: EngineContext, iid: int) -> list[HumanTaskRow]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(HumanTaskRow).where(
            HumanTaskRow.instance_id == iid, HumanTaskRow.status == "open")))


def test_weekly_report_loop_stays_flat_and_keeps_reporting(
    ctx: EngineContext, staff: dict[str, Actor], clock: Any
) -> None:
    iid = _executing(ctx)
    tasks: dict[int, int] = {}
    for week in range(1, 13):
        data = _week_due(ctx, clock, iid, week)
        # The waiting catch event of the newest iteration fired after a fresh restore, with the
        # data of the iterations before it (spliced or not).
        assert data["report_week_label"] == _label(week)
        assert data["execution_item"] == f"weekly-{week}"
        _do(ctx, iid, "Task_weekly_report",
            {"overall_status": "on_track", "milestones_done": f"第{week}周里程碑",
             "next_week_plan": "继续推进"})
        tasks[week] = sum(_specs(ctx, iid).values())
    # Bounded: from the third week on, not one more task entry (before: +14 per week).
    assert tasks[12] == tasks[3], tasks
    specs = _specs(ctx, iid)
    assert specs["Gateway_weekly_merge"] <= 3 and specs["Task_weekly_report"] <= 2, specs
    record = _record(ctx, iid)
    assert record.data["milestones_done"] == "第12周里程碑"
    assert {"Task_weekly_report", "Task_open_weekly_report", "Gateway_weekly_fork",
            "Event_weekly_due"} <= set(record.passed_elements or [])
    wf = _workflow(ctx, iid)
    assert "Task_generate_weekly_report" in passed_elements(wf)
    assert compaction.live_residue(wf)  # what the spliced weeks left
    assert len(_rows(ctx, iid, "Task_weekly_report", "completed")) == 12

    # 撤回: the newest report can be withdrawn, a spliced-out one is refused with a reason
    done = _rows(ctx, iid, "Task_weekly_report", "completed")
    root = staff["root"]
    with pytest.raises(Conflict), transaction(ctx.sessions) as s:
        operations.withdraw(renewed(ctx), s, root, done[0].id, "太早了")
    with transaction(ctx.sessions) as s:
        operations.withdraw(renewed(ctx), s, root, done[-1].id, "写错了")
    assert _open_data(ctx, iid, "Task_weekly_report")["report_week_label"] == _label(12)
    _do(ctx, iid, "Task_weekly_report", {"overall_status": "at_risk",
                                         "milestones_done": "第12周（更正）",
                                         "next_week_plan": "继续推进"})
    assert _record(ctx, iid).data["milestones_done"] == "第12周（更正）"

    # the loop goes on after the withdrawal, and the execution ends into the retrospective
    assert _week_due(ctx, clock, iid, 13)["report_week_label"] == _label(13)
    assert sum(_specs(ctx, iid).values()) <= tasks[12] + 1
    _retrospective_follows(ctx, iid)


def test_risk_and_extra_budget_listeners_stay_flat_and_keep_listening(
    ctx: EngineContext, staff: dict[str, Actor], clock: Any
) -> None:
    iid = _executing(ctx)
    tasks: dict[int, int] = {}
    for n in range(1, 7):
        _message(ctx, iid, "raise_risk", {"risk_description": f"第{n}个风险：暴雨",
                                          "risk_level": "high", "raised_by": "sup"})
        data = _open_data(ctx, iid, "Task_risk_response")
        assert data["risk_description"] == f"第{n}个风险：暴雨"
        _do(ctx, iid, "Task_risk_response", {
            "risk_description": f"第{n}个风险：暴雨", "risk_level": "high",
            "response_action": "add_resources", "response_plan": "更换室内场地",
            "tech_support_needed": "yes" if n == 2 else "no",
        })
        if n == 2:
            _do(ctx, iid, "Task_tech_support",
                {"tech_issue_resolution": "扩容并修复缓存", "tech_issue_resolved": True})
        _message(ctx, iid, "request_extra_budget",
                 {"extra_budget_amount": 1000 * n, "extra_budget_reason": "追加直播推广",
                  "requested_by": "sup"})
        _do(ctx, iid, "Task_extra_budget_request",
            {"extra_budget_amount": 1000 * n, "extra_budget_reason": "追加直播推广"})
        # the ledger (a data object) keeps every request: the running total counts them all
        running = 120000 + sum(1000 * k for k in range(1, n + 1))
        assert _open_data(ctx, iid, "Task_extra_budget_approval")["budget_running_total"] == (
            running
        )
        _do(ctx, iid, "Task_extra_budget_approval", {"extra_budget_decision": "approve"})
        tasks[n] = sum(_specs(ctx, iid).values())
    assert tasks[6] == tasks[3], tasks
    specs = _specs(ctx, iid)
    # the newest finished iteration, the newest (its process end join still waits), the one
    # waiting for the next message, and the merge SpiffWorkflow predicts below it
    assert specs["Gateway_risk_merge"] <= 4 and specs["Gateway_extra_budget_merge"] <= 4, specs
    assert specs["Task_risk_response"] <= 3 and specs["Task_extra_budget_approval"] <= 3, specs
    assert {"Task_risk_response", "Task_tech_support", "Task_extra_budget_approval"} <= set(
        _record(ctx, iid).passed_elements or []
    )
    _retrospective_follows(ctx, iid)


# --- what is never spliced (plain SpiffWorkflow with planflow's runtime, no database) ---------

# Every week: tick → split → [back to merge, a, b]; a, b → wjoin → wend. The week's work ends in
# a parallel join, which counts arrivals by looking at the tree (the older weeks' too).
LOOP_WITH_JOIN = process_model(
    "loop_with_join",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="tick"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:timerEventDefinition id="td">
      <bpmn:timeDuration>"P7D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>fa</bpmn:outgoing>
      <bpmn:outgoing>fb</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="a"><bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fa2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="b"><bpmn:incoming>fb</bpmn:incoming><bpmn:outgoing>fb2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:parallelGateway id="wjoin"><bpmn:incoming>fa2</bpmn:incoming>
      <bpmn:incoming>fb2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="wend"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    """
    + flow("f1", "start", "merge") + flow("f2", "merge", "tick") + flow("f3", "tick", "split")
    + flow("back", "split", "merge") + flow("fa", "split", "a") + flow("fb", "split", "b")
    + flow("fa2", "a", "wjoin") + flow("fb2", "b", "wjoin") + flow("f5", "wjoin", "wend"),
    ["a", "b"],
)

# A send-back loop: the draft is redone until it is accepted. Its rounds are 退回 targets.
SEND_BACK_LOOP = process_model(
    "send_back_loop",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:incoming>redo</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="draft"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="check" default="done"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>redo</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="redo" sourceRef="check" targetRef="merge">
      <bpmn:conditionExpression>again</bpmn:conditionExpression></bpmn:sequenceFlow>
    """
    + flow("f1", "start", "merge") + flow("f2", "merge", "draft") + flow("f3", "draft", "check")
    + flow("done", "check", "end"),
    ["draft"],
)


def _plain(xml: str, process_id: str) -> tuple[Any, FixedClock, Any, StateSerializer, Any]:
    model = parsed(xml, process_id)
    clock = FixedClock(TEST_START)
    engine = PythonScriptEngine(environment=RestrictedEnvironment(make_helpers(clock.now, None)))
    wf = new_workflow(model, engine, {})
    assert run_steps(wf, clock).incident is None
    return model, clock, engine, StateSerializer(), wf


def _count(wf: Any, name: str, state: int = TaskState.ANY_MASK) -> int:
    return sum(1 for t in wf.tasks.values() if t.task_spec.name == name and t.has_state(state))


def test_an_iteration_with_its_own_parallel_join_is_never_spliced():
    model, clock, engine, ser, wf = _plain(LOOP_WITH_JOIN, "loop_with_join")
    for week in range(1, 6):
        clock.set(TEST_START + timedelta(days=7 * week, seconds=1))
        wf = ser.loads(ser.dumps(wf), model.spec, model.subprocess_specs)
        wf.script_engine = engine
        assert run_steps(wf, clock, refresh=True).incident is None
        for element in ("a", "b"):
            for task in [t for t in ready_human_tasks(wf) if t.task_spec.bpmn_id == element]:
                complete_human_task(wf, task, {element: week}, clock)
    # every week's finished work still holds its join tasks: no week was spliced out
    done = TaskState.COMPLETED
    assert _count(wf, "a", done) == 5 and _count(wf, "b", done) == 5
    assert _count(wf, "merge", done) == 6
    assert compaction.compact(wf) == 0


def test_a_send_back_loop_keeps_its_rounds():
    _, clock, _engine, _ser, wf = _plain(SEND_BACK_LOOP, "send_back_loop")
    for n in range(5):
        [draft] = ready_human_tasks(wf)
        complete_human_task(wf, draft, {"again": n < 4, "version": n}, clock)
    assert wf.is_completed() and _count(wf, "draft") == 5 and _count(wf, "merge") == 5
    assert compaction.compact(wf) == 0
