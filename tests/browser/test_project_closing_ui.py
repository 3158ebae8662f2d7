"""The end of a project's execution in Chromium: the A角 closes the last week's 《项目进度周报》
with a reason on the report's own form (the week's fields give way to 关闭原因, which is
required), and the manager reads the 《项目复盘报告》 on 经理审核复盘 and sends it back with a
reason the A角 then sees on 复盘数据填报. Saves tests/screenshots/weekly_close.png and
retrospective_signoff.png."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.browser.staff_forms import fill, form_ready, submit_and_wait
from tests.reports import api_for
from tests.scenarios import fire_timers
from tests.scenarios.project_steps import (
    RETROSPECTIVE,
    confirm_charter,
    design_and_review,
    draft_charter,
    research,
    start,
)


def test_close_the_last_report_and_send_the_retrospective_back(
    page, live_server, screenshot
) -> None:
    ctx, url = live_server.ctx, live_server.url
    api = api_for(ctx)
    iid = start(api)
    research(api, iid)
    today = ctx.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    draft_charter(api, iid, cycle_start=(today - timedelta(days=8)).isoformat(),
                  cycle_end=(today + timedelta(days=60)).isoformat())
    confirm_charter(api, iid)
    design_and_review(api, iid)
    api.do("mgr", iid, "Task_budget_approval", {"budget_approval_decision": "approve"})
    fire_timers(ctx)  # a week of execution has passed: its report is due
    report = api.task("sup", iid, "Task_weekly_report")
    api.do("sup", iid, "Task_execution_monitoring",
           {"execution_summary": "执行提前结束", "execution_finished": True})

    live_server.login(page, "sup")
    page.goto(f"{url}/tasks/{report['id']}")
    form_ready(page)
    assert page.get_by_label(re.compile("^本期$")).input_value().startswith("第1周（")
    assert page.get_by_label("提交周报").is_checked()
    assert page.get_by_label(re.compile("^下周计划")).is_visible()
    page.get_by_label("关闭本期（不出周报，须说明原因）").check()
    reason = page.get_by_label(re.compile("^关闭原因"))
    reason.wait_for()
    assert page.get_by_label(re.compile("^下周计划")).count() == 0  # the week's fields go
    fill(page, "关闭原因", "执行已于本周提前结束，进展已写入执行总结")
    screenshot(page, "weekly_close")
    submit_and_wait(page, "提交", r"/tasks$")
    assert "已提交" in page.locator(".flash").inner_text()
    assert not [d for d in api.documents("sup", iid) if d["doc_type"] == "weekly_report"]

    # nothing open any more: the retrospective; filed through the API, signed off on the page
    api.do("sup", iid, "Task_retrospective", RETROSPECTIVE)
    signoff = api.task("mgr", iid, "Task_retrospective_signoff")
    page.context.clear_cookies()
    live_server.login(page, "mgr")
    page.goto(f"{url}/tasks/{signoff['id']}")
    form_ready(page)
    assert "《项目复盘报告》" in page.locator("#doc-h").inner_text()
    assert "96%（达成 1/2 项）" in page.locator("#review-document").inner_text()
    page.get_by_label("退回修改").check()
    fill(page, "退回原因", "补充线下体验的参与人数")
    screenshot(page, "retrospective_signoff")
    submit_and_wait(page, "提交", r"/tasks$")

    again = api.task("sup", iid, "Task_retrospective")
    page.context.clear_cookies()
    live_server.login(page, "sup")
    page.goto(f"{url}/tasks/{again['id']}")
    form_ready(page)
    assert page.get_by_label(re.compile("^经理退回原因")).input_value() == "补充线下体验的参与人数"
