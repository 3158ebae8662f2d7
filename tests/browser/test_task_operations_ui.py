"""The task page's operations panel in real Chromium: 转办 to a colleague who then finds the task
in 待办; the manager's 退回 with a reason to the specialist's step; a parallel 加签 whose signer
approves; a delegate who hands the form back with their data. The `page` fixture fails a test
on any console error, page error, HTTP error response or request to another host. Saves
tests/screenshots/task-operations.png (the README's copy with PLANFLOW_README_SCREENSHOTS=1)."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine import operations
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.records_ops import TaskSignerRecord
from engine.usecases import instances
from tests.browser.conftest import take_screenshot
from tests.browser.staff_forms import fill, form_ready, label
from tests.browser.task_steps import claim, open_row, start


def log_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/login"))


def complete(ctx, username: str, task_id: str, data: dict) -> None:
    with transaction(ctx.sessions) as s:
        instances.complete(ctx, s, actor_for(s, username), task_id, data)


def inbox_ids(page) -> list[str]:
    return page.locator("tr[data-task-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.taskId)"
    )


def test_transfer_to_a_colleague(page, live_server) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = start(ctx, "转办测试活动")
    tid = open_row(ctx, iid, "submit").id
    claim(ctx, "alice", tid)

    live_server.login(page, "alice")
    page.goto(f"{url}/tasks/{tid}")
    page.locator("#ops-transfer > summary").click()
    panel = page.locator("#ops-transfer")
    box = panel.get_by_role("combobox", name="转给")  # the person picker
    box.fill("bob")
    panel.locator(".pp-option", has_text="Bob").click()
    panel.get_by_label("说明（选填）").fill("我下周出差，请你办理")
    with page.expect_navigation(url=re.compile(r"/tasks$")):
        panel.get_by_role("button", name="转办").click()
    assert page.get_by_text("已将「提交说明」转办给 Bob").is_visible()
    assert tid not in inbox_ids(page)
    log_out(page)

    live_server.login(page, "bob")
    page.goto(f"{url}/tasks")
    assert tid in inbox_ids(page)
    assert open_row(ctx, iid, "submit").assignee == "bob"


def test_manager_returns_to_the_specialist_with_a_reason(page, live_server) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = start(ctx, "退回测试活动")
    submit_id = open_row(ctx, iid, "submit").id
    claim(ctx, "alice", submit_id)
    complete(ctx, "alice", submit_id, {"description": "初稿"})
    review = open_row(ctx, iid, "review").id
    claim(ctx, "mgr", review)

    live_server.login(page, "mgr")
    page.goto(f"{url}/tasks/{review}")
    page.locator("#ops-return > summary").click()
    panel = page.locator("#ops-return")
    assert panel.get_by_role("radio", name=re.compile("提交说明")).is_checked()
    # the manager's panel with 退回 and 加签 open (the README's image: test_demo_pages_ui.py)
    page.locator("#ops-add-signer > summary").click()
    take_screenshot(page, "task-operations-test")
    panel.get_by_role("button", name="退回").click()  # no reason yet: the browser asks for one
    assert page.url.endswith(f"/tasks/{review}")
    panel.get_by_label("原因").fill("预算明细不完整，请补充")
    with page.expect_navigation(url=re.compile(r"/tasks$")):
        panel.get_by_role("button", name="退回").click()
    assert page.get_by_text("已退回「经理审批」").is_visible()
    log_out(page)

    again = open_row(ctx, iid, "submit")
    assert again.id != submit_id and again.assignee == "alice"
    live_server.login(page, "alice")
    page.goto(f"{url}/tasks")
    assert again.id in inbox_ids(page)


def test_parallel_signer_approves(page, live_server) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = start(ctx, "加签测试活动")
    tid = open_row(ctx, iid, "submit").id
    claim(ctx, "alice", tid)

    live_server.login(page, "alice")
    page.goto(f"{url}/tasks/{tid}")
    page.locator("#ops-add-signer > summary").click()
    panel = page.locator("#ops-add-signer")
    box = panel.get_by_role("combobox", name="加签人")  # the person picker
    box.fill("bob")
    panel.locator(".pp-option", has_text="Bob").click()
    assert panel.get_by_role("radio", name=re.compile("会签加签")).is_checked()
    with page.expect_navigation(url=re.compile(rf"/tasks/{tid}$")):
        panel.get_by_role("button", name="加签").click()
    assert page.get_by_text("已加签 1 人").is_visible()
    signer_item = page.locator('#ops-signers li[data-signer="bob"]')
    assert signer_item.get_attribute("data-status") == "open"
    assert signer_item.get_by_role("button", name="减签：Bob").is_visible()

    log_out(page)

    with transaction(ctx.sessions) as s:
        entry = s.scalar(select(TaskSignerRecord).where(TaskSignerRecord.parent_task_id == tid))
        step = entry.step_task_id
    live_server.login(page, "bob")
    page.goto(f"{url}/tasks")
    assert step in inbox_ids(page)
    page.goto(f"{url}/tasks/{step}")
    page.get_by_label("审批意见").fill("同意，预算合理")
    with page.expect_navigation(url=re.compile(r"/tasks$")):
        page.get_by_role("button", name="同意", exact=True).click()
    assert page.get_by_text("已同意").is_visible()
    with transaction(ctx.sessions) as s:
        entry = s.scalar(select(TaskSignerRecord).where(TaskSignerRecord.parent_task_id == tid))
        assert (entry.status, entry.comment) == ("approved", "同意，预算合理")


def test_delegate_hands_back_the_form_with_their_data(page, page_problems, live_server) -> None:
    """委派: the delegate's form is editable; 完成委派 sends their part (a server error shows at
    the field) and the owner then finds it filled in."""
    page_problems.allow(r"422")  # the refused hand-back itself
    ctx, url = live_server.ctx, live_server.url
    iid = start(ctx, "委派测试活动")
    tid = open_row(ctx, iid, "submit").id
    claim(ctx, "alice", tid)
    with transaction(ctx.sessions) as s:
        operations.delegate(ctx, s, actor_for(s, "alice"), tid, "bob", "请补充预算说明")

    live_server.login(page, "bob")
    page.goto(f"{url}/tasks/{tid}")
    form_ready(page)
    fill(page, "说明", "长" * 501)  # the form allows 500: the server refuses it at the field
    with page.expect_response(lambda r: r.url.endswith("/resolve")) as refused:
        page.get_by_role("button", name="完成委派").click()
    assert refused.value.status == 422, (refused.value.status, refused.value.request.post_data)
    error = page.locator("#staff-form .fjs-form-field-error").first
    error.wait_for()
    assert "500" in error.inner_text()
    fill(page, "说明", "预算明细：场地 3000，物料 2000")
    page.get_by_label("说明（选填）").fill("已补充")
    # The page navigates when the hand-back's answer arrives (task-form.js), not on the
    # click itself: wait for the URL.
    page.get_by_role("button", name="完成委派").click(no_wait_after=True)
    page.wait_for_url(re.compile(r"/tasks$"))
    assert page.get_by_text("已完成委派，「提交说明」已交还").is_visible()
    log_out(page)

    live_server.login(page, "alice")
    page.goto(f"{url}/tasks/{tid}")
    form_ready(page)
    assert page.get_by_label(label("说明")).input_value() == "预算明细：场地 3000，物料 2000"
    assert page.get_by_role("button", name="提交").is_visible()


def test_operations_at_phone_width(page, live_server) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = start(ctx, "手机宽度")
    tid = open_row(ctx, iid, "submit").id
    claim(ctx, "alice", tid)
    page.set_viewport_size({"width": 375, "height": 740})
    live_server.login(page, "alice")
    page.goto(f"{url}/tasks/{tid}")
    page.locator("#ops-delegate > summary").focus()
    page.keyboard.press("Enter")  # keyboard opens the panel
    select = page.locator("#ops-delegate-to")
    assert select.is_visible()
    box = select.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 375
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
