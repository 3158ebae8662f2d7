"""The top bar's entries by role (web/pages/nav.py): the four system pages fold into one 管理
menu for whoever sees more than one of them (administrators); a process owner keeps 流程模型
as a plain entry; staff see neither."""

from __future__ import annotations

import re

from tests.pages import login


def _bar(client) -> tuple[list[str], list[str]]:
    """The entries outside any menu and those inside the 管理 menu, as the page lists them."""
    page = client.get("/tasks").get_data(as_text=True)
    nav = re.search(r'<nav class="mainnav".*?</nav>', page, re.S).group(0)
    menu = re.search(r'<details class="navmenu.*?</details>', nav, re.S)
    inside = re.findall(r'<a href="[^"]+"[^>]*>([^<]+)', menu.group(0)) if menu else []
    outside = re.findall(r'<a href="[^"]+"[^>]*>([^<]+)',
                         nav.replace(menu.group(0), "") if menu else nav)
    return [t.strip() for t in outside], [t.strip() for t in inside]


def test_administrators_get_the_system_pages_in_one_menu(client, api_staff) -> None:
    login(client, "root")
    outside, inside = _bar(client)
    assert inside == ["流程模型", "用户与角色", "工作日历", "运行检查"]
    assert not set(inside) & set(outside) and "我的待办" in outside
    assert "<summary>管理</summary>" in client.get("/tasks").get_data(as_text=True)


def test_a_process_owner_keeps_the_one_entry_in_the_bar(client, api_staff) -> None:
    login(client, "owner")
    outside, inside = _bar(client)
    assert inside == [] and "流程模型" in outside


def test_staff_see_no_menu(client, api_staff) -> None:
    login(client, "alice")
    outside, inside = _bar(client)
    assert inside == [] and "流程模型" not in outside and "我的待办" in outside
