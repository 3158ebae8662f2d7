"""项目策划全流程 step by step through the API, for the project scenarios (test_project_*.py):
each helper does one stage with the users the diagram gives it to and the data a department
would enter. Clock moves and timers are the tests' own business."""

from __future__ import annotations

from typing import Any

from tests.scenarios import Api

START: dict[str, Any] = {
    "project_name": "Q3 旺季促销",
    "requirement_source": "business_department",
    "requesting_department": "销售部",
    "requirement_description": "销售部提出旺季促销需求，希望借助线上预售提升Q3销售额。",
    "initial_goal": "提升Q3销售额20%",
    "a_owner": "sup",
    "b_owner": "sup2",
}
CHARTER: dict[str, Any] = {
    "project_goal": "Q3 销售额提升 20%",
    "budget": 120000,
    "cycle_start": "2026-04-01",
    "cycle_end": "2026-06-30",
    "core_strategy": "线上预售+线下体验",
}
PLAN: dict[str, Any] = {
    "plan_background": "旺季到来，竞品推出直播预售",
    "plan_goals": "Q3 销售额提升 20%",
    "plan_strategy": "线上预售+线下体验",
    "plan_timeline": "4月预热；5月预售；6月体验店活动",
    "plan_resources": "会展供应商；预算：线上 60%，线下 40%",
    "risk_plan": "活动日暴雨：更换室内场地或转为直播",
    "budget": 120000,
    "division_of_labour": [
        {"work_item": "预售页面", "owner": "tec", "department": "技术部"},
        {"work_item": "物料设计", "owner": "des", "department": "设计部"},
    ],
    "milestones": [
        {"milestone": "预售页面上线", "due_date": "2026-04-10", "owner": "tec"},
        {"milestone": "物料制作完成", "due_date": "2026-04-20", "owner": "des"},
    ],
}
RETROSPECTIVE: dict[str, Any] = {
    "metrics": [
        {"name": "销售额", "target": 1000000, "actual": 920000, "unit": "元"},
        {"name": "曝光量", "target": 500000, "actual": 600000, "unit": "次"},
    ],
    "highlights": "线上预售转化率高",
    "shortfalls": "线下物料延期两天",
    "process_improvements": "线下活动需提前一周确认天气",
    "case_title": "旺季预售策略模板",
    "case_category": "promotion",
}
WEEKLY: dict[str, Any] = {
    "overall_status": "on_track",
    "milestones_done": "预售页面上线",
    "next_week_plan": "推进预售",
}


def start(api: Api, **changes: Any) -> int:
    return api.start("alice", "project_initiation", {**START, **changes})["id"]


def research(api: Api, iid: int) -> None:
    api.do("alice", iid, "Task_internal_research", {
        "interview_summary": "访谈销售部：目标提升Q3销售额20%",
        "measurable_goal": "提升Q3销售额20%",
        "estimated_budget": 120000,
    })
    api.do("bob", iid, "Task_external_research",
           {"industry_report_summary": "行业报告：直播预售转化率显著提升"})


def draft_charter(api: Api, iid: int, owner: str = "sup", **changes: Any) -> None:
    api.do(owner, iid, "Task_charter_draft", {**CHARTER, **changes})


def confirm_charter(api: Api, iid: int, requester: str = "req") -> None:
    api.do("mgr", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    api.do(requester, iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})


def design_and_review(
    api: Api, iid: int, owner: str = "sup", requester: str = "req", **changes: Any
) -> None:
    """方案设计, 内部评审 and the three external reviews, all approving."""
    api.do(owner, iid, "Task_plan_design", {**PLAN, **changes})
    api.do("mgr", iid, "Task_internal_review",
           {"internal_review_comments": "创意可行", "internal_review_decision": "approve"})
    api.do(requester, iid, "Task_requester_review", {"requester_review_decision": "approve"})
    api.do("fin", iid, "Task_finance_review",
           {"finance_review_decision": "approve", "finance_budget_checked": True})
    api.do("law", iid, "Task_legal_review",
           {"legal_review_decision": "approve", "legal_contract_checked": True})


def to_budget_approval(api: Api, iid: int, owner: str = "sup", **plan: Any) -> None:
    """From the start of the instance to 分级预算审批 (no send-backs)."""
    research(api, iid)
    draft_charter(api, iid, owner)
    confirm_charter(api, iid)
    design_and_review(api, iid, owner, **plan)


def to_execution(api: Api, iid: int, owner: str = "sup", approver: str = "mgr") -> None:
    """From the start of the instance into execution, the budget approved by `approver`."""
    to_budget_approval(api, iid, owner)
    api.do(approver, iid, "Task_budget_approval", {"budget_approval_decision": "approve"})


def open_elements(api: Api, users: list[str], iid: int) -> list[str]:
    """Every open task of the instance that one of `users` sees, by element id."""
    seen = {t["id"]: t["element_id"] for u in users for t in api.inbox(u, iid)}
    return sorted(seen.values())
