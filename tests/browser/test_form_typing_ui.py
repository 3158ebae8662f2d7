"""What is typed into a form-js form is what is saved, however fast it is typed (issue 14).

Keys go in with ``keyboard.type`` (no delay between keys), Tab moves on, and the form is
submitted at once. Before the fix form-js debounced every field's input by 300 ms, and a number
field re-sent its value 300 ms after Tab: the form re-rendered the field typed into next with
form-js's stale (empty) value, and the browser's text in it was replaced. "人力安排两人" typed
right after Tab, with the short pause a person makes between two words, was saved as "安排两人";
text typed at once and looked at for a moment before submitting was saved as "".
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.usecases import instances
from tests.browser.staff_forms import form_ready, label

PROJECT = "快速录入项目"
# Pauses (ms) a person makes while typing: none at all, between two words (e.g. choosing the
# next word in a Chinese input method), and before pressing 提交 (a glance over the form).
PAUSES = {"none": (0, 0), "between_words": (800, 0), "before_submit": (0, 800)}


def _newest_instance_data(ctx) -> dict:
    with transaction(ctx.sessions) as s:
        record = s.scalar(select(InstanceRecord).order_by(InstanceRecord.id.desc()).limit(1))
        assert record is not None
        return dict(record.data)


def _research_task(ctx) -> str:
    """A project (项目策划) waiting at 内部调研 (form internal_research.form), A角 alice."""
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx,
            s,
            actor_for(s, "alice"),
            "project_initiation",
            {
                "project_name": PROJECT,
                "requirement_source": "business_department",
                "requesting_department": "销售部",
                "requirement_description": "销售部提出旺季促销需求，目标提升销售额。",
                "a_owner": "alice",
                "b_owner": "bob",
            },
        ).id
    with transaction(ctx.sessions) as s:
        (task_id,) = s.scalars(
            select(HumanTaskRow.id).where(
                HumanTaskRow.instance_id == iid,
                HumanTaskRow.status == "open",
                HumanTaskRow.name == "内部调研",
            )
        ).all()
        return task_id


@pytest.mark.parametrize("pause", list(PAUSES))
def test_task_form_saves_exactly_what_was_typed(page, live_server, pause: str) -> None:
    """The reported case: 预算初估 (number), Tab, 可投入人力 (textarea) at once, 提交."""
    between_words, before_submit = PAUSES[pause]
    ctx, url = live_server.ctx, live_server.url
    task_id = _research_task(ctx)
    live_server.login(page, "alice")
    page.goto(f"{url}/tasks/{task_id}")
    form_ready(page)
    page.get_by_role("button", name="认领").click()
    page.wait_for_load_state()
    form_ready(page)

    page.get_by_label(label("需求部门访谈纪要")).click()
    page.keyboard.type("与销售部访谈：以线下门店为主，需要线上引流。")
    page.keyboard.press("Tab")
    page.keyboard.type("Q3 销售额提升 20%")
    page.keyboard.press("Tab")
    page.keyboard.type("300000")
    page.keyboard.press("Tab")
    page.keyboard.type("人力")
    page.wait_for_timeout(between_words)
    page.keyboard.type("安排两人")
    page.wait_for_timeout(before_submit)
    on_screen = page.get_by_label(label("可投入人力")).input_value()
    with page.expect_navigation(url=re.compile(r"/tasks$")):
        page.get_by_role("button", name="提交", exact=True).click()

    with transaction(ctx.sessions) as s:
        assert s.get(HumanTaskRow, task_id).status == "completed"
    data = _newest_instance_data(ctx)
    assert data["available_people"] == "人力安排两人"
    assert on_screen == "人力安排两人"
    assert data["estimated_budget"] == 300000
    assert data["measurable_goal"] == "Q3 销售额提升 20%"
    assert data["interview_summary"] == "与销售部访谈：以线下门店为主，需要线上引流。"


@pytest.mark.parametrize("pause", list(PAUSES))
def test_start_form_saves_exactly_what_was_typed(page, live_server, pause: str) -> None:
    """测试审批's start form: 金额 (number), Shift+Tab, 标题 (text field) at once, then back to
    金额 and a new amount typed over the old one, 提交并发起 at once."""
    between_words, before_submit = PAUSES[pause]
    live_server.login(page, "alice")
    page.goto(f"{live_server.url}/start/approval_demo")
    form_ready(page)
    page.get_by_label(label("金额")).click()
    page.keyboard.type("4200")
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("华东区")
    page.wait_for_timeout(between_words)
    page.keyboard.type("经销商大会")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("8800")
    page.wait_for_timeout(before_submit)
    page.get_by_role("button", name="提交并发起").click()
    page.wait_for_url(re.compile(r"/(tasks|instances/\d+)$"))

    data = _newest_instance_data(live_server.ctx)
    assert data["title"] == "华东区经销商大会"
    assert data["amount"] == 8800
