"""抄送我的, the notification bell and 外出设置 in real Chromium: alice copies req on an instance,
req sees the badge, opens the copy read-only; the bell counts a task handed to req; req marks
themself away and the task moves to the deputy. Screenshots go to tests/screenshots (the
README's 抄送我的 comes from the demo: test_demo_pages_ui.py).

The `page` fixture fails a test on any console error, page error, HTTP error response or
request to another host.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from engine import operations
from engine.operations import cc
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow
from engine.usecases import instances
from tests.browser.conftest import take_screenshot

TITLE = "华南区渠道大会"


def run(ctx, fn, username: str, *args, **kwargs):
    with transaction(ctx.sessions) as s:
        return fn(ctx, s, actor_for(s, username), *args, **kwargs)


def open_task(ctx, instance_id: int) -> str:
    with transaction(ctx.sessions) as s:
        return s.scalar(
            select(HumanTaskRow.id).where(
                HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"
            )
        )


def test_cc_bell_and_away(page, live_server) -> None:
    url, ctx = live_server.url, live_server.ctx
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, actor_for(s, "alice"), "approval_demo", {"title": TITLE, "amount": 8000}
        ).id
    run(ctx, cc.cc, "alice", iid, ["req"], note="请了解渠道大会安排")

    live_server.login(page, "req")
    page.goto(f"{url}/tasks")
    cc_link = page.locator(".mainnav a", has_text="抄送我的")
    assert cc_link.locator(".badge").inner_text() == "1"
    bell = page.locator("a.bell")
    assert bell.get_attribute("aria-label") == "通知（1 条未读）"
    assert bell.locator(".badge").inner_text() == "1"

    # 抄送我的: the copy, unread
    cc_link.click()
    page.wait_for_url(re.compile(r"/cc$"))
    row = page.locator("tr.me-cc", has_text=TITLE)
    assert "me-unread" in (row.get_attribute("class") or "")
    assert "请了解渠道大会安排" in row.inner_text() and "Alice" in row.inner_text()
    take_screenshot(page, "cc")

    # opened: read-only instance context, marked read
    row.get_by_role("link", name=TITLE).click()
    page.wait_for_url(re.compile(r"/cc/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text() == TITLE
    assert page.locator(".staff-chip", has_text="只读").is_visible()
    assert page.locator("#staff-form").count() == 0
    assert page.locator("main form").count() == 0  # nothing to submit, no operations
    assert "8,000" in page.locator(".staff-dl").first.inner_text()  # engine.figures
    assert cc_link.locator(".badge").count() == 0

    # the bell: read the CC notification, then a task handed to req shows up
    bell.click()
    page.wait_for_url(re.compile(r"/notifications$"))
    page.get_by_role("button", name="全部标为已读").click()
    page.wait_for_url(re.compile(r"/notifications$"))
    assert bell.locator(".badge").count() == 0
    tid = open_task(ctx, iid)
    run(ctx, instances.claim, "alice", tid)
    run(ctx, operations.transfer, "alice", tid, "req")
    page.reload()
    assert bell.locator(".badge").inner_text() == "1"
    assert bell.get_attribute("aria-label") == "通知（1 条未读）"
    notice = page.get_by_role("button", name=re.compile("【待办】提交说明"))
    notice.click()
    page.wait_for_url(re.compile(rf"/tasks/{tid}$"))
    assert bell.locator(".badge").count() == 0

    # phone width: the bell stays on screen
    page.set_viewport_size({"width": 390, "height": 800})
    assert bell.is_visible() and bell.bounding_box()["x"] + 20 <= 390
    page.set_viewport_size({"width": 1280, "height": 800})

    # 外出设置 from the user box: away with fin as deputy, the task moves to fin
    page.locator(".userbox").get_by_role("link", name="外出设置").click()
    page.wait_for_url(re.compile(r"/me/away$"))
    assert page.locator("#away-username").count() == 0  # staff: only themselves
    page.fill("#away-until", "2030-03-09T18:00")
    page.get_by_role("combobox", name="代理人（B角）").fill("fin")  # the person picker
    page.locator(".pp-option", has_text="Fin").click()
    page.fill("#away-note", "参加培训")
    page.get_by_role("button", name="设置外出").click()
    page.wait_for_url(re.compile(r"/me/away$"))
    assert page.locator(".flash", has_text="已设置外出").is_visible()
    absent = page.locator("tr.me-absence")
    assert "外出中" in absent.inner_text() and "参加培训" in absent.inner_text()
    with transaction(ctx.sessions) as s:
        assert s.get(HumanTaskRow, tid).assignee == "fin"
    take_screenshot(page, "away")

    page.get_by_role("button", name="我已回岗").click()
    page.wait_for_url(re.compile(r"/me/away$"))
    assert page.locator(".flash", has_text="1 个任务已交还").is_visible()
    with transaction(ctx.sessions) as s:
        assert s.get(HumanTaskRow, tid).assignee == "req"
