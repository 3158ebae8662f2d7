"""A session that ends while a form is being filled in (issue 14: nothing typed is lost), in
Chromium: with the session cookie gone, 提交并发起 used to answer 400 「页面已过期，请刷新后
重试」 with no way to log in, and after logging in again the form was empty. Now the answer is
401 with a 重新登录 link, and after the login the start form opens with what was typed, under a
notice; submitting it starts the instance. Saves tests/screenshots/session_end_*.png."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import InstanceRecord
from tests.browser.staff_forms import fill, form_ready, label
from tests.conftest import PASSWORD

TITLE = "会话过期前填写的标题"


def test_typed_work_survives_a_session_that_ended(page, page_problems, live_server,
                                                   screenshot) -> None:
    url = live_server.url
    page_problems.allow(r"401 POST .*/start/approval_demo")  # the refusal itself
    page_problems.allow(r"status of 401 .*/start/approval_demo")
    live_server.login(page, "alice", then="/start/approval_demo")
    form_ready(page)
    fill(page, "标题", TITLE)
    fill(page, "金额", "8800")
    page.context.clear_cookies()  # the session ends (browser closed, expiry, logged out)
    page.get_by_role("button", name="提交并发起").click()

    status = page.locator("#staff-form-status")
    status.wait_for(state="visible")
    assert "登录已过期" in status.inner_text() and "页面已过期" not in status.inner_text()
    assert page.get_by_label(label("标题")).input_value() == TITLE  # still on screen
    screenshot(page, "session_end_refused", full_page=False)

    status.get_by_role("link", name="重新登录").click()
    page.wait_for_url(re.compile(r"/login"))
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/start/approval_demo")
    form_ready(page)
    assert page.get_by_label(label("标题")).input_value() == TITLE
    assert page.get_by_label(label("金额")).input_value() == "8800"
    notice = page.locator("#staff-form-status")
    assert "已恢复" in notice.inner_text(), notice.inner_text()
    screenshot(page, "session_end_restored", full_page=False)

    page.get_by_role("button", name="提交并发起").click()
    page.wait_for_url(re.compile(r"/instances/\d+|/started|/tasks"))
    with transaction(live_server.ctx.sessions) as s:
        assert s.scalar(select(InstanceRecord.id).where(InstanceRecord.title == TITLE))
    # the draft was taken: the start form opens empty again
    page.goto(f"{url}/start/approval_demo")
    form_ready(page)
    assert page.get_by_label(label("标题")).input_value() == ""
