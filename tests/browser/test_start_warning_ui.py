"""Starting an event less than 30 days ahead from 发起流程 (issue 15): in Chromium, the page the
start leads to shows 流程已发起 and, beneath it, which steps the short preparation compresses.
Saves tests/screenshots/start_warning.png."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def test_the_starter_reads_the_warning(page, live_server, screenshot) -> None:
    url = live_server.url
    live_server.login(page, "sup")
    page.goto(f"{url}/start/product_launch")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    when = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=10)
    data = {"event_name": "临时新品发布会", "theme": "主题", "venue": "上海",
            "event_date": when.strftime("%Y-%m-%dT14:00")}
    # the start form's own submit path (form-js posts this JSON); the page then follows it
    reply = page.request.post(f"{url}/start/product_launch", data={"data": data},
                              headers={"X-CSRF-Token": token})
    assert reply.status == 200, reply.text()
    page.goto(url + reply.json()["redirect"])
    flashes = page.locator(".flash")
    assert flashes.nth(0).inner_text() == "流程已发起：临时新品发布会"
    assert flashes.nth(0).get_attribute("class") == "flash"
    assert flashes.nth(1).get_attribute("class") == "flash warning"  # amber, not the info blue
    warning = flashes.nth(1).inner_text()
    assert warning.startswith("活动距今仅 ") and "不足手册要求的筹备期" in warning, warning
    assert "T-30 悬念预热海报" in warning
    box = flashes.nth(1).bounding_box()
    assert box["width"] <= page.viewport_size["width"]  # wraps, never runs off the page
    # the diagram's due tags: the video task's two timers (SLA, 未发布) stack, never overlap
    page.wait_for_selector(".pf-overlay")
    boxes = [b for b in (t.bounding_box() for t in page.locator(".pf-overlay").all()) if b]
    assert len(boxes) >= 3, boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                     or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])
            assert apart, (a, b)
    screenshot(page, "start_warning", full_page=False)
