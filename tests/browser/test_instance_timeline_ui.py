"""The 流程实例 page's 流转记录 of a long-running instance in real Chromium: the latest 50
entries, newest first, and below them how many earlier ones are not shown with 显示全部, which
opens every entry. Saves tests/screenshots/instance_timeline_latest.png."""

from __future__ import annotations

import re

from engine.read.instance_detail import ACTION_AUDIT
from tests.web.staff_helpers import sent_back


def test_a_long_timeline_ends_with_a_link_to_every_entry(page, live_server, screenshot) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid, _ = sent_back(ctx, 15)
    live_server.login(page, "mgr")
    page.goto(f"{url}/instances/{iid}")
    entries = page.locator("ol.pf-timeline > li")
    assert entries.count() == ACTION_AUDIT
    more = page.locator("#history-more")
    more.scroll_into_view_if_needed()
    text = " ".join(more.inner_text().split())
    found = re.fullmatch(r"另有 (\d+) 条更早的记录未显示 · 显示全部", text)
    assert found, text
    earlier = int(found.group(1))
    # the timeline's last entry sits above the line, inside the card
    assert entries.last.bounding_box()["y"] < more.bounding_box()["y"]
    screenshot(page, "instance_timeline_latest", full_page=False)
    more.get_by_role("link", name="显示全部").click()
    page.wait_for_url(re.compile(rf"/instances/{iid}\?timeline=all#h-timeline$"))
    assert page.locator("ol.pf-timeline > li").count() == ACTION_AUDIT + earlier
    assert page.locator("#history-more").get_by_role(
        "link", name=f"只看最近 {ACTION_AUDIT} 条").is_visible()
