"""A long 处理记录 in real Chromium: after the manager sent the request back twelve times (25
steps), the task page's history shows the latest 20 under a line saying how many earlier ones
are left out; 显示全部 opens the same page with all 25 and a way back. Saves
tests/screenshots/task_history_latest.png and task_history_all.png."""

from __future__ import annotations

import re

from tests.browser.staff_forms import form_ready
from tests.web.staff_helpers import sent_back


def test_a_long_history_shows_the_latest_steps_and_all_on_request(
    page, live_server, screenshot
) -> None:
    ctx, url = live_server.ctx, live_server.url
    _, submits = sent_back(ctx, 12)
    live_server.login(page, "alice")
    page.goto(f"{url}/tasks/{submits[-1]}")
    form_ready(page)
    steps = page.locator(".staff-timeline > li")
    assert steps.count() == 20
    earlier = page.locator("#history-more")
    assert " ".join(earlier.inner_text().split()) == "另有 5 条更早的记录未显示 · 显示全部"
    # the newest step last, as before: the manager's latest 退回
    assert "经理审批" in steps.last.inner_text()
    screenshot(page, "task_history_latest")

    earlier.get_by_role("link", name="显示全部").click()
    page.wait_for_url(re.compile(rf"/tasks/{submits[-1]}\?history=all#hist-h$"))
    form_ready(page)
    assert steps.count() == 25
    assert "发起流程" in steps.first.inner_text() and "第0轮" in steps.nth(1).inner_text()
    back = page.locator("#history-more").get_by_role("link", name="只看最近 20 条")
    assert back.is_visible()
    screenshot(page, "task_history_all", full_page=False)
    back.click()
    page.wait_for_url(re.compile(rf"/tasks/{submits[-1]}#hist-h$"))
    assert page.locator(".staff-timeline > li").count() == 20
