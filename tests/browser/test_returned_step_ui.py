"""A step sent back with 退回 reopens filled in (issue 14), in real Chromium: the manager returns
方案设计 from 内部评审 with a reason on the task page; the planner opens the reopened step and
finds every plan field and both lists as submitted, under a notice saying who returned it, when
and why. Saves tests/screenshots/returned_step.png."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, UserRecord
from engine.usecases import instances
from tests.browser.test_staff_ui import form_ready, label
from tests.scenarios import add_extra_staff
from tests.scenarios.test_project_initiation import CHARTER, PLAN, START_DATA

REASON = "预算依据不足，请补充供应商报价单"


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


def values(page, field: str) -> list[str]:
    return [f.input_value() for f in page.get_by_label(label(field)).all()]


def test_returned_step_opens_prefilled_with_the_reason(page, live_server, screenshot) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = plan_in_review(ctx)
    review = open_row(ctx, iid, "Task_internal_review").id

    live_server.login(page, "mgr")
    page.goto(f"{url}/tasks/{review}")
    page.locator("#ops-return > summary").click()
    panel = page.locator("#ops-return")
    panel.get_by_role("radio", name=re.compile("方案设计")).check()
    panel.get_by_label("原因").fill(REASON)
    with page.expect_navigation(url=re.compile(r"/tasks$")):
        panel.get_by_role("button", name="退回").click()
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/login"))

    again = open_row(ctx, iid, "Task_plan_design")
    assert again.assignee == "sup"
    live_server.login(page, "sup")
    page.goto(f"{url}/tasks/{again.id}")
    form_ready(page)

    notice = page.locator("#reopened-notice")
    text = " ".join(notice.inner_text().split())
    assert re.match(
        rf"^已被退回 · 退回人 王经理 · \d{{4}}-\d\d-\d\d \d\d:\d\d · 原因：{REASON}", text
    ), text
    assert "表单已按上次提交的内容填好" in text
    # the notice comes first: above the form
    assert notice.bounding_box()["y"] < page.locator("#staff-form").bounding_box()["y"]

    for field, key in (
        ("项目背景", "plan_background"),
        ("项目目标", "plan_goals"),
        ("策略", "plan_strategy"),
        ("流程（分阶段时间线）", "plan_timeline"),
        ("资源（供应商、预算分配）", "plan_resources"),
        ("风险预案", "risk_plan"),
    ):
        assert values(page, field) == [PLAN[key]], field
    assert values(page, "方案预算（元）") == ["120000"]
    assert values(page, "工作事项") == [r["work_item"] for r in PLAN["division_of_labour"]]
    assert values(page, "部门") == [r["department"] for r in PLAN["division_of_labour"]]
    assert values(page, "里程碑") == [r["milestone"] for r in PLAN["milestones"]]

    shot = screenshot(page, "returned_step")
    assert shot.exists()
