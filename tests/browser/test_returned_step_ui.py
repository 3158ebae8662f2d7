"""A step sent back with 退回 reopens filled in (issue 14), in real Chromium: the manager returns
方案设计 from 内部评审 with a reason on the task page; the planner opens the reopened step and
finds every plan field and both lists as submitted, under a notice saying who returned it, when
and why. Saves tests/screenshots/returned_step.png."""

from __future__ import annotations

import re

from tests.browser.staff_forms import form_ready, label
from tests.browser.task_steps import open_row, plan_in_review
from tests.scenarios.initiation_data import PLAN

REASON = "预算依据不足，请补充供应商报价单"


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
