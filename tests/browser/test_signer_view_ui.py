"""The 加签 signer's page (issue 14), in real Chromium: the signer sees who asked them to sign
which step and the note left for them, the step's form as its handler filled it (read-only),
and a clear 同意 / 拒绝 with a comment — no "确认后提交" without a submit button. Saves
tests/screenshots/signer_view.png."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine import operations
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.records_ops import TaskSignerRecord
from engine.store.tables import HumanTaskRow
from tests.browser.task_steps import open_row, plan_in_review

NOTE = "请财务把关预算依据，重点看线下场地费用"


def test_the_signer_sees_the_request_the_note_and_a_clear_decision(
    page, live_server, screenshot
) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = plan_in_review(ctx)
    review = open_row(ctx, iid, "Task_internal_review").id
    with transaction(ctx.sessions) as s:
        mgr = actor_for(s, "mgr")
        operations.claim(ctx, s, mgr, review)
    with transaction(ctx.sessions) as s:
        operations.add_signers(ctx, s, actor_for(s, "mgr"), review, ["fin"], "before", NOTE)
    with transaction(ctx.sessions) as s:
        entry = s.scalars(select(TaskSignerRecord).where(
            TaskSignerRecord.parent_task_id == review)).one()
        step = s.get(HumanTaskRow, entry.step_task_id)
        assert step is not None and step.assignee == "fin"
        step_id = step.id

    live_server.login(page, "fin")
    page.goto(f"{url}/tasks/{step_id}")
    request = page.locator("#signing-request")
    assert "王经理 请您对「内部评审」加签" in request.inner_text()
    assert NOTE in page.locator("#signing-note").inner_text()
    assert "待签内容：内部评审" in page.locator("#form-h").inner_text()
    # the step's form, read-only: the signer reads it, does not fill it in
    page.wait_for_selector(".fjs-container")
    assert page.locator(".fjs-container textarea, .fjs-container input").count() > 0
    for field in page.locator(".fjs-container textarea, .fjs-container input[type=text]").all():
        assert field.is_disabled() or field.get_attribute("readonly") is not None
    body = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text(
        "body")
    assert "确认后提交" not in body
    assert page.get_by_role("button", name="提交").count() == 0
    decision = page.locator("#ops-sign")
    assert decision.get_by_role("button", name="同意").is_visible()
    assert decision.get_by_role("button", name="拒绝").is_visible()
    screenshot(page, "signer_view")

    decision.get_by_label(re.compile("意见")).fill("预算依据充分，同意")
    with page.expect_navigation():
        decision.get_by_role("button", name="同意").click()
    with transaction(ctx.sessions) as s:
        entry = s.scalars(select(TaskSignerRecord).where(
            TaskSignerRecord.parent_task_id == review)).one()
        assert (entry.status, entry.comment) == ("approved", "预算依据充分，同意")
