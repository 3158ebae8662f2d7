"""``project_initiation`` run end to end on the harness: research, charter and plan with their
send-backs, the budget approval tiers, execution (weekly reports, risks, extra budget) and the
retrospective's sign-off."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from tests.engine.bpmn_harness import Runner, make_parser
from tests.engine.bpmn_scripts import Clock, freeze_clock

PROJECT_START = {
    "project_name": "Q3 旺季促销",
    "requirement_source": "business_department",
    "requesting_department": "销售部",
    "a_owner": "zhangsan",
    "b_owner": "lisi",
}


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return make_parser()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The harness's clock at START (this module's `clock`, not tests/conftest.py's)."""
    return freeze_clock(monkeypatch)


def test_project_initiation_end_to_end(parser, clock):
    run = Runner(parser, "project_initiation", PROJECT_START, started_by="wangwu")
    assert run.ready_ids() == ["Task_external_research", "Task_internal_research"]
    run.complete("Task_internal_research")
    run.complete("Task_external_research")

    # charter: the requesting department sends it back once
    assert (
        run.task("Task_charter_draft").task_spec.extensions["properties"]["assignee"] == "a_owner"
    )
    run.complete("Task_charter_draft", budget=80000)
    assert run.engine.docs() == ["project_charter"]
    assert run.ready_ids() == ["Task_manager_confirm", "Task_requester_confirm"]
    run.complete("Task_manager_confirm")
    run.complete(
        "Task_requester_confirm",
        requester_charter_decision="return",
        requester_charter_return_reason="预算不足以覆盖线下体验",
    )
    draft = run.task("Task_charter_draft")
    assert draft.data["requester_charter_return_reason"] == "预算不足以覆盖线下体验"
    run.complete("Task_charter_draft", budget=120000)
    assert run.engine.docs() == ["project_charter", "project_charter"]
    run.complete("Task_manager_confirm")
    run.complete("Task_requester_confirm")

    # plan: internal review sends it back, then finance rejects in the external review
    run.complete("Task_plan_design", budget=150000)
    run.complete(
        "Task_internal_review",
        internal_review_decision="return",
        internal_review_return_reason="创意不够聚焦",
    )
    run.complete("Task_plan_design", budget=150000)
    run.complete("Task_internal_review")
    assert run.ready_ids() == ["Task_finance_review", "Task_legal_review", "Task_requester_review"]
    run.complete("Task_requester_review")
    run.complete(
        "Task_finance_review",
        finance_review_decision="return",
        finance_review_return_reason="物料预算超支",
    )
    assert run.ready_ids() == ["Task_legal_review"], "all parallel reviewers still decide"
    run.complete("Task_legal_review")
    design = run.task("Task_plan_design")
    assert design.data["finance_review_return_reason"] == "物料预算超支"
    run.complete("Task_plan_design", budget=180000)
    run.complete("Task_internal_review")
    for task_id in ("Task_requester_review", "Task_finance_review", "Task_legal_review"):
        run.complete(task_id)

    # tiered budget approval through the DMN
    approval = run.task("Task_budget_approval")
    assert approval.data["approver_group"] == "planning_manager"
    assert (
        approval.task_spec.extensions["properties"]["candidateGroupsExpression"] == "approver_group"
    )
    assert approval.task_spec.lane == "策划部经理"
    run.complete("Task_budget_approval")
    assert run.engine.docs()[-1] == "execution_plan"

    # execution: weekly cycle timer, risks at any time, extra budget
    assert run.ready_ids() == ["Task_execution_monitoring"]
    assert run.waiting_messages() == ["raise_risk", "request_extra_budget"]
    run.tick(days=6)
    assert run.ready_ids() == ["Task_execution_monitoring"]
    run.tick(days=1, hours=1)
    assert run.ready_ids() == ["Task_execution_monitoring", "Task_weekly_report"]
    run.tick(days=7)
    assert len(run.ready("Task_weekly_report")) == 2
    while run.ready("Task_weekly_report"):
        run.complete("Task_weekly_report")
    assert run.engine.docs().count("weekly_report") == 2

    run.message(
        "raise_risk",
        {"risk_description": "活动当天暴雨", "risk_level": "high", "raised_by": "zhangsan"},
    )
    run.message("raise_risk", {"risk_description": "预售页面故障", "raised_by": "lisi"})
    risks = run.ready("Task_risk_response")
    assert sorted(t.data["risk_description"] for t in risks) == ["活动当天暴雨", "预售页面故障"]
    assert "Task_execution_monitoring" in run.ready_ids(), "a risk does not stop the project"
    assert run.waiting_messages() == ["raise_risk", "request_extra_budget"], "still listening"
    while run.ready("Task_risk_response"):
        task = run.ready("Task_risk_response")[0]
        page_bug = task.data["risk_description"] == "预售页面故障"
        run.complete(
            "Task_risk_response", task=task, tech_support_needed="yes" if page_bug else "no"
        )
    run.complete("Task_tech_support")
    assert run.ready("Task_risk_response") == [] and run.ready("Task_tech_support") == []

    run.message(
        "request_extra_budget",
        {
            "extra_budget_amount": 30000,
            "extra_budget_reason": "加投小红书",
            "requested_by": "zhaoliu",
        },
    )
    request = run.task("Task_extra_budget_request")
    assert request.data["extra_budget_amount"] == 30000
    run.complete("Task_extra_budget_request", extra_budget_amount=30000)
    extra = run.task("Task_extra_budget_approval")
    # judged on the running total 180,000 + 30,000, not on the 30,000 alone
    assert extra.data["budget_running_total"] == 210000
    assert extra.data["approver_group"] == "executive"
    assert extra.data["budget"] == 180000, "project budget restored after the extra DMN"
    run.complete("Task_extra_budget_approval")

    run.tick(days=7)
    assert len(run.ready("Task_weekly_report")) == 1
    run.complete("Task_weekly_report")
    run.complete("Task_execution_monitoring")
    assert run.waiting_timers() == {}, "the weekly cycle stops with execution"
    assert run.waiting_messages() == []
    with pytest.raises(WorkflowException):
        run.wf.send_event(BpmnEvent(MessageEventDefinition("raise_risk"), payload={}))

    # retrospective
    run.complete(
        "Task_retrospective",
        metrics=[
            {"name": "销售额", "target": 1000000, "actual": 1200000, "unit": "元"},
            {"name": "曝光量", "target": 500000, "actual": 400000},
        ],
    )
    ops = [op for op, _p, _t in run.engine.calls]
    assert ops[-2:] == ["compute_completion_rate", "generate_project_document"]
    # the manager signs the retrospective off: once sent back, then confirmed
    assert run.ready_ids() == ["Task_retrospective_signoff"]
    run.complete(
        "Task_retrospective_signoff",
        retrospective_signoff_decision="return",
        retrospective_signoff_return_reason="补充线下体验的参与数据",
    )
    again = run.task("Task_retrospective")
    assert again.data["retrospective_signoff_return_reason"] == "补充线下体验的参与数据"
    run.complete("Task_retrospective", task=again, metrics=again.data["metrics"])
    assert run.task("Task_retrospective_signoff").data["retrospective_signoff_decision"] is None
    run.complete("Task_retrospective_signoff", retrospective_signoff_decision="approve")
    ops = [op for op, _p, _t in run.engine.calls]
    assert ops[-3:] == [
        "compute_completion_rate", "generate_project_document", "add_case_library_entry"
    ]
    case_params = run.engine.calls[-1][1]
    assert case_params["completion_rate"] == 90.0
    assert case_params["project_name"] == "Q3 旺季促销"
    assert run.wf.is_completed()
    assert run.engine.docs().count("retrospective_report") == 2  # one per round
    assert run.wf.data["case_library_entry"]["case_id"].startswith("case-")
    run.assert_json_only()


def test_project_initiation_budget_returned_goes_back_to_plan_design(parser, clock):
    run = Runner(parser, "project_initiation", PROJECT_START)
    run.complete("Task_internal_research")
    run.complete("Task_external_research")
    run.complete("Task_charter_draft", budget=300000)
    run.complete("Task_manager_confirm")
    run.complete("Task_requester_confirm")
    run.complete("Task_plan_design", budget=300000)
    run.complete("Task_internal_review")
    for task_id in ("Task_requester_review", "Task_finance_review", "Task_legal_review"):
        run.complete(task_id)
    assert run.task("Task_budget_approval").data["approver_group"] == "executive"
    run.complete(
        "Task_budget_approval",
        budget_approval_decision="return",
        budget_approval_return_reason="请压缩到20万以内",
    )
    run.complete("Task_plan_design", budget=45000)
    run.complete("Task_internal_review")
    for task_id in ("Task_requester_review", "Task_finance_review", "Task_legal_review"):
        run.complete(task_id)
    assert run.task("Task_budget_approval").data["approver_group"] == "planning_supervisor"
