"""The staff pages in real Chromium: start a process, work the inbox, complete a task, approve
as the manager; server-side validation errors shown at the field; phone width.

The `page` fixture fails a test on any console error, page error, HTTP error response or
request to another host.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord
from tests.browser.staff_forms import fill, form_ready, label, submit_and_wait

TITLE = "华东区经销商大会"


def log_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/login"))


def open_task_ids(ctx, title: str) -> list[tuple[str, str]]:
    with transaction(ctx.sessions) as s:
        rows = s.execute(
            select(HumanTaskRow.id, HumanTaskRow.name)
            .join(InstanceRecord, InstanceRecord.id == HumanTaskRow.instance_id)
            .where(InstanceRecord.title == title, HumanTaskRow.status == "open")
        ).all()
        return [(r[0], r[1]) for r in rows]


def test_start_work_and_approve(page, live_server, screenshot) -> None:
    url = live_server.url
    live_server.login(page, "alice")

    # 发起流程: the catalogue, then the start form of 测试审批
    page.goto(f"{url}/start")
    page.get_by_role("link", name="发起：测试审批").click()
    form_ready(page)
    assert page.locator("#staff-form .fjs-powered-by").is_visible()  # licence watermark
    fill(page, "标题", TITLE)
    fill(page, "金额", "5000")
    screenshot(page, "start")
    page.get_by_role("button", name="提交并发起").click()
    page.wait_for_url(re.compile(r"/(tasks|instances/\d+)$"))

    # 待办: the new group task, claimable, due in 2 days
    page.goto(f"{url}/tasks")
    row = page.locator("tr.staff-task", has_text=TITLE)
    row.wait_for()
    assert "提交说明" in row.inner_text() and "待认领" in row.inner_text()
    assert page.locator(".mainnav .badge").inner_text() == "1"
    screenshot(page, "inbox")

    # the task page: claim, then fill in and submit
    row.get_by_role("link", name=re.compile("^办理")).click()
    form_ready(page)
    page.get_by_role("button", name="认领").click()
    page.wait_for_load_state()
    assert "已认领「提交说明」" in page.locator(".flash").inner_text()
    form_ready(page)
    assert page.get_by_role("button", name="取消认领").is_visible()
    assert TITLE in page.locator(".staff-subtitle").inner_text()
    fill(page, "说明", "请审批华东区经销商大会预算。\n第二行说明")
    screenshot(page, "task")
    submit_and_wait(page, "提交", r"/tasks$")
    assert "已提交「提交说明」" in page.locator(".flash").inner_text()
    assert page.locator("tr.staff-task", has_text=TITLE).count() == 0
    page.goto(f"{url}/tasks/done")
    assert page.locator("tr.staff-task", has_text=TITLE).count() == 1
    # the lists' shared table (staff_macros.list_table): named headers, no raw keys
    headers = page.locator("table.staff-table thead th").all_inner_texts()
    assert len(headers) >= 5 and all(h.strip() for h in headers[:5]), headers
    assert "staff.col" not in page.content()
    screenshot(page, "done")
    page.goto(f"{url}/instances/mine")
    assert page.locator("tr.staff-instance", has_text=TITLE).count() == 1
    assert "staff.col" not in page.content()
    screenshot(page, "started")

    # the manager approves
    log_out(page)
    live_server.login(page, "mgr")
    page.goto(f"{url}/tasks")
    row = page.locator("tr.staff-task", has_text=TITLE)
    assert "经理审批" in row.inner_text()
    row.get_by_role("link", name=re.compile("^办理")).click()
    form_ready(page)
    history = page.locator(".staff-timeline").inner_text()
    assert "提交说明" in history and "请审批华东区经销商大会预算" in history
    page.get_by_label("同意").check()
    fill(page, "审批意见", "同意，注意控制成本")
    submit_and_wait(page, "提交", r"/tasks$")
    assert "已提交「经理审批」" in page.locator(".flash").inner_text()
    assert page.locator("tr.staff-task", has_text=TITLE).count() == 0
    assert open_task_ids(live_server.ctx, TITLE) == []
    with transaction(live_server.ctx.sessions) as s:
        record = s.scalar(select(InstanceRecord).where(InstanceRecord.title == TITLE))
        assert record.data["decision"] == "approve" and record.status in ("waiting", "completed")


def test_client_side_errors_are_chinese(page, live_server) -> None:
    live_server.login(page, "alice")
    page.goto(f"{live_server.url}/start/approval_demo")
    form_ready(page)
    page.get_by_role("button", name="提交并发起").click()
    error = page.locator("#staff-form .fjs-form-field-error").first
    error.wait_for()
    assert "此项为必填项" in error.inner_text()
    assert page.locator("#staff-form-status").is_visible()


def test_server_side_validation_error_is_shown_at_the_field(
    page, page_problems, live_server, screenshot
) -> None:
    """The browser's own checks are switched off (the page's form schema loses its `validate`
    rules on the way in), so only the server can refuse the value: its error must appear at
    the field, with the typed text kept."""
    page_problems.allow(r"422")  # the refused submission itself
    url = live_server.url
    live_server.login(page, "alice")
    page.goto(f"{url}/start/approval_demo")
    form_ready(page)
    fill(page, "标题", "服务端校验")
    fill(page, "金额", "5000")
    page.get_by_role("button", name="提交并发起").click()
    page.wait_for_url(re.compile(r"/(tasks|instances/\d+)$"))
    ((task_id, _),) = open_task_ids(live_server.ctx, "服务端校验")

    def without_browser_validation(route) -> None:
        response = route.fetch()
        body = response.text()
        pattern = re.compile(r'(<script type="application/json" id="staff-form-config">)(.*?)(<)')
        match = pattern.search(body)
        config = json.loads(match.group(2))
        for component in config["schema"]["components"]:
            component.pop("validate", None)
        text = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
        route.fulfill(response=response, body=body[: match.start(2)] + text + body[match.end(2) :])

    page.route(f"{url}/tasks/{task_id}", without_browser_validation)
    page.goto(f"{url}/tasks/{task_id}")
    form_ready(page)
    typed = "超长说明" * 130  # 520 characters; the form allows 500
    fill(page, "说明", typed)
    page.get_by_role("button", name="提交").click()
    field = page.locator("#staff-form .fjs-form-field", has=page.get_by_label(label("说明")))
    error = field.locator(".fjs-form-field-error")
    error.wait_for()
    assert "500" in error.inner_text()
    assert page.get_by_label(label("说明")).input_value() == typed  # the typed data is kept
    status = page.locator("#staff-form-status")
    assert status.is_visible() and "说明" in status.inner_text()
    screenshot(page, "task-server-validation")
    assert open_task_ids(live_server.ctx, "服务端校验") == [(task_id, "提交说明")]


def test_inbox_filters_and_phone_width(page, live_server, screenshot) -> None:
    url = live_server.url
    live_server.login(page, "alice")
    for title in ("春季新品发布会", "品牌周年庆"):
        page.goto(f"{url}/start/approval_demo")
        form_ready(page)
        fill(page, "标题", title)
        fill(page, "金额", "2000")
        page.get_by_role("button", name="提交并发起").click()
        page.wait_for_url(re.compile(r"/(tasks|instances/\d+)$"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/tasks")
    assert page.locator("tr.staff-task").count() == 2
    # live search (htmx) narrows the list without a page load
    page.get_by_label("搜索").fill("周年")
    page.wait_for_function("document.querySelectorAll('tr.staff-task').length === 1")
    assert "品牌周年庆" in page.locator("tr.staff-task").inner_text()
    assert "q=" in page.url
    # nothing is wider than the phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    # the main navigation has a row of its own under the user's links, its first entries in
    # sight (it scrolls sideways for the rest)
    nav = page.locator(".mainnav").bounding_box()
    user = page.locator(".userbox").bounding_box()
    assert nav["y"] >= user["y"] + user["height"] - 1 and nav["width"] >= 390 - 40, (nav, user)
    for entry in ("我的待办", "已办"):
        box = page.locator(".mainnav a", has_text=entry).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (entry, box)
    screenshot(page, "inbox-phone")
    page.locator("tr.staff-task").get_by_role("link", name=re.compile("^办理")).click()
    form_ready(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "task-phone")


def test_project_initiation_start(page, live_server, screenshot) -> None:
    """The department's real model (bpmn/project_initiation.bpmn): start it from its form."""
    url = live_server.url
    live_server.login(page, "alice")
    page.goto(f"{url}/start")
    page.get_by_role("link", name=re.compile("^发起：项目策划")).click()
    form_ready(page)
    assert "需求来源" in page.locator(".staff-instructions").inner_text()
    fill(page, "项目名称", "Q3 旺季促销")
    select = page.locator(".fjs-form-field", has=page.get_by_label(label("需求来源")))
    select.locator(".fjs-input-group").click()
    page.locator(".fjs-dropdownlist-item", has_text="业务部门需求").click()
    fill(page, "需求部门", "销售部")
    fill(page, "需求描述", "销售部提出旺季促销需求，目标提升 Q3 销售额 20%。")
    for role, query in (("A角（项目负责人）", "alice"), ("B角（备份负责人）", "bob")):
        picker = page.get_by_label(label(role))  # a searchable person picker
        picker.fill(query)
        page.locator(".fjs-dropdownlist-item", has_text=f"（{query}）").click()
    screenshot(page, "start-project-initiation")
    page.get_by_role("button", name="提交并发起").click()
    page.wait_for_url(re.compile(r"/(tasks|instances/\d+)$"))
    names = {name for _, name in open_task_ids(live_server.ctx, "Q3 旺季促销")}
    assert names == {"内部调研", "外部调研"}, names  # the parallel research steps
    page.goto(f"{url}/instances/mine")
    assert "Q3 旺季促销" in page.locator("#staff-results").inner_text()

    # both research steps reach the specialists' inbox; do the internal one
    page.goto(f"{url}/tasks")
    rows = page.locator("tr.staff-task", has_text="Q3 旺季促销")
    assert rows.count() == 2
    rows.filter(has_text="内部调研").get_by_role("link", name=re.compile("^办理")).click()
    form_ready(page)
    assert "访谈需求部门" in page.locator(".staff-instructions").inner_text()
    assert "Q3 旺季促销" in page.locator(".staff-keydata").inner_text()
    fill(page, "需求部门访谈纪要", "与销售部访谈：旺季促销以线下门店为主，需要线上引流配合。")
    fill(page, "可量化目标", "Q3 销售额提升 20%")
    fill(page, "预算初估（元）", "300000")
    screenshot(page, "task-project-initiation")
    submit_and_wait(page, "提交", r"/tasks$")
    rows = page.locator("tr.staff-task", has_text="Q3 旺季促销")
    assert rows.count() == 1 and "外部调研" in rows.inner_text()
