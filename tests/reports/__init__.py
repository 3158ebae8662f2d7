"""Reading what the processes wrote (issue 15): the case library, the leads handed to sales and
the appraisal numbers, through the API. The processes are driven along their shortest paths by
the department's users (`tests.scenarios.EXTRA_STAFF`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.scenarios import Api

START = {
    "project_name": "Q3 旺季促销",
    "requirement_source": "business_department",
    "requesting_department": "销售部",
    "requirement_description": "销售部提出旺季促销需求，希望借助线上预售提升Q3销售额。",
    "initial_goal": "提升Q3销售额20%",
    "a_owner": "sup",
    "b_owner": "sup2",
}
CHARTER = {
    "project_goal": "Q3 销售额提升 20%",
    "budget": 120000,
    "cycle_start": "2026-03-02",
    "cycle_end": "2026-06-30",
    "core_strategy": "线上预售+线下体验",
}
PLAN = {
    "plan_background": "旺季到来，竞品推出直播预售",
    "plan_goals": "Q3 销售额提升 20%",
    "plan_strategy": "线上预售+线下体验",
    "plan_timeline": "4月预热；5月预售；6月体验店活动",
    "plan_resources": "会展供应商；预算：线上 60%，线下 40%",
    "risk_plan": "活动日暴雨：更换室内场地或转为直播",
    "budget": 120000,
    "division_of_labour": [{"work_item": "物料设计", "owner": "des", "department": "设计部"}],
    "milestones": [{"milestone": "物料制作完成", "due_date": "2026-03-25", "owner": "des"}],
}
METRICS = [
    {"name": "销售额", "target": 1000000, "actual": 1000000, "unit": "元"},
    {"name": "曝光量", "target": 500000, "actual": 500000, "unit": "次"},
]


def project_to_execution(
    api: Api, start: dict[str, Any] | None = None, review: dict[str, Any] | None = None,
    charter: dict[str, Any] | None = None,
) -> int:
    """A project from its requirement to execution (no send-backs); `review` adds to the
    internal review's data, `charter` to the 立项书's (its cycle). Returns the instance id."""
    iid = api.start("alice", "project_initiation", {**START, **(start or {})})["id"]
    api.do("alice", iid, "Task_internal_research", {
        "interview_summary": "访谈销售部：目标提升Q3销售额20%", "measurable_goal": "+20%",
        "estimated_budget": 120000,
    })
    api.do("bob", iid, "Task_external_research",
           {"industry_report_summary": "行业报告：直播预售转化率显著提升"})
    owner = (start or {}).get("a_owner", START["a_owner"])
    api.do(owner, iid, "Task_charter_draft", {**CHARTER, **(charter or {})})
    api.do("mgr", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    api.do("req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    api.do(owner, iid, "Task_plan_design", PLAN)
    api.do("mgr", iid, "Task_internal_review", {
        "internal_review_comments": "创意可行", "internal_review_decision": "approve",
        **(review or {}),
    })
    api.do("req", iid, "Task_requester_review", {"requester_review_decision": "approve"})
    api.do("fin", iid, "Task_finance_review",
           {"finance_review_decision": "approve", "finance_budget_checked": True})
    api.do("law", iid, "Task_legal_review",
           {"legal_review_decision": "approve", "legal_contract_checked": True})
    api.do("mgr", iid, "Task_budget_approval", {"budget_approval_decision": "approve"})
    return iid


def finish_project(
    api: Api, iid: int, owner: str = "sup", *, title: str = "旺季预售策略模板",
    category: str = "promotion", metrics: list[dict[str, Any]] | None = None,
    retro: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Execution finished, the retrospective filed and signed off: the instance (completed)."""
    api.do(owner, iid, "Task_execution_monitoring",
           {"execution_summary": "按计划完成", "execution_finished": True})
    done = api.do(owner, iid, "Task_retrospective", {
        "metrics": METRICS if metrics is None else metrics,
        "highlights": "线上预售转化率高",
        "shortfalls": "线下物料延期两天",
        "process_improvements": "线下活动需提前一周确认天气",
        "case_title": title,
        "case_category": category,
        **(retro or {}),
    })
    # the planning manager signs the retrospective off before the case is filed
    done = api.do("mgr", iid, "Task_retrospective_signoff",
                  {"retrospective_signoff_decision": "approve"})
    assert done["status"] == "completed", [t["element_id"] for t in done["tasks"]]
    return done


def this_cycle(ctx: Any) -> dict[str, str]:
    """A 立项书 cycle starting today (a live server runs on the real clock)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    today = ctx.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    return {"cycle_start": today.isoformat(),
            "cycle_end": (today + timedelta(days=90)).isoformat()}


def api_for(ctx: Any) -> Api:
    """The API of a running context (a browser test's live server), for setting up data."""
    from tests.conftest import PASSWORD
    from tests.scenarios import add_extra_staff
    from web import create_app

    add_extra_staff(ctx)
    client = create_app({"TESTING": True}, context=ctx).test_client()
    tokens: dict[str, dict[str, str]] = {}

    def token_for(user: str) -> dict[str, str]:
        if user not in tokens:
            r = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
            assert r.status_code == 201, r.get_json()
            tokens[user] = {"Authorization": f"Bearer {r.get_json()['token']}"}
        return tokens[user]

    return Api(client, token_for, ctx.clock)


FIXTURES = Path(__file__).parent / "fixtures"
LEADS = [
    {"customer_name": "星辰科技", "contact_person": "王总", "contact": "13800000001",
     "interest_level": "high", "lead_note": "想订购 200 台"},
    {"customer_name": "远山贸易", "contact_person": "赵经理", "contact": "zhao@example.com",
     "interest_level": "medium"},
]


def event_with_leads(api: Api, ctx: Any, name: str = "2026 新品发布会") -> int:
    """The launch's wrap-up (tests/reports/fixtures/lead_event.bpmn, the same handler as
    bpmn/product_launch.bpmn): two leads handed to sales. Returns the instance id."""
    from engine.store.db import transaction
    from engine.usecases.deploy import deploy, uploads_from_paths

    with transaction(ctx.sessions) as session:
        deploy(ctx, session, uploads_from_paths([FIXTURES]), "owner")
    iid = api.start("alice", "lead_event", {"event_name": name})["id"]
    done = api.do("alice", iid, "Task_wrap_up", {"leads": LEADS})
    assert done["data"]["lead_handover"]["handed_over"] == len(LEADS)
    return iid
