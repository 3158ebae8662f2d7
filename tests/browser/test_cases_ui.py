"""案例库 in Chromium: a staff member finds a case by words and outcome, opens it (results,
the 《项目复盘报告》, the project's requirement under its form labels) and starts a new project
from it — the start form comes prefilled, only the name and the A角/B角 are new. Saves
tests/screenshots/cases.png, case-detail.png and case-start.png."""

from __future__ import annotations

import re

from tests.browser.staff_forms import fill, form_ready, label, pick
from tests.reports import api_for, finish_project, project_to_execution, this_cycle


def test_find_open_and_reuse_a_case(page, live_server, screenshot) -> None:
    url = live_server.url
    api = api_for(live_server.ctx)
    first = project_to_execution(api, charter=this_cycle(live_server.ctx))
    finish_project(api, first)
    second = project_to_execution(
        api, {"project_name": "城市快闪", "requesting_department": "市场部"},
        charter=this_cycle(live_server.ctx),
    )
    finish_project(api, second, title="城市快闪活动复盘", category="event", metrics=[
        {"name": "到场人数", "target": 1000, "actual": 600, "unit": "人"},
    ])

    live_server.login(page, "tec")  # 技术部: took no part in either project
    page.get_by_role("link", name="案例库").click()
    page.wait_for_url(f"{url}/cases")
    assert page.locator("h1").inner_text() == "案例库"
    cards = page.locator(".rp-case")
    assert cards.count() == 2
    assert "未达成 · 60.0%" in cards.nth(0).inner_text()
    assert "达成目标 · 100.0%" in cards.nth(1).inner_text()
    screenshot(page, "cases")

    page.get_by_label("关键词").fill("快闪")
    page.get_by_role("button", name="检索").click()
    page.wait_for_url(re.compile(r"/cases\?q="))
    assert page.locator(".rp-case h2").all_inner_texts() == ["城市快闪活动复盘"]
    page.get_by_role("link", name="清除条件").click()
    page.get_by_label("目标达成").select_option("met")
    page.get_by_role("button", name="检索").click()
    page.wait_for_url(re.compile(r"outcome=met"))
    assert page.locator(".rp-case h2").all_inner_texts() == ["旺季预售策略模板"]

    page.get_by_role("link", name="旺季预售策略模板").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert page.locator(".staff-head h1").inner_text() == "旺季预售策略模板"
    overview = page.locator("#h-overview").locator("..")
    assert "业务部门需求" in overview.inner_text() and "需求来源" in overview.inner_text()
    assert page.locator(".staff-doc h1").inner_text().startswith("《项目复盘报告》")
    assert page.get_by_role("link", name="查看原项目").count() == 0  # not bob's to see
    screenshot(page, "case-detail")

    page.get_by_role("link", name="以此案例为模板发起新项目").click()
    page.wait_for_url(re.compile(r"/cases/\d+/start$"))
    form_ready(page)
    assert "已按案例《旺季预售策略模板》预填" in page.locator("#case-prefilled").inner_text()
    assert page.get_by_label(label("需求部门")).input_value() == "销售部"
    assert page.get_by_label(label("项目名称")).input_value() == ""
    fill(page, "项目名称", "Q4 旺季促销（沿用案例）")
    pick(page, "A角（项目负责人）", "sup", "Sup · 策划主管（sup）")
    pick(page, "B角（备份负责人）", "mgr", "Mgr · 策划部经理（mgr）")
    screenshot(page, "case-start")
    with page.expect_navigation(url=re.compile(r"/(tasks|instances)")):
        page.get_by_role("button", name="提交").click()
    started = api.get("mgr", "/process-instances", query_string={"per_page": 5}).get_json()
    newest = started["items"][0]
    assert newest["title"] == "Q4 旺季促销（沿用案例）"
    data = api.instance("mgr", newest["id"])["data"]
    assert data["requirement_description"].startswith("销售部提出旺季促销需求")
