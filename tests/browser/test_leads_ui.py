"""意向客户 in Chromium: 销售部 sees the leads an event handed over, sets one 跟进中 and then
已转化 with notes, filters by status; the manager opens the event and finds each update with
the event's results in its timeline. Saves tests/screenshots/leads.png and
lead-on-event.png."""

from __future__ import annotations

import re

from tests.reports import api_for, event_with_leads


def test_sales_follow_up_a_lead(page, live_server, screenshot) -> None:
    url = live_server.url
    api = api_for(live_server.ctx)
    iid = event_with_leads(api, live_server.ctx)

    live_server.login(page, "sales1")
    page.get_by_role("link", name="意向客户").click()
    page.wait_for_url(f"{url}/leads")
    assert page.locator("h1").inner_text() == "意向客户跟进"
    rows = page.locator("#lead-results tbody tr")
    assert rows.count() == 2
    star = page.locator("tr", has_text="星辰科技")
    assert "待跟进" in star.inner_text() and "尚未跟进" in star.inner_text()
    star.get_by_label("星辰科技 的跟进备注").fill("已电话联系，约下周演示")
    star.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/leads"))
    assert "已更新「星辰科技」：跟进中" in page.locator(".flash").inner_text()
    star = page.locator("tr", has_text="星辰科技")
    star.get_by_label("星辰科技 的新状态").select_option("converted")
    star.get_by_label("星辰科技 的跟进备注").fill("签约 200 台")
    star.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/leads"))
    assert "已转化" in page.locator("tr", has_text="星辰科技").inner_text()
    screenshot(page, "leads")
    page.locator(".rp-count", has_text="已转化").click()
    page.wait_for_url(re.compile(r"status=converted"))
    assert page.locator("#lead-results tbody tr").count() == 1

    page.get_by_role("button", name="退出登录").click()
    live_server.login(page, "mgr")
    page.goto(f"{url}/leads")
    page.get_by_role("link", name="2026 新品发布会").first.click()
    page.wait_for_url(f"{url}/instances/{iid}")
    timeline = page.locator("body").inner_text()
    assert "意向客户「星辰科技」：跟进中 → 已转化（签约 200 台）" in timeline
    assert "已转化 1，待跟进 1（转化率 50%）" in timeline
    screenshot(page, "lead-on-event")
