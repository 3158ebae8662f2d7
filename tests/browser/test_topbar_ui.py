"""The top bar at the department's usual 1280px: a planning manager's whole menu (ten entries,
the bell, the manager's Chinese name, 外出设置, 退出登录 and English) fits one line; nothing
wraps onto a second row. A name longer than the bar has room for is cut with an ellipsis and
kept whole in its tooltip. In English (labels about a third wider) the same menu fits too. At
phone width the bar scrolls sideways: it fades at an edge beyond which entries lie, and the
current entry is scrolled into view."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import update

from engine.store.db import transaction
from engine.store.tables import UserRecord
from tests.reports import api_for
from tests.scenarios.project_steps import start, to_budget_approval

# A four-character name (复姓 + 名): longer than most, and what the demo's 王经理 wrapped on.
NAME = "欧阳志远"
LONG_NAME = "欧阳志远（品牌与市场推广中心）"


def rename(live_server, display_name: str) -> None:
    with transaction(live_server.ctx.sessions) as s:
        s.execute(update(UserRecord).where(UserRecord.username == "mgr")
                  .values(display_name=display_name))


def assert_one_line(page) -> None:
    entries = page.locator(".mainnav a")
    assert entries.count() == 10, entries.all_inner_texts()
    tops = page.evaluate(
        "() => [...document.querySelectorAll('.topbar > *, .mainnav a')]"
        ".map(e => Math.round(e.getBoundingClientRect().top))"
    )
    heights = page.evaluate(
        "() => [...document.querySelectorAll('.mainnav a')]"
        ".map(e => Math.round(e.getBoundingClientRect().height))"
    )
    # one row: every entry starts on the same line, and the bar is one entry high (plus padding)
    assert max(tops) - min(tops) <= 12, tops
    bar = page.locator(".topbar").bounding_box()
    assert bar["height"] <= max(heights) + 24, (bar, heights)


def name_is_cut(page) -> bool:
    return page.evaluate(
        "() => { const e = document.querySelector('.userbox .who');"
        " return e.scrollWidth > e.clientWidth; }"
    )


def manager_on_the_inbox(page, live_server) -> None:
    """The manager, named NAME, on 我的待办 with a task waiting (a badge in the menu)."""
    api = api_for(live_server.ctx)
    to_budget_approval(api, start(api, a_owner="sup", b_owner="bob"))
    rename(live_server, NAME)
    live_server.login(page, "mgr")
    page.goto(f"{live_server.url}/tasks")
    assert page.locator(".mainnav .badge").count() >= 1


def test_the_managers_menu_fits_one_line(page, live_server, screenshot) -> None:
    manager_on_the_inbox(page, live_server)
    assert page.locator(".userbox .who").inner_text() == NAME
    assert not name_is_cut(page)  # a usual name is shown whole
    assert_one_line(page)
    screenshot(page, "topbar_manager", full_page=False)

    rename(live_server, LONG_NAME)
    page.reload()
    assert_one_line(page)
    who = page.locator(".userbox .who")
    assert name_is_cut(page) and who.get_attribute("title") == LONG_NAME


def test_the_managers_menu_fits_one_line_in_english(page, live_server, screenshot) -> None:
    manager_on_the_inbox(page, live_server)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")  # waits for the new page
    assert page.locator(".mainnav a").last.inner_text() == "Dashboard"
    assert not name_is_cut(page)
    assert_one_line(page)
    screenshot(page, "topbar_manager_en", full_page=False)


def test_at_phone_width_the_bar_shows_that_more_entries_lie_beyond(page, live_server,
                                                                     screenshot) -> None:
    """A phone showed 我的待办 … 发起流程 and cut off cleanly: nothing told 李主管 that 流程实例,
    案例库 or 数据看板 existed."""
    manager_on_the_inbox(page, live_server)
    page.set_viewport_size({"width": 390, "height": 700})
    page.reload()
    bar = page.locator(".mainnav")
    expect(bar).to_have_class("mainnav more-right")  # at the start: more to the right only
    assert "linear-gradient" in bar.evaluate("e => getComputedStyle(e).maskImage")
    screenshot(page, "topbar_phone_start", full_page=False)
    bar.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    expect(bar).to_have_class("mainnav more-left")  # at the end: more to the left only
    # a page of the far end opens with its entry in view, the bar faded on the left
    page.locator(".mainnav a").last.click()
    page.wait_for_load_state()
    current = page.locator('.mainnav a[aria-current="page"]')
    expect(current).to_be_in_viewport()
    expect(page.locator(".mainnav")).to_have_class("mainnav more-left")
    screenshot(page, "topbar_phone_end", full_page=False)
