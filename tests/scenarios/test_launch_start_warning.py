"""Starting an event less than 30 days before its date (issue 15, 活动执行: 筹备阶段（提前1-2个月）)
warns the starter and says which steps will be compressed — the start is never refused. The
warning is in the start response (`warnings`), in the instance's audit log as a system note of
the starter (what the instance page shows after the start page), and in the data
(`compressed_steps`). Also when the event is 30 days or more away but the T-30 poster's lead
time is already gone; never for an event far enough ahead."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.conftest import START
from tests.pages import as_user, csrf, html
from tests.scenarios import Api, add_extra_staff, deploy_department_models


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def start(api: Api, event_date: str) -> dict[str, Any]:
    return api.start(
        "sup",
        "product_launch",
        {"event_name": "临时发布会", "theme": "主题", "event_date": event_date, "venue": "上海"},
    )


def notes(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a for a in detail["audit"]
        if a["action"] == "handler_note" and a["details"].get("kind") == "start_warning"
    ]


def test_an_event_ten_days_away_warns_which_steps_are_compressed(
    api: Api, clock: FixedClock
) -> None:
    assert clock.now() == START  # Monday 2026-03-02 09:00 Shanghai
    started = start(api, "2026-03-12T14:00")
    assert started["status"] == "running"  # a warning, not a refusal
    [warning] = started["warnings"]
    assert warning.startswith("活动距今仅 10 天，不足手册要求的筹备期（提前 1–2 个月，至少 30 天）")
    for expected in (
        "T-30 悬念预热海报原定 2026-02-10 14:00 发布",
        "T-15 亮点揭秘视频原定 2026-02-25 14:00 发布",
        "现立即开始制作，最迟 2026-03-05 09:00 发布",  # 3 working days after the start
    ):
        assert expected in warning, (expected, warning)
    assert "T-3 倒计时海报" not in warning  # its production is still 3 working days ahead
    [note] = notes(started)
    assert (note["actor"], note["details"]["note"]) == ("sup", warning)
    assert [s["step"] for s in started["data"]["compressed_steps"]] == [
        "T-30 悬念预热海报",
        "T-15 亮点揭秘视频",
    ]
    # the instance keeps the note; the instance page lists it with the history
    assert notes(api.instance("mgr", started["id"])) == [note]


def test_thirty_one_days_away_the_t30_lead_time_is_already_gone(api: Api) -> None:
    started = start(api, "2026-04-02T14:00")  # T-30 is Tuesday 03-03, production 02-26
    [warning] = started["warnings"]
    assert warning.startswith("活动距今 31 天，传播物料的制作期（发布前 3 个工作日）已不足")
    assert "T-30 悬念预热海报原定 2026-03-03 14:00 发布" in warning
    assert "T-15" not in warning


def test_an_event_well_ahead_starts_without_a_warning(api: Api) -> None:
    started = start(api, "2026-04-23T14:00")
    assert started["warnings"] == []
    assert notes(started) == []
    assert started["data"]["compressed_steps"] == []


def test_the_start_page_shows_the_warning(api: Api, app: Any) -> None:
    """Started from the page (发起流程), the starter reads the warning at once, on the page the
    start leads to, beside 流程已发起."""
    sup = as_user(app, "sup")
    r = sup.post(
        "/start/product_launch",
        json={"data": {"event_name": "临时发布会", "theme": "主题",
                       "event_date": "2026-03-12T14:00", "venue": "上海"}},
        headers={"X-CSRF-Token": csrf(sup)},
    )
    assert r.status_code == 200, r.get_json()
    page = html(sup.get(r.get_json()["redirect"]))
    flashes = re.findall(r'<div class="flash[^"]*" role="status">(.*?)</div>', page, re.S)
    assert flashes[0] == "流程已发起：临时发布会"
    assert flashes[1].startswith("活动距今仅 10 天，不足手册要求的筹备期"), flashes
