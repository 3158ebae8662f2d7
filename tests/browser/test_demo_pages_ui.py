"""The demo's pages as the README shows them, in Chromium: 张专员's inbox and a launch step with
its key data and task operations, 陈专员's 抄送我的, the product launch's instance page, the
project's amounts, 王经理's dashboard and the administrators' 运行检查 — on exactly what
`planflow demo` loads. Each page is in Chinese with no translation key left raw and nothing
wider than the window; with
``PLANFLOW_README_SCREENSHOTS=1`` the run refreshes the README's images, so they show today's
pages rather than the pages of the day they were taken.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from engine.operations import cc
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord
from tests.browser.conftest import take_readme_screenshot, take_screenshot
from tests.browser.staff_forms import form_ready, label
from web.demo_scenarios import BRAND_TITLE, LAUNCH_TITLE, PROJECT_TITLE
from web.i18n import catalog

pytestmark = pytest.mark.browser


def _looks_right(page) -> str:
    """The page's visible text, after checking that no translation key shows raw, no time as
    ISO text (``2027-01-01T14:00``: a form's date-and-time field used to) and that nothing is
    wider than the window (a clipped column would be)."""
    text = page.locator("body").inner_text()
    raw = sorted(key for key in catalog() if key in text)
    assert not raw, raw
    iso = re.findall(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}\S*", text)
    assert not iso, iso
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the window"
    return text


def _instance_id(server, title: str) -> int:
    with transaction(server.ctx.sessions) as s:
        return s.scalar(select(InstanceRecord.id).where(InstanceRecord.title == title))


def test_the_specialists_inbox(page, demo_server) -> None:
    demo_server.login(page, "zhang", then="/tasks")
    text = _looks_right(page)
    assert page.locator("h1").inner_text() == "我的待办"
    rows = page.locator("tr.staff-task")
    # the launch's guests and venue, the brand's monthly report: offered to 策划专员
    assert rows.count() >= 3
    assert rows.filter(has_text=LAUNCH_TITLE).count() >= 2
    assert rows.filter(has_text=BRAND_TITLE).count() == 1
    headers = page.locator("table.staff-table thead th").all_inner_texts()
    assert [h for h in headers[:4] if h.strip()] == ["标题", "当前步骤", "流程", "截止时间"]
    assert "张专员" in text and "待认领" in text
    take_readme_screenshot(page, "inbox")


def test_a_launch_task_with_its_key_data(page, demo_server) -> None:
    demo_server.login(page, "zhang", then="/tasks")
    page.locator("tr.staff-task", has_text="场地洽谈").get_by_role(
        "link", name=re.compile("^办理")).click()
    form_ready(page)
    text = _looks_right(page)
    assert LAUNCH_TITLE in page.locator(".staff-subtitle").inner_text()
    # the start form's values as the starter entered them, the date and time as a time
    assert re.search(r"活动日期\s+\d{4}-\d{2}-\d{2} 14:00", text), text[:1500]
    assert "上海国际会议中心" in text
    take_screenshot(page, "demo_launch_task")

    # A number field's up/down arrows (form-js): both inside their box and both working. The
    # page's own button padding used to push 减少 out of sight, where no click reached it.
    cost = page.get_by_label(label("场地及搭建费用（元）"))
    group = page.locator(".fjs-input-group", has=cost)
    box = group.locator(".fjs-number-arrow-container").bounding_box()
    for name in ("增加", "减少"):
        arrow = group.get_by_role("button", name=name).bounding_box()
        assert box["y"] - 0.5 <= arrow["y"] and arrow["y"] + arrow["height"] <= (
            box["y"] + box["height"] + 0.5), (name, arrow, box)
        assert arrow["x"] + arrow["width"] <= box["x"] + box["width"] + 0.5, (name, arrow, box)
    cost.fill("1000")
    group.get_by_role("button", name="减少").click()
    group.get_by_role("button", name="减少").click()
    group.get_by_role("button", name="增加").click()
    assert cost.input_value() == "999.99"  # the field counts in fen (two decimals)


def test_the_task_operations_on_a_launch_step(page, demo_server) -> None:
    """张专员 has claimed a guest's confirmation and opens 加签 and 退回 (the README's 办理操作):
    退回 offers the step before, the guest list 张专员 drew up."""
    demo_server.login(page, "zhang", then="/tasks")
    page.locator("tr.staff-task", has_text="嘉宾确认：李记者").get_by_role(
        "link", name=re.compile("^办理")).click()
    form_ready(page)
    page.get_by_role("button", name="认领").click()
    page.wait_for_load_state()
    form_ready(page)
    page.locator("#ops-add-signer > summary").click()
    page.locator("#ops-return > summary").click()
    back = page.locator("#ops-return").get_by_role("radio", name=re.compile("拟定嘉宾名单并邀请"))
    panel = page.locator("#ops-return").inner_text()
    assert back.is_checked() and "张专员" in panel
    # it warns of the other guests' confirmations, each by its own title
    assert "嘉宾确认：王总（星辰科技）" in panel and "嘉宾确认：科技博主小周" in panel, panel
    text = _looks_right(page)
    assert "前加签" in text and "会签加签" in text and "后加签" in text
    take_readme_screenshot(page, "task-operations")


def test_a_copy_in_the_cc_list(page, demo_server) -> None:
    """李主管 copies 陈专员 on the launch; 陈专员's 抄送我的 (the README's image)."""
    ctx = demo_server.ctx
    iid = _instance_id(demo_server, LAUNCH_TITLE)
    with transaction(ctx.sessions) as s:
        cc.cc(ctx, s, actor_for(s, "li"), iid, ["chen"], note="请关注嘉宾确认进度")
    demo_server.login(page, "chen", then="/cc")
    text = _looks_right(page)
    row = page.locator("tr.me-cc", has_text=LAUNCH_TITLE)
    assert "me-unread" in (row.get_attribute("class") or "")
    assert "李主管" in row.inner_text() and "请关注嘉宾确认进度" in row.inner_text()
    assert "陈专员" in text
    take_readme_screenshot(page, "cc")


def test_the_launch_on_its_instance_page(page, demo_server) -> None:
    iid = _instance_id(demo_server, LAUNCH_TITLE)
    demo_server.login(page, "wang", then=f"/instances/{iid}")
    page.wait_for_function("window.__diagramReady === true")
    text = _looks_right(page)
    assert LAUNCH_TITLE in page.locator("h1").inner_text()
    assert "运行中" in text and "活动执行流程" in text
    # the event's date and time, as the launch's start form took it
    data = page.locator("table", has_text="活动日期").first.inner_text()
    assert re.search(r"活动日期\s+\d{4}-\d{2}-\d{2} 14:00", data), data
    svg = page.locator("#pf-diagram svg")
    assert svg.locator(".djs-element.pf-active").count() >= 1  # where it stands, highlighted
    assert svg.locator(".djs-element.pf-done").count() >= 1
    # the countdown's timers are marked with their due dates
    assert page.locator("#pf-diagram .pf-overlay").first.is_visible()
    assert page.locator("#pf-diagram .bjs-powered-by").is_visible()  # bpmn.io watermark
    take_readme_screenshot(page, "instance_detail", full_page=False)  # the README's first screen


def test_the_projects_amounts_grouped_by_thousands(page, demo_server) -> None:
    iid = _instance_id(demo_server, PROJECT_TITLE)
    demo_server.login(page, "wang", then=f"/instances/{iid}")
    text = _looks_right(page)
    # 项目预算 as the charter typed it (120000), read as the documents write it
    assert "120,000" in text and "120000" not in text


def test_the_managers_dashboard(page, demo_server) -> None:
    demo_server.login(page, "wang", then="/dashboard")
    page.wait_for_function("window.__dashboardReady === true")
    text = _looks_right(page)
    assert page.locator("h1").inner_text().startswith("数据看板")
    for chart in ("chart-process", "chart-stage", "chart-throughput"):
        assert page.evaluate(f"!!window.pfCharts['{chart}']"), chart
    # the demo's processes are counted, by their Chinese names
    assert "活动执行流程" in page.locator("#h-process + .pf-chart-row table").inner_text()
    assert "王经理" in text
    take_readme_screenshot(page, "dashboard", full_page=False)


def test_the_administrators_health_check(page, demo_server) -> None:
    iid = _instance_id(demo_server, BRAND_TITLE)
    with transaction(demo_server.ctx.sessions) as s:  # a ready task loses its inbox row
        s.execute(delete(HumanTaskRow).where(HumanTaskRow.instance_id == iid,
                                             HumanTaskRow.status == "open"))
    demo_server.login(page, "admin", then="/admin/health")
    _looks_right(page)
    assert page.locator("h1").inner_text() == "运行检查"
    row = page.locator("tr.finding-task_row_missing")
    assert row.count() == 1
    assert "待办缺失" in row.inner_text() and f"#{iid}" in row.inner_text()
    assert "填写月度效果数据" in row.inner_text()  # the step by its name, not its element id
    take_readme_screenshot(page, "health")


def test_the_administrators_bar_keeps_to_one_line(page, demo_server) -> None:
    """Fourteen entries wrapped onto a second row at 1280px: the four system pages fold into
    管理, which opens below its entry, goes where it says, and closes again."""
    demo_server.login(page, "admin", then="/tasks")
    _looks_right(page)
    tops = page.evaluate(
        "() => [...document.querySelectorAll('.mainnav > a, .mainnav > details')]"
        ".map(e => Math.round(e.getBoundingClientRect().top))")
    assert len(tops) == 11 and max(tops) - min(tops) <= 12, tops
    menu = page.locator("details.navmenu")
    assert menu.locator("summary").inner_text().strip() == "管理"
    entries = menu.locator(".navmenu-list a")
    assert not entries.first.is_visible()
    menu.locator("summary").click()
    assert entries.all_inner_texts() == ["流程模型", "用户与角色", "工作日历", "运行检查"]
    assert all(entries.nth(i).is_visible() for i in range(4))
    page.locator("h1").click()  # a click elsewhere closes it
    assert not entries.first.is_visible()
    menu.locator("summary").click()
    page.keyboard.press("Escape")
    assert not entries.first.is_visible()
    menu.locator("summary").click()
    entries.filter(has_text="工作日历").click()
    page.wait_for_url("**/admin/calendar")
    _looks_right(page)
    assert "current" in (page.locator("details.navmenu").get_attribute("class") or "")
    # the same bar in English (labels about a third wider)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    tops = page.evaluate(
        "() => [...document.querySelectorAll('.mainnav > a, .mainnav > details')]"
        ".map(e => Math.round(e.getBoundingClientRect().top))")
    assert len(tops) == 11 and max(tops) - min(tops) <= 12, tops
    assert page.locator("details.navmenu summary").inner_text().strip() == "Admin"
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # at phone width the bar scrolls sideways: the menu opens within it, not clipped below
    page.set_viewport_size({"width": 390, "height": 800})
    page.locator("details.navmenu summary").click()
    links = page.locator("details.navmenu .navmenu-list a")
    expect(links.last).to_be_in_viewport()  # the bar scrolled to show them
    box, bar = links.first.bounding_box(), page.locator(".mainnav").bounding_box()
    assert box and bar and bar["y"] <= box["y"] <= bar["y"] + bar["height"], (box, bar)
    take_screenshot(page, "admin_bar_phone", full_page=False)



def test_a_done_step_with_a_table_offers_no_row_buttons(page, demo_server) -> None:
    """李主管's done 方案设计 (a read-only form): its 分工表 and 时间节点表 show their rows, but
    no × per row and no 添加一行 (form-js drew both; neither did anything)."""
    demo_server.login(page, "li", then="/tasks/done")
    page.locator("tr", has_text="方案设计").get_by_role("link").first.click()
    form_ready(page)
    _looks_right(page)
    lists = page.locator(".fjs-form-field-dynamiclist")
    assert lists.count() >= 2
    for i in range(lists.count()):
        table = lists.nth(i)
        assert "fjs-readonly" in (table.get_attribute("class") or "")
        assert table.locator(".fjs-repeat-row-container").count() >= 1
        expect(table.locator(".fjs-repeat-row-remove").first).to_be_hidden()
        expect(table.locator(".fjs-repeat-render-add")).to_be_hidden()
    take_screenshot(page, "done_step_table")


@pytest.mark.parametrize("which", ["case", "project", "launch"])
def test_detail_pages_fit_a_phone(page, demo_server, which) -> None:
    """At 390px the case page scrolled sideways by 79px (its results table set the column's
    width) and the instance page by 48px (a long timeline entry did): a grid track as wide as its
    widest unbreakable line. Tables scroll inside their card now; figures stay whole."""
    from engine.store.records_business import CaseLibraryRecord

    page.set_viewport_size({"width": 390, "height": 844})
    if which == "case":
        with transaction(demo_server.ctx.sessions) as s:
            path = f"/cases/{s.scalar(select(CaseLibraryRecord.id).limit(1))}"
    else:
        title = PROJECT_TITLE if which == "project" else LAUNCH_TITLE
        path = f"/instances/{_instance_id(demo_server, title)}"
    demo_server.login(page, "li", then=path)
    _looks_right(page)
    cells = page.locator(".rp-subtable td, .staff-doc td")
    for i in range(min(cells.count(), 40)):
        text = cells.nth(i).inner_text()
        if re.fullmatch(r"[\d,.%]+", text.strip()):
            lines = cells.nth(i).evaluate(  # the lines the figure's text is laid out on
                "e => { const r = document.createRange(); r.selectNodeContents(e);"
                " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }")
            assert lines == 1, (text, lines)
    take_screenshot(page, f"phone_{which}_detail")


def test_the_models_list_reads_by_name(page, demo_server) -> None:
    """流程模型: 35 file chips squeezed the names to two characters a line (品牌推/广流程); the
    files fold under their counts now and open on a click."""
    demo_server.login(page, "owner", then="/models")
    _looks_right(page)
    names = page.locator("td.pf-model-name a")
    assert names.count() == 3
    for i in range(names.count()):
        height, line = names.nth(i).evaluate(
            "e => [e.getBoundingClientRect().height,"
            " parseFloat(getComputedStyle(e).lineHeight) || 24]")
        assert height <= 2 * line + 2, (names.nth(i).inner_text(), height)
    summary = page.locator("tr", has_text="活动执行流程").locator("details.pf-files summary")
    assert summary.inner_text() == "流程图 1 · 决策表 1 · 表单 20"
    chip = page.locator("tr", has_text="活动执行流程").locator(".pf-tag", has_text="checkin.form")
    expect(chip).to_be_hidden()
    summary.click()
    expect(chip).to_be_visible()


def test_a_due_tag_keeps_off_the_timers_label(page, demo_server) -> None:
    """The project's weekly timer sits on 执行监控's edge; its due tag covered the timer's own
    label (每周（自执行开始日起）) and read "12/13 00:00", an American order."""
    iid = _instance_id(demo_server, PROJECT_TITLE)
    demo_server.login(page, "li", then=f"/instances/{iid}")
    page.wait_for_function("window.__diagramReady === true")
    tag = page.locator("#pf-diagram .pf-overlay").first
    assert re.fullmatch(r"到期 \d{1,2}月\d{1,2}日 \d{2}:\d{2}", tag.inner_text()), tag.inner_text()
    box = tag.bounding_box()
    labels = [b for b in (label.bounding_box() for label in
                          page.locator("#pf-diagram .djs-element.djs-shape text").all()) if b]
    overlaps = [b for b in labels if box["x"] < b["x"] + b["width"] and b["x"] < box["x"] + box[
        "width"] and box["y"] < b["y"] + b["height"] and b["y"] < box["y"] + box["height"]]
    assert not overlaps, (box, overlaps)
