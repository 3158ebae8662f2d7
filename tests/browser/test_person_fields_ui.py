"""Person fields in form-js are pickers (issue 14), in real Chromium: 项目策划's A角 and B角 are
searchable selects listing the planning staff by pinyin as 姓名 · 部门（用户名）, found by
name or by username; people of other departments are not offered. Whatever the browser sends,
the server checks it: a person deactivated while the form was open is a field error at B角.
Saves tests/screenshots/person-picker-start.png and person-picker-refused.png."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.store.db import transaction
from engine.store.tables import InstanceRecord, UserRecord
from tests.browser.staff_forms import fill, form_ready, label, pick
from tests.conftest import add_test_user

PEOPLE = (
    ("zhao", "赵主管", ["planning_supervisor"]),
    ("li", "李主管", ["planning_supervisor"]),
    ("wang", "王经理", ["planning_manager"]),
    ("chen", "陈专员", ["planning_specialist"]),
    ("liu", "销售部刘经理", ["requester"]),
)


def add_people(ctx) -> None:
    with transaction(ctx.sessions) as s:
        for username, name, groups in PEOPLE:
            add_test_user(s, username, now=ctx.clock.now(), groups=groups, display_name=name)


def person_field(page, text: str):
    return page.locator(".fjs-form-field", has=page.get_by_label(label(text)))


def options(page) -> list[str]:
    return [t.strip() for t in page.locator(".fjs-dropdownlist-item").all_inner_texts()]


def fill_project(page) -> None:
    fill(page, "项目名称", "Q3 旺季促销")
    person_field(page, "需求来源").locator(".fjs-input-group").click()
    page.locator(".fjs-dropdownlist-item", has_text="业务部门需求").click()
    fill(page, "需求部门", "销售部")
    fill(page, "需求描述", "销售部提出旺季促销需求，目标提升 Q3 销售额 20%。")


def instances_count(ctx) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(func.count()).select_from(InstanceRecord))


def test_a_and_b_roles_are_searchable_pickers(page, live_server, screenshot) -> None:
    ctx, url = live_server.ctx, live_server.url
    add_people(ctx)
    live_server.login(page, "alice")
    page.goto(f"{url}/start/project_initiation")
    form_ready(page)
    fill_project(page)

    a_role = page.get_by_label(label("A角（项目负责人）"))
    a_role.click()
    listed = options(page)
    # everyone of the planning department, Latin names first, then by pinyin; not 刘经理
    assert listed == [
        "Alice · 策划专员（alice）",
        "Bob · 策划专员（bob）",
        "Mgr · 策划部经理（mgr）",
        "Sup · 策划主管（sup）",
        "陈专员 · 策划专员（chen）",
        "李主管 · 策划主管（li）",
        "王经理 · 策划部经理（wang）",
        "赵主管 · 策划主管（zhao）",
    ], listed
    a_role.fill("李")  # by name
    assert options(page) == ["李主管 · 策划主管（li）"]
    a_role.fill("zha")  # by username
    assert options(page) == ["赵主管 · 策划主管（zhao）"]
    a_role.fill("销售")  # another department: nobody
    assert options(page) == [] or "李主管" not in " ".join(options(page))
    page.keyboard.press("Escape")

    pick(page, "A角（项目负责人）", "li", "李主管 · 策划主管（li）")
    pick(page, "B角（备份负责人）", "赵", "赵主管 · 策划主管（zhao）")
    page.get_by_label(label("项目名称")).click()  # close the list, as a person moves on
    assert a_role.input_value() == "李主管 · 策划主管（li）"
    screenshot(page, "person-picker-start")

    page.get_by_role("button", name="提交并发起").click()
    page.wait_for_url(re.compile(r"/(tasks|instances/\d+)$"))
    with transaction(ctx.sessions) as s:
        record = s.scalar(select(InstanceRecord).order_by(InstanceRecord.id.desc()).limit(1))
        assert (record.data["a_owner"], record.data["b_owner"]) == ("li", "zhao")


def test_the_server_refuses_a_person_who_left_meanwhile(
    page, page_problems, live_server, screenshot
) -> None:
    page_problems.allow(r"422")  # the refusal this test expects
    ctx, url = live_server.ctx, live_server.url
    add_people(ctx)
    live_server.login(page, "alice")
    page.goto(f"{url}/start/project_initiation")
    form_ready(page)
    fill_project(page)
    pick(page, "A角（项目负责人）", "li", "李主管")
    pick(page, "B角（备份负责人）", "zhao", "赵主管")
    page.get_by_label(label("项目名称")).click()
    with transaction(ctx.sessions) as s:  # 赵主管 leaves while the form is open
        s.scalar(select(UserRecord).where(UserRecord.username == "zhao")).is_active = False

    page.get_by_role("button", name="提交并发起").click()
    error = person_field(page, "B角（备份负责人）").locator(".fjs-form-field-error")
    error.wait_for()
    assert "“zhao”不是系统中的在职人员" in error.inner_text()
    status = page.locator("#staff-form-status")
    assert "B角（备份负责人）" in status.inner_text()
    assert person_field(page, "A角（项目负责人）").locator(".fjs-form-field-error").count() == 0
    screenshot(page, "person-picker-refused")
    assert instances_count(ctx) == 0
