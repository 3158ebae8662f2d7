"""The demo's finished project (`planflow demo`, web/demo.py): 2026 春季会员日推广 went from its
requirement to its retrospective in the last twelve days, so the 案例库 has a case (with its
《项目复盘报告》) and the 考核数据 page this month's numbers (its 目标完成率; the running
project's weekly reports give the 按时完成率)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from web.demo_run import DemoRun

FINISHED_TITLE = "2026 春季会员日推广"


def finished_project(demo: DemoRun) -> int:
    begin = demo.now - timedelta(days=12)
    demo.at(begin)
    day = begin.astimezone(demo.tz).date()
    iid = demo.start("chen", "project_initiation", {
        "title": FINISHED_TITLE, "project_name": FINISHED_TITLE,
        "requirement_source": "business_department", "requesting_department": "销售部",
        "requirement_description": "销售部希望借会员日拉动老会员复购，并带来新会员。",
        "initial_goal": "会员日销售额 80 万元，新增会员 3,000 人",
        "a_owner": "zhao", "b_owner": "li",
    })
    demo.do("chen", iid, "Task_internal_research", {
        "interview_summary": "访谈销售部：会员复购率下滑，希望会员日拉动复购。",
        "measurable_goal": "会员日销售额 80 万元", "estimated_budget": 60000})
    demo.do("zhang", iid, "Task_external_research", {
        "industry_report_summary": "行业报告：会员专属权益对复购的拉动最明显。"})
    demo.do("zhao", iid, "Task_charter_draft", {
        "project_goal": "会员日销售额 80 万元，新增会员 3,000 人", "budget": 60000,
        "cycle_start": (day + timedelta(days=8)).isoformat(),
        "cycle_end": (day + timedelta(days=40)).isoformat(),
        "core_strategy": "会员专属价+积分翻倍，小程序预约到店",
    })
    demo.at(begin + timedelta(days=1))
    demo.do("wang", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    demo.do("liu", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    _plan(demo, iid, begin)
    demo.at(demo.now - timedelta(hours=2))
    demo.do("zhao", iid, "Task_execution_monitoring", {
        "execution_summary": "会员日活动按计划完成", "execution_finished": True})
    demo.at(demo.now - timedelta(hours=1))
    demo.do("zhao", iid, "Task_retrospective", {
        "metrics": [
            {"name": "会员日销售额", "target": 800000, "actual": 860000, "unit": "元"},
            {"name": "新增会员", "target": 3000, "actual": 2600, "unit": "人"},
        ],
        "highlights": "积分翻倍带动老会员复购，客单价提升 12%",
        "shortfalls": "新会员招募未达标：线下引流物料到店晚了两天",
        "process_improvements": "线下物料需提前一周到店；会员短信提前三天预热",
        "case_title": "会员日复购策略模板", "case_category": "promotion",
        "collaboration_ratings": [{"department": "design", "rating": 4},
                                  {"department": "sales", "rating": 5},
                                  {"department": "finance", "rating": 5}],
    })
    demo.do("wang", iid, "Task_retrospective_signoff", {
        "retrospective_signoff_decision": "approve",
        "retrospective_signoff_comment": "复盘完整：新会员引流的问题写进下次的执行方案"})
    return iid


def _plan(demo: DemoRun, iid: int, begin: datetime) -> None:
    """The plan, its four reviews and the budget approval (days 2–3)."""
    demo.at(begin + timedelta(days=2))
    demo.do("zhao", iid, "Task_plan_design", {
        "plan_background": "老会员复购率下滑，竞品会员日力度加大。",
        "plan_goals": "会员日销售额 80 万元；新增会员 3,000 人",
        "plan_strategy": "会员专属价+积分翻倍；小程序预约，到店核销",
        "plan_timeline": "第1周 预热；第2周 会员日；第3周 复盘",
        "plan_resources": "短信平台 1 家；预算：线上 50%，门店 50%",
        "risk_plan": "系统高峰卡顿：技术部扩容待命",
        "budget": 60000,
        "division_of_labour": [{"work_item": "会员日物料", "owner": "wu", "department": "设计部"}],
        "milestones": [{"milestone": "会员日物料到店",
                        "due_date": (begin + timedelta(days=9)).date().isoformat(),
                        "owner": "wu"}],
    })
    demo.at(begin + timedelta(days=3))
    demo.do("wang", iid, "Task_internal_review", {
        "internal_review_comments": "采纳陈专员“积分翻倍”的创意",
        "adopted_ideas": [{"idea": "会员积分翻倍", "proposer": "chen"},
                          {"idea": "小程序预约到店核销", "proposer": "zhao"}],
        "internal_review_decision": "approve"})
    demo.do("liu", iid, "Task_requester_review", {"requester_review_decision": "approve"})
    demo.do("zhou", iid, "Task_finance_review",
            {"finance_review_decision": "approve", "finance_budget_checked": True})
    demo.do("sun", iid, "Task_legal_review",
            {"legal_review_decision": "approve", "legal_contract_checked": True})
    demo.do("wang", iid, "Task_budget_approval", {"budget_approval_decision": "approve"})
