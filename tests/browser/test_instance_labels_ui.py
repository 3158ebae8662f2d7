"""The instance page speaks the department's language (issue 14), in real Chromium: 流程数据
lists variables under their form labels with people by name and lists of rows as tables, the
timeline names steps, people and events — no raw keys (a_owner, generate_document,
raise_risk, system), no JSON. Only the folded 其他内部数据 keeps technical keys."""

from __future__ import annotations

import re

from tests.browser.task_steps import plan_in_review

RAW = re.compile(r"\b(a_owner|b_owner|project_name|division_of_labour|generate_document|"
                 r"raise_risk|system|planning_manager|task_created)\b")


def test_instance_page_shows_labels_names_and_tables(page, live_server, screenshot) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = plan_in_review(ctx)

    live_server.login(page, "mgr")
    page.goto(f"{url}/instances/{iid}")
    data = page.locator("#instance-data")
    text = data.inner_text()
    assert "项目名称" in text and "A角（项目负责人）" in text
    assert "李主管" in text  # A角 by name
    assert not RAW.search(text), RAW.search(text)
    # 分工表 is a table with its columns' labels, not JSON
    labour = data.locator("tr[data-key=division_of_labour]")
    assert labour.locator("th").first.inner_text() == "分工表"
    assert labour.locator("table").count() == 1 and labour.locator("tbody tr").count() >= 1
    assert "{" not in labour.inner_text() and "[" not in labour.inner_text()

    timeline = page.locator(".pf-timeline").inner_text()
    assert "生成待办" in timeline and "方案设计" in timeline
    assert not RAW.search(timeline), RAW.search(timeline)
    assert "系统" in timeline
    screenshot(page, "instance_labels")
