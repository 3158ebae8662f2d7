"""The person pickers of 转办 / 委派 / 加签 / 抄送 and 外出设置 (issue 14), in real Chromium:
searchable by name, department or username, the people in pinyin order with their department,
several people as chips (no Ctrl+click); a required picker left empty says so at the picker.
Without script each is the plain select it always was, and still works.
Saves tests/screenshots/person-picker-ops.png and person-picker-away.png."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.records_ops import TaskSignerRecord
from engine.store.tables import HumanTaskRow
from tests.browser.conftest import CHROMIUM_ARGS, LOCALE, TIMEZONE, VIEWPORT
from tests.browser.task_steps import claim, open_row, start
from tests.conftest import PASSWORD, add_test_user

CHINESE_STAFF = (
    ("zhao", "赵主管", ["planning_supervisor"]),
    ("li", "李主管", ["planning_supervisor"]),
    ("wang", "王经理", ["planning_manager"]),
    ("chen", "陈专员", ["planning_specialist"]),
)


def add_staff(ctx) -> None:
    with transaction(ctx.sessions) as s:
        for username, name, groups in CHINESE_STAFF:
            add_test_user(s, username, now=ctx.clock.now(), groups=groups, display_name=name)


def listed(picker) -> list[str]:
    """The names in an open picker's list, in order."""
    return picker.locator(".pp-option .pp-name").all_inner_texts()


def pick_person(page, box_label: str, query: str, name: str) -> None:
    """Type `query` into the picker labelled `box_label` and choose `name` from its list."""
    box = page.get_by_role("combobox", name=box_label)
    box.click()
    box.fill(query)
    box.locator("xpath=..").locator(".pp-option", has_text=name).click()


def task_page(page, live_server, title: str) -> str:
    ctx = live_server.ctx
    add_staff(ctx)
    iid = start(ctx, title)
    tid = open_row(ctx, iid, "submit").id
    claim(ctx, "alice", tid)
    live_server.login(page, "alice")
    page.goto(f"{live_server.url}/tasks/{tid}")
    return tid


def test_transfer_picker_searches_by_name_department_and_username(page, live_server) -> None:
    tid = task_page(page, live_server, "转办选人")
    page.locator("#ops-transfer > summary").click()
    panel = page.locator("#ops-transfer")
    box = panel.get_by_role("combobox", name="转给")
    assert panel.locator("select[name=to]").is_hidden()
    box.click()
    picker = panel.locator(".pp")
    # Latin names first, then by pinyin (陈 李 王 赵); not alice herself
    assert listed(picker) == ["Bob", "Fin", "Mgr", "Owner", "Req", "Root", "Sup",
                              "陈专员", "李主管", "王经理", "赵主管"]
    box.fill("赵")
    assert listed(picker) == ["赵主管"]
    assert picker.locator(".pp-option .pp-dept").all_inner_texts() == ["策划主管"]
    box.fill("wang")
    assert listed(picker) == ["王经理"]
    box.fill("策划主管")  # by department
    assert listed(picker) == ["Sup", "李主管", "赵主管"]
    box.fill("没有这个人")
    assert picker.locator(".pp-empty").inner_text() == "没有匹配的人员"
    box.fill("zhu")  # 李主管 (li) and 赵主管 (zhao): 主管 in neither name's pinyin, so
    assert listed(picker) == []  # no match by pinyin; but by the keyboard:
    box.fill("主管")
    assert listed(picker) == ["Sup", "李主管", "赵主管"]
    box.press("ArrowDown")
    box.press("Enter")  # the second: 李主管
    assert box.input_value() == "李主管 · 策划主管（li）"
    assert panel.locator("select[name=to]").input_value() == "li"
    with page.expect_navigation(url=re.compile(r"/tasks$")):
        panel.get_by_role("button", name="转办").click()
    assert page.get_by_text("已将「提交说明」转办给 李主管").is_visible()
    with transaction(live_server.ctx.sessions) as s:
        assert s.get(HumanTaskRow, tid).assignee == "li"


