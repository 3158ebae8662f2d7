"""运行检查 in Chromium: an administrator sees a lost inbox row, in Chinese, unclipped."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow
from engine.usecases import instances

pytestmark = pytest.mark.browser


def test_health_page_lists_a_lost_task_row(page, live_server, screenshot) -> None:
    ctx = live_server.ctx
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, actor_for(s, "alice"), "approval_demo", {"title": "新品推广", "amount": 5000}
        ).id
    with transaction(ctx.sessions) as s:
        s.execute(delete(HumanTaskRow).where(HumanTaskRow.instance_id == iid))
    live_server.login(page, "root")
    page.click("nav summary >> text=管理")  # the system pages' menu (web/pages/nav.py)
    page.click("nav >> text=运行检查")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "运行检查"
    row = page.locator("tr.finding-task_row_missing")
    assert row.count() == 1
    assert "待办缺失" in row.inner_text() and f"#{iid}" in row.inner_text()
    box = page.locator("table").bounding_box()
    assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"] + 1
    screenshot(page, "admin_health")
