"""The top bar at the department's usual 1280px: a planning manager's whole menu (ten entries,
the bell, 外出设置, 退出登录 and English) fits one line; nothing wraps onto a second row."""

from __future__ import annotations

from tests.reports import api_for
from tests.scenarios.project_steps import start, to_budget_approval


def test_the_managers_menu_fits_one_line(page, live_server, screenshot) -> None:
    api = api_for(live_server.ctx)
    to_budget_approval(api, start(api, a_owner="sup", b_owner="bob"))  # a badge on 我的待办
    live_server.login(page, "mgr")
    page.goto(f"{live_server.url}/tasks")
    assert page.locator(".mainnav .badge").count() >= 1
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
    screenshot(page, "topbar_manager", full_page=False)
