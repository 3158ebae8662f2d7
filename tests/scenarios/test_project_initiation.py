"""项目策划全流程 end to end: research, 立项 with a send-back, plan design with an external
review rejection, tiered budget approval, execution with a risk, an extra-budget request and two
weekly reports, retrospective with the completion rate and the case library entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.store.db import transaction
from engine.store.records_business import CaseLibraryRecord
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has
from tests.scenarios.initiation_data import CHARTER, PLAN, START_DATA

EVERYONE = ["alice", "bob", "mgr", "sup", "sup2", "req", "fin", "law", "des", "sales1", "tec"]

APPROVE_REVIEWS = {
    "req": ("Task_requester_review", {"requester_review_decision": "approve"}),
    "fin": (
        "Task_finance_review",
        {"finance_review_decision": "approve", "finance_budget_checked": True},
    ),
    "law": (
        "Task_legal_review",
        {"legal_review_decision": "approve", "legal_contract_checked": True},
    ),
}


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def test_project_initiation_end_to_end(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    started = api.start("alice", "project_initiation", START_DATA)
    iid = started["id"]
    assert started["title"] == "Q3 旺季促销"

    # 1. parallel research by the specialists
    assert who_has(api, EVERYONE, iid, "Task_internal_research") == ["alice", "bob"]
    assert who_has(api, EVERYONE, iid, "Task_external_research") == ["alice", "bob"]
    api.do(
        "alice",
        iid,
        "Task_internal_research",
        {
            "interview_summary": "访谈销售部：目标提升Q3销售额20%，可投入 3 人",
            "measurable_goal": "提升Q3销售额20%",
            "estimated_budget": 150000,
        },
    )
    api.do(
        "bob",
        iid,
        "Task_external_research",
        {
            "industry_report_summary": "行业报告：直播预售转化率显著提升",
            "competitor_cases": "竞品A",
        },
    )

    # 2. 立项: the charter is drafted by the A角, confirmed by manager and requester
    assert who_has(api, EVERYONE, iid, "Task_charter_draft") == ["sup"]  # A角, not sup2
    api.do("sup", iid, "Task_charter_draft", CHARTER)
    assert who_has(api, EVERYONE, iid, "Task_manager_confirm") == ["mgr"]
    assert who_has(api, EVERYONE, iid, "Task_requester_confirm") == ["req"]
    api.do(
        "mgr",
        iid,
        "Task_manager_confirm",
        {"manager_charter_decision": "return", "manager_charter_return_reason": "预算偏高，请压缩"},
    )
    api.do("req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    # send-back loop 1: back to the draft, with the manager's reason
    redraft = api.task("sup", iid, "Task_charter_draft")
    detail = api.get("sup", f"/tasks/{redraft['id']}").get_json()
    assert detail["data"]["manager_charter_return_reason"] == "预算偏高，请压缩"
    api.complete("sup", redraft, {**CHARTER, "budget": 120000})
    api.do("mgr", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    api.do("req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})

    # 3. plan design, internal review, external review with a rejection
    assert who_has(api, EVERYONE, iid, "Task_plan_design") == ["sup"]
    api.do("sup", iid, "Task_plan_design", PLAN)
    assert who_has(api, EVERYONE, iid, "Task_internal_review") == ["mgr"]
    api.do(
        "mgr",
        iid,
        "Task_internal_review",
        {"internal_review_comments": "创意可行", "internal_review_decision": "approve"},
    )
    for user, (element, _) in APPROVE_REVIEWS.items():
        assert who_has(api, EVERYONE, iid, element) == [user]
    api.do("req", iid, "Task_requester_review", {"requester_review_decision": "approve"})
    api.do(
        "fin",
        iid,
        "Task_finance_review",
        {"finance_review_decision": "approve", "finance_budget_checked": True},
    )
    api.do(
        "law",
        iid,
        "Task_legal_review",
        {"legal_review_decision": "return", "legal_review_return_reason": "供应商合同缺少违约条款"},
    )
    # send-back loop 2: back to plan design with legal's reason
    again = api.task("sup", iid, "Task_plan_design")
    data = api.get("sup", f"/tasks/{again['id']}").get_json()["data"]
    assert data["legal_review_return_reason"] == "供应商合同缺少违约条款"
    api.complete("sup", again, {**PLAN, "plan_resources": "会展供应商（合同含违约条款）"})
    api.do(
        "mgr",
        iid,
        "Task_internal_review",
        {"internal_review_comments": "同意", "internal_review_decision": "approve"},
    )
    for user, (element, form) in APPROVE_REVIEWS.items():
        api.do(user, iid, element, form)

    # 4. tiered budget approval: 120,000 → planning manager (DMN)
    assert who_has(api, EVERYONE, iid, "Task_budget_approval") == ["mgr"]
    approval = api.task("mgr", iid, "Task_budget_approval")
    assert approval["candidate_groups"] == ["planning_manager"]
    instance = api.complete("mgr", approval, {"budget_approval_decision": "approve"})
    assert instance["data"]["approver_group"] == "planning_manager"
    assert instance["data"]["budget"] == 120000  # read-only on the approval form: kept
    assert {d["doc_type"] for d in instance["documents"]} == {"project_charter", "execution_plan"}

    # 5. execution: monitoring stays open; a risk and an extra-budget request arrive
    assert who_has(api, EVERYONE, iid, "Task_execution_monitoring") == ["sup"]
    api.message(
        "sup",
        iid,
        "raise_risk",
        {"risk_description": "活动日可能暴雨", "risk_level": "high", "raised_by": "sup"},
    )
    assert who_has(api, EVERYONE, iid, "Task_risk_response") == ["mgr"]
    risk = api.task("mgr", iid, "Task_risk_response")
    risk_data = api.get("mgr", f"/tasks/{risk['id']}").get_json()["data"]
    assert risk_data["risk_description"] == "活动日可能暴雨"
    api.complete(
        "mgr",
        risk,
        {
            "risk_description": "活动日可能暴雨",
            "risk_level": "high",
            "response_action": "switch_to_livestream",
            "response_plan": "启动应急预案：转为直播，并修复预售页面的高并发问题",
            "tech_support_needed": "yes",
        },
    )
    assert who_has(api, EVERYONE, iid, "Task_tech_support") == ["tec"]
    api.do(
        "tec",
        iid,
        "Task_tech_support",
        {"tech_issue_resolution": "扩容并修复缓存", "tech_issue_resolved": True},
    )

    api.message(
        "sup",
        iid,
        "request_extra_budget",
        {
            "extra_budget_amount": 30000,
            "extra_budget_reason": "追加直播推广",
            "requested_by": "sup",
        },
    )
    assert who_has(api, EVERYONE, iid, "Task_extra_budget_request") == ["sup"]
    api.do(
        "sup",
        iid,
        "Task_extra_budget_request",
        {"extra_budget_amount": 30000, "extra_budget_reason": "追加直播推广预算"},
    )
    # judged on the running total 120,000 + 30,000 = 150,000 → the planning manager (30,000
    # alone would be a supervisor's — and the requester, the A角, is a supervisor)
    assert who_has(api, EVERYONE, iid, "Task_extra_budget_approval") == ["mgr"]
    api.do("mgr", iid, "Task_extra_budget_approval", {"extra_budget_decision": "approve"})

    # 6. weekly reports run from the project's execution start (cycle_start 2026-04-01), not
    # from the plan's approval: a week after the approval nothing is due yet; each report is
    # due when a week of execution has passed (00:00 of 04-08, 04-15, Asia/Shanghai)
    clock.set(clock.now() + timedelta(days=7, seconds=1))
    fire_timers(scenario_ctx)
    assert api.tasks("sup", iid, "Task_weekly_report") == []
    first_due = datetime(2026, 4, 8, tzinfo=ZoneInfo("Asia/Shanghai"))
    for week in (1, 2):
        assert api.tasks("sup", iid, "Task_weekly_report") == []
        clock.set(first_due + timedelta(days=7 * (week - 1), seconds=1))
        report = fire_timers(scenario_ctx)
        assert iid in report.woken
        assert who_has(api, EVERYONE, iid, "Task_weekly_report") == ["sup"]
        api.do(
            "sup",
            iid,
            "Task_weekly_report",
            {
                "overall_status": "on_track" if week == 1 else "at_risk",
                "milestones_done": "预售页面上线" if week == 1 else "物料制作完成",
                "weekly_risks": "" if week == 1 else "体验店施工进度偏慢",
                "next_week_plan": f"第 {week + 1} 周：推进预售",
            },
        )
    weekly = [d for d in api.documents("sup", iid) if d["doc_type"] == "weekly_report"]
    assert [d["title"] for d in weekly] == [
        "《项目进度周报》— Q3 旺季促销 第1期（2026-04-08）",
        "《项目进度周报》— Q3 旺季促销 第2期（2026-04-15）",
    ]

    # 7. execution finished → the listeners close → retrospective
    api.do(
        "sup",
        iid,
        "Task_execution_monitoring",
        {"execution_summary": "预售与体验店活动按计划完成", "execution_finished": True},
    )
    r = api.post("sup", f"/process-instances/{iid}/messages/raise_risk", {"data": {}})
    assert r.status_code == 409  # no longer accepted after execution
    assert who_has(api, EVERYONE, iid, "Task_retrospective") == ["sup"]
    done = api.do(
        "sup",
        iid,
        "Task_retrospective",
        {
            "metrics": [
                {"name": "销售额", "target": 1000000, "actual": 920000, "unit": "元"},
                {"name": "曝光量", "target": 500000, "actual": 600000, "unit": "次"},
                {"name": "用户参与度", "target": 30, "actual": 27, "unit": "%"},
            ],
            "highlights": "线上预售转化率高",
            "shortfalls": "线下物料延期两天",
            "process_improvements": "线下活动需提前一周确认天气",
            "case_title": "旺季预售策略模板",
            "case_category": "promotion",
        },
    )
    # the manager signs the retrospective off before the case is filed and the project closed
    assert done["status"] == "running" and "case_library_entry" not in done["data"]
    assert who_has(api, EVERYONE, iid, "Task_retrospective_signoff") == ["mgr"]
    done = api.do("mgr", iid, "Task_retrospective_signoff",
                  {"retrospective_signoff_decision": "approve"})
    assert done["status"] == "completed"
    result = done["data"]["completion_result"]
    # each target counts at most 100 %: (92 + 100 + 90) / 3, with the targets met beside it
    assert result["completion_rate"] == 94.0
    assert (result["met_count"], result["total_count"]) == (1, 3)
    entry = done["data"]["case_library_entry"]
    assert entry["title"] == "旺季预售策略模板" and entry["category"] == "promotion"

    # documents: 2 charters (one per round) and the approved one, the plan — a draft for the
    # reviewers per design round (2), then the approved one —, 2 weekly reports, the
    # retrospective
    docs = api.documents("mgr", iid)
    assert [d["doc_type"] for d in docs] == [
        "project_charter",
        "project_charter",
        "project_charter",
        "execution_plan",
        "execution_plan",
        "execution_plan",
        "weekly_report",
        "weekly_report",
        "retrospective_report",
    ]
    assert docs[1]["title"] == "《项目立项书》— Q3 旺季促销（第2版）"
    assert docs[2]["title"] == "《项目立项书》— Q3 旺季促销（已确认）"
    revised = api.check_downloads("sup", iid, docs[1])
    assert "- 策划部经理：预算偏高，请压缩" in revised  # what v2 revised
    texts = {d["doc_type"]: api.check_downloads("sup", iid, d) for d in docs}
    assert "| 状态 | 已确认 |" in texts["project_charter"]
    assert "| 1 | 预售页面 | tec | 技术部 |" in texts["execution_plan"]
    assert "| 方案预算 | ¥120,000 |" in texts["execution_plan"]
    assert "| 预算审批层级 | 策划部经理 |" in texts["execution_plan"]
    assert "| 项目预算 | ¥120,000 |" in texts["retrospective_report"]
    retro_text = texts["retrospective_report"]
    assert "| 目标完成率 | 94%（达成 1/3 项） |" in retro_text
    assert "| 曝光量 | 500,000 | 600,000 | 次 | 120% | 100% | 达成 |" in retro_text
    assert "线下活动需提前一周确认天气" in texts["retrospective_report"]

    retro = done["data"]["retrospective_report_doc"]
    with transaction(scenario_ctx.sessions) as session:
        case = session.scalars(select(CaseLibraryRecord)).one()
        assert case.id == entry["case_id"]
        assert (case.instance_id, case.document_id) == (iid, retro["document_id"])
        assert case.completion_rate == 94.0
        assert case.project_name == "Q3 旺季促销"

    # the audit log carries the handlers' notes
    audit = api.instance("mgr", iid)["audit"]
    notes = [a["details"].get("note") for a in audit if a["action"] == "handler_note"]
    assert "目标完成率 94%（达成 1/3 项）" in notes
    assert "已入案例库：旺季预售策略模板（促销活动）" in notes


def test_documents_follow_the_instance_visibility(api: Api, scenario_ctx: EngineContext) -> None:
    iid = api.start("alice", "project_initiation", START_DATA)["id"]
    api.do(
        "alice",
        iid,
        "Task_internal_research",
        {
            "interview_summary": "访谈销售部，明确目标",
            "measurable_goal": "+20%",
            "estimated_budget": 1,
        },
    )
    api.do(
        "bob", iid, "Task_external_research", {"industry_report_summary": "行业报告摘要十字以上"}
    )
    api.do("sup", iid, "Task_charter_draft", CHARTER)
    doc = api.documents("sup", iid)[0]
    path = f"/process-instances/{iid}/documents/{doc['id']}"
    for user in ("alice", "sup", "mgr", "req", "owner"):  # initiator, A角, manager, task holder
        assert api.get(user, path).status_code == 200, user
    for user in ("fin", "law", "sales1"):  # no part in this instance
        r = api.get(user, path)
        assert r.status_code == 404, user  # what they may not see does not exist to them
        assert r.get_json()["error"]["code"] == "not_found"
    assert api.get("sup", f"/process-instances/{iid}/documents/999").status_code == 404
    other = api.start("alice", "project_initiation", START_DATA)["id"]
    assert api.get("alice", f"/process-instances/{other}/documents/{doc['id']}").status_code == 404
    r = api.get("sup", path, query_string={"format": "pdf"})
    assert r.status_code == 400
    assert api.client.get(f"/api/v1{path}").status_code == 401
