"""终止流程 asks first (issue 14): a terminated process cannot be resumed, so both places that
terminate one (the task page's operations panel and the management page of an instance) show a
Chinese confirmation dialog before the form is sent. Dismissing it leaves the instance running;
accepting it terminates the instance."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.usecases import instances

CONFIRM = "确定终止这个流程吗？终止后不能恢复，所有待办都会被取消。"


def _start(ctx, title: str) -> int:
    with transaction(ctx.sessions) as s:
        return instances.start(
            ctx, s, actor_for(s, "alice"), "approval_demo", {"title": title, "amount": 5000}
        ).id


def _status(ctx, instance_id: int) -> str:
    with transaction(ctx.sessions) as s:
        return s.get(InstanceRecord, instance_id).status


def _open_task(ctx, instance_id: int) -> str:
    with transaction(ctx.sessions) as s:
        return s.scalars(
            select(HumanTaskRow.id).where(
                HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"
            )
        ).one()


def _answer_next_dialog(page, accept: bool) -> list[tuple[str, str]]:
    """Answers the next dialog; returns [(type, message)] once it has been shown."""
    seen: list[tuple[str, str]] = []

    def on_dialog(dialog) -> None:
        seen.append((dialog.type, dialog.message))
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", on_dialog)
    return seen


def test_terminate_on_the_task_page_asks_first(page, live_server) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = _start(ctx, "终止确认活动")
    live_server.login(page, "alice")  # the initiator may terminate her own process
    page.goto(f"{url}/tasks/{_open_task(ctx, iid)}")
    page.locator("#ops-terminate > summary").click()
    panel = page.locator("#ops-terminate")
    panel.get_by_label("原因").fill("活动取消")
    button = panel.get_by_role("button", name="终止流程")

    seen = _answer_next_dialog(page, accept=False)
    button.click()
    page.wait_for_timeout(300)  # a form that was sent would be loading the next page by now
    assert seen == [("confirm", CONFIRM)]
    assert page.url == f"{url}/tasks/{_open_task(ctx, iid)}"
    assert panel.get_by_label("原因").input_value() == "活动取消"  # nothing typed is lost
    assert _status(ctx, iid) != "terminated"

    seen = _answer_next_dialog(page, accept=True)
    with page.expect_navigation():
        button.click()
    assert seen == [("confirm", CONFIRM)]
    assert _status(ctx, iid) == "terminated"


def test_terminate_on_the_instance_page_asks_first(page, live_server) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = _start(ctx, "管理端终止确认")
    live_server.login(page, "root")
    page.goto(f"{url}/instances/{iid}")
    page.get_by_label("终止原因").fill("重复发起")
    button = page.get_by_role("button", name="终止流程")

    seen = _answer_next_dialog(page, accept=False)
    button.click()
    page.wait_for_timeout(300)
    assert seen == [("confirm", CONFIRM)]
    assert page.url == f"{url}/instances/{iid}"
    assert _status(ctx, iid) != "terminated"

    seen = _answer_next_dialog(page, accept=True)
    with page.expect_navigation():
        button.click()
    assert seen == [("confirm", CONFIRM)]
    assert _status(ctx, iid) == "terminated"
    assert re.search(r"流程已终止", page.locator("main").inner_text())
