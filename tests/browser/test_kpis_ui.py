"""考核数据 in Chromium: the manager sees this month's numbers per person and per project with
the chart, nominates a specialist for 月度创意之星 from them and exports the workbook; staff
do not get the page. Saves tests/screenshots/kpis.png."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.reports import (
    api_for,
    finish_project,
    project_to_execution,
    this_cycle,
)

IDEAS = [{"idea": "直播+门店联动", "proposer": "alice"}, {"idea": "限量赠品", "proposer": "alice"},
         {"idea": "会员积分翻倍", "proposer": "bob"}]
RATINGS = [{"department": "design", "rating": 4}, {"department": "finance", "rating": 5}]


def test_manager_reads_the_numbers_and_nominates(
    page, page_problems, live_server, screenshot, tmp_path
) -> None:
    url = live_server.url
    page_problems.allow(r"403 .*/kpis")  # alice's refused visit
    api = api_for(live_server.ctx)
    iid = project_to_execution(api, review={"adopted_ideas": IDEAS},
                               charter=this_cycle(live_server.ctx))
    finish_project(api, iid, retro={"collaboration_ratings": RATINGS})

    live_server.login(page, "alice")
    assert page.get_by_role("link", name="考核数据").count() == 0
    assert page.goto(f"{url}/kpis").status == 403
    page.get_by_role("button", name="退出登录").click()

    live_server.login(page, "mgr")
    page.get_by_role("link", name="考核数据").click()
    page.wait_for_url(f"{url}/kpis")
    page.wait_for_function("window.__kpiChartReady === true")
    people = page.locator("#kpi-people")
    assert "100.0%" in people.locator("tr[data-user=sup]").inner_text()
    assert people.locator("tr[data-user=alice] td").nth(4).inner_text() == "2"
    assert "5.00" in people.locator("tr[data-user=fin]").inner_text()
    project = page.locator(f"#kpi-projects tr[data-instance='{iid}']").inner_text()
    assert "设计部 4" in project and "财务部 5" in project and "4.50" in project
    assert page.locator("#kpi-missing").count() == 0

    page.get_by_label("提名对象").select_option("alice")
    page.get_by_label("提名理由").fill("两条创意被采纳，直播+门店联动效果突出")
    page.get_by_role("button", name="提名", exact=True).click()
    page.wait_for_url(f"{url}/kpis?period=*")
    assert "已提名Alice为月度创意之星" in page.locator(".flash").inner_text()
    assert "两条创意被采纳" in page.locator("#kpi-nominations").inner_text()
    page.wait_for_function("window.__kpiChartReady === true")
    screenshot(page, "kpis")

    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert book.sheetnames == ["个人考核", "项目考核", "奖项提名"]
    assert download.value.suggested_filename.startswith("考核数据-")


def test_the_numbers_in_english_say_what_they_count(page, live_server, screenshot) -> None:
    """In English the departments, their separators and the nominee options are English (they
    were 策划专员, 财务部, "Design 4、Finance 5" and "Alice（2 idea(s) adopted）"); the count of
    projects says it counts those finished as A role (the table of projects lists running ones
    too, and its 负责项目 0 beside a manager leading two read as a contradiction)."""
    api = api_for(live_server.ctx)
    iid = project_to_execution(api, review={"adopted_ideas": IDEAS},
                               charter=this_cycle(live_server.ctx))
    finish_project(api, iid, retro={"collaboration_ratings": RATINGS})
    live_server.login(page, "mgr", then="/kpis")
    header = page.locator("#kpi-people thead").inner_text()
    assert "结项项目（A角）" in header and "负责项目" not in header
    page.get_by_role("link", name="English").click()
    page.wait_for_function("window.__kpiChartReady === true")
    people = page.locator("#kpi-people")
    assert "Finished as A role" in people.locator("thead").inner_text()
    row = people.locator("tr[data-user=alice]").inner_text()
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in row.replace("Alice", "")), row
    project = page.locator(f"#kpi-projects tr[data-instance='{iid}']").inner_text()
    assert "、" not in project and ", " in project, project
    option = page.locator("#n-subject option[value=alice]").inner_text()
    assert option == "Alice (2 idea(s) adopted)", option
    screenshot(page, "kpis_en")
