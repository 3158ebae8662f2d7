"""Shared by the 项目策划全流程 tests that start the real model with their own data
(tests/scenarios/test_project_initiation.py, test_return_prefill.py and the browser tests of a
returned or reviewed step): what the requester starts with, the charter and the plan. Not the
data of project_steps.py: this charter asks for 150000 and the plan's milestones fall in
March."""

from __future__ import annotations

START_DATA = {
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
    "budget": 150000,
    "cycle_start": "2026-04-01",
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
    "division_of_labour": [
        {"work_item": "预售页面", "owner": "tec", "department": "技术部"},
        {"work_item": "物料设计", "owner": "des", "department": "设计部"},
    ],
    "milestones": [
        {"milestone": "预售页面上线", "due_date": "2026-03-20", "owner": "tec"},
        {"milestone": "物料制作完成", "due_date": "2026-03-25", "owner": "des"},
    ],
}