def test_add_signers_as_chips_and_a_required_picker(page, live_server, screenshot) -> None:
    tid = task_page(page, live_server, "加签选人")
    page.locator("#ops-add-signer > summary").click()
    panel = page.locator("#ops-add-signer")
    hint = panel.locator("#ops-signer-users-hint").inner_text()
    assert "Ctrl" not in hint and "可选择多人" in hint
    panel.get_by_role("button", name="加签").click()  # nobody chosen yet
    problem = panel.locator(".pp-error")
    assert problem.inner_text() == "请选择人员"
    assert page.url.endswith(f"/tasks/{tid}")

    pick_person(page, "加签人", "zhao", "赵主管")
    pick_person(page, "加签人", "王", "王经理")
    pick_person(page, "加签人", "bo", "Bob")
    assert problem.is_hidden()
    chips = panel.locator(".pp-chip .pp-chip-name")
    assert chips.all_inner_texts() == ["Bob", "王经理", "赵主管"]  # the list's order
    panel.get_by_role("button", name="移除 Bob").click()
    assert chips.all_inner_texts() == ["王经理", "赵主管"]
    box = panel.get_by_role("combobox", name="加签人")
    box.click()
    box.fill("赵")
    assert panel.locator('.pp-option[aria-selected="true"]').inner_text().startswith("赵主管")
    box.fill("策划")
    screenshot(page, "person-picker-ops")
    page.keyboard.press("Escape")
    with page.expect_navigation(url=re.compile(rf"/tasks/{tid}$")):
        panel.get_by_role("button", name="加签").click()
    assert page.get_by_text("已加签 2 人").is_visible()
    with transaction(live_server.ctx.sessions) as s:
        signers = s.scalars(
            select(TaskSignerRecord.signer).where(TaskSignerRecord.parent_task_id == tid)
        )
        assert sorted(signers) == ["wang", "zhao"]


def test_without_script_the_pickers_are_plain_selects(browser, live_server) -> None:
    ctx = live_server.ctx
    add_staff(ctx)
    iid = start(ctx, "无脚本转办")
    tid = open_row(ctx, iid, "submit").id
    claim(ctx, "alice", tid)
    context = browser.new_context(viewport=VIEWPORT, locale=LOCALE, timezone_id=TIMEZONE,
                                  java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/tasks/{tid}")
        page.locator("#ops-transfer > summary").click()
        panel = page.locator("#ops-transfer")
        assert panel.locator(".pp").count() == 0
        to = panel.get_by_label("转给")
        texts = to.locator("option").all_inner_texts()
        assert texts[0] == "请选择"
        assert texts[-4:] == ["陈专员 · 策划专员（chen）", "李主管 · 策划主管（li）",
                              "王经理 · 策划部经理（wang）", "赵主管 · 策划主管（zhao）"]
        cc = page.locator("#ops-cc-users")
        assert cc.get_attribute("multiple") is not None
        to.select_option("zhao")
        panel.get_by_role("button", name="转办").click()
        page.wait_for_url(re.compile(r"/tasks$"))
    finally:
        context.close()
    with transaction(ctx.sessions) as s:
        assert s.get(HumanTaskRow, tid).assignee == "zhao"
    assert CHROMIUM_ARGS  # the same Chromium as every browser test


def test_away_page_pickers(page, live_server, screenshot) -> None:
    ctx, url = live_server.ctx, live_server.url
    add_staff(ctx)
    live_server.login(page, "mgr")  # a manager may mark someone else away
    page.goto(f"{url}/me/away")
    pick_person(page, "人员", "chen", "陈专员")
    deputy = page.get_by_role("combobox", name="代理人（B角）")
    assert deputy.input_value() == "不指定（按流程的B角）"
    deputy.click()
    assert listed(page.locator(".pp", has=deputy))[0] == "不指定（按流程的B角）"
    deputy.fill("李")
    page.locator(".pp-option", has_text="李主管").click()
    page.fill("#away-until", "2030-03-09T18:00")
    page.fill("#away-note", "参加培训")
    screenshot(page, "person-picker-away")
    page.get_by_role("button", name="设置外出").click()
    page.wait_for_url(re.compile(r"/me/away$"))
    row = page.locator("tr.me-absence")
    assert "陈专员" in row.inner_text() and "李主管" in row.inner_text()
