"""Steps the browser tests take in the engine before a page opens, shared by them: start an
approval, the open row of a step, claim it, complete a step as a user, and 项目策划 taken up to
内部评审 with 方案设计 submitted (`plan_in_review`)."""

from __future__ import annotations

from sqlalchemy import select

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, UserRecord
from engine.usecases import instances
from tests.scenarios import add_extra_staff
from tests.scenarios.initiation_data import CHARTER, PLAN, START_DATA


def start(ctx, title: str) -> int:
    with transaction(ctx.sessions) as s:
        return instances.start(
            ctx, s, actor_for(s, "alice"), "approval_demo", {"title": title, "amount": 5000}
        ).id


def open_row(ctx, instance_id: int, element: str) -> HumanTaskRow:
    with transaction(ctx.sessions) as s:
        (row,) = s.scalars(
            select(HumanTaskRow).where(
                HumanTaskRow.instance_id == instance_id,
                HumanTaskRow.element_id == element,
                HumanTaskRow.status == "open",
            )
        ).all()
        return row


def claim(ctx, username: str, task_id: str) -> None:
    with transaction(ctx.sessions) as s:
        instances.claim(ctx, s, actor_for(s, username), task_id)


def do(ctx, username: str, instance_id: int, element: str, data: dict) -> None:
    task_id = open_row(ctx, instance_id, element).id
    with transaction(ctx.sessions) as s:
        instances.complete(ctx, s, actor_for(s, username), task_id, data)


def plan_in_review(ctx) -> int:
    """project_initiation up to 内部评审, with 方案设计 submitted as PLAN by 李主管 (sup)."""
    add_extra_staff(ctx)
    with transaction(ctx.sessions) as s:
        for username, name in (("mgr", "王经理"), ("sup", "李主管")):
            s.scalar(select(UserRecord).where(UserRecord.username == username)).display_name = (
                name
            )
        iid = instances.start(ctx, s, actor_for(s, "alice"), "project_initiation", START_DATA).id
    do(ctx, "alice", iid, "Task_internal_research", {
        "interview_summary": "访谈销售部：目标提升Q3销售额20%，可投入 3 人",
        "measurable_goal": "提升Q3销售额20%",
        "estimated_budget": 150000,
    })
    do(ctx, "bob", iid, "Task_external_research", {
        "industry_report_summary": "行业报告：直播预售转化率显著提升", "competitor_cases": "竞品A",
    })
    do(ctx, "sup", iid, "Task_charter_draft", CHARTER)
    do(ctx, "mgr", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    do(ctx, "req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    do(ctx, "sup", iid, "Task_plan_design", PLAN)
    return iid
