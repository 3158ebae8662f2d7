"""复盘与沉淀 in 项目策划全流程: the retrospective waits until every risk response, technical
support, extra-budget request and weekly report of the execution is done, and the manager signs
it off (or sends it back) before the case is filed and the project closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.store.db import transaction
from engine.store.records_business import CaseLibraryRecord
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has
from tests.scenarios.project_steps import RETROSPECTIVE, WEEKLY, start, to_execution

USERS = ["alice", "bob", "mgr", "sup", "sup2", "req", "fin", "tec", "boss"]
FINISHED = {"execution_summary": "预售与体验店活动按计划完成", "execution_finished": True}


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def _open(api: Api, iid: int) -> list[str]:
    return sorted(t["element_id"] for t in api.instance("boss", iid)["open_tasks"])


def test_the_retrospective_waits_for_open_risk_budget_and_report_tasks(
    api: Api, scenario_ctx: EngineContext
) -> None:
    iid = start(api)
    to_execution(api, iid)
    api.message("sup", iid, "raise_risk", {
        "risk_description": "预售页面高并发故障", "risk_level": "high", "raised_by": "sup",
    })
    api.message("sup", iid, "request_extra_budget",
                {"extra_budget_amount": 30000, "extra_budget_reason": "追加直播推广",
                 "requested_by": "sup"})
    api.clock.set(datetime(2026, 4, 8, 0, 0, 1, tzinfo=ZoneInfo("Asia/Shanghai")))
    fire_timers(scenario_ctx)

    api.do("sup", iid, "Task_execution_monitoring", FINISHED)
    # execution is over (no more risks or requests) but its work is not done: no retrospective
    r = api.post("sup", f"/process-instances/{iid}/messages/raise_risk", {"data": {}})
    assert r.status_code == 409
    assert _open(api, iid) == [
        "Task_extra_budget_request", "Task_risk_response", "Task_weekly_report"
    ]

    api.do("mgr", iid, "Task_risk_response", {
        "risk_description": "预售页面高并发故障", "risk_level": "high",
        "response_action": "add_resources", "response_plan": "扩容并启用排队页",
        "tech_support_needed": "yes",
    })
    assert _open(api, iid) == [
        "Task_extra_budget_request", "Task_tech_support", "Task_weekly_report"
    ]
    api.do("tec", iid, "Task_tech_support",
           {"tech_issue_resolution": "扩容并修复缓存", "tech_issue_resolved": True})
    api.do("sup", iid, "Task_weekly_report", WEEKLY)
    api.do("sup", iid, "Task_extra_budget_request",
           {"extra_budget_amount": 30000, "extra_budget_reason": "追加直播推广"})
    assert _open(api, iid) == ["Task_extra_budget_approval"]
    assert api.tasks("sup", iid, "Task_retrospective") == []

    # the last open item done: now the retrospective opens, for the A角
    api.do("mgr", iid, "Task_extra_budget_approval", {"extra_budget_decision": "approve"})
    assert _open(api, iid) == ["Task_retrospective"]
    assert who_has(api, USERS, iid, "Task_retrospective") == ["sup"]


def test_without_open_items_the_retrospective_follows_at_once(api: Api) -> None:
    iid = start(api)
    to_execution(api, iid)
    api.do("sup", iid, "Task_execution_monitoring", FINISHED)
    assert _open(api, iid) == ["Task_retrospective"]


def test_the_manager_signs_the_retrospective_off(
    api: Api, scenario_ctx: EngineContext
) -> None:
    iid = start(api)
    to_execution(api, iid)
    api.do("sup", iid, "Task_execution_monitoring", FINISHED)
    filed = api.do("sup", iid, "Task_retrospective", RETROSPECTIVE)
    assert filed["status"] == "running"
    assert who_has(api, USERS, iid, "Task_retrospective_signoff") == ["mgr"]
    signoff = api.task("mgr", iid, "Task_retrospective_signoff")
    # the manager reads what is signed off: the report is the step's review document
    page = api.get("mgr", f"/tasks/{signoff['id']}").get_json()
    assert page["data"]["completion_result"]["summary"] == "96%（达成 1/2 项）"
    r = api.post("sup", f"/tasks/{signoff['id']}/complete",
                 {"data": {"retrospective_signoff_decision": "approve"}})
    assert r.status_code in (403, 404)  # the A角 does not sign off their own retrospective

    # sent back, with a reason the A角 sees on the retrospective
    r = api.post("mgr", f"/tasks/{signoff['id']}/complete",
                 {"data": {"retrospective_signoff_decision": "return"}})
    assert r.status_code == 422  # a reason is required
    api.complete("mgr", signoff, {
        "retrospective_signoff_decision": "return",
        "retrospective_signoff_return_reason": "补充线下体验的参与人数",
    })
    again = api.task("sup", iid, "Task_retrospective")
    data = api.get("sup", f"/tasks/{again['id']}").get_json()["data"]
    assert data["retrospective_signoff_return_reason"] == "补充线下体验的参与人数"
    with transaction(scenario_ctx.sessions) as session:
        assert session.scalar(select(func.count(CaseLibraryRecord.id))) == 0  # not filed yet
    metrics = [*RETROSPECTIVE["metrics"],
               {"name": "线下体验参与人数", "target": 2000, "actual": 2100, "unit": "人"}]
    api.complete("sup", again, {**RETROSPECTIVE, "metrics": metrics})

    done = api.do("mgr", iid, "Task_retrospective_signoff",
                  {"retrospective_signoff_decision": "approve",
                   "retrospective_signoff_comment": "复盘完整，入库"})
    assert done["status"] == "completed"
    assert done["data"]["case_library_entry"]["title"] == "旺季预售策略模板"
    reports = [d for d in done["documents"] if d["doc_type"] == "retrospective_report"]
    assert len(reports) == 2  # one per round; the case keeps the signed-off one
    with transaction(scenario_ctx.sessions) as session:
        case = session.scalars(select(CaseLibraryRecord)).one()
        assert case.document_id == reports[-1]["id"]
