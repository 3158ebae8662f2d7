"""T-30 / T-15 / T-3 are publication dates (issue 15, 活动执行: 前30天“悬念预热”…): each asset is
produced ahead of its date — design starts 3 working days before it on the working-day
calendar (2026's 清明节 holiday is skipped), the 24 h design SLA inside that lead time — and a
发布 step by the specialists is due on the date itself. An asset not published by its date is
escalated to the supervisors, whether the design is still open or the publication is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.conftest import START
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has
from tests.scenarios.launch_data import EVERYONE, SPECIALISTS, SUPERVISORS


def shanghai(day: str, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as the UTC instant the engine stores."""
    local = datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}")
    return (local - timedelta(hours=8)).replace(tzinfo=UTC)


# START is Monday 2026-03-02 09:00; the launch is on Thursday 2026-04-23 at 14:00.
EVENT_DATE = "2026-04-23T14:00"
T30, T15, T3 = shanghai("2026-03-24", 14), shanghai("2026-04-08", 14), shanghai("2026-04-20", 14)
# Production: 09:00 on the 3rd working day before each publication date. Before T-15
# (Wednesday 04-08) the Qingming holiday (04-04 to 04-06) is skipped: Thursday 04-02.
TEASER_START = shanghai("2026-03-19", 9)
HIGHLIGHT_START = shanghai("2026-04-02", 9)
COUNTDOWN_START = shanghai("2026-04-15", 9)


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def at(clock: FixedClock, ctx: EngineContext, when: datetime) -> None:
    clock.set(when)
    fire_timers(ctx)


def timers_of(api: Api, iid: int) -> dict[str, str]:
    return {t["element_id"]: t["due_at"] for t in api.instance("sup", iid)["timers"]}


def test_assets_are_produced_ahead_and_published_on_their_dates(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    assert clock.now() == START
    started = api.start(
        "sup",
        "product_launch",
        {"event_name": "春季新品发布会", "theme": "主题", "event_date": EVENT_DATE,
         "venue": "上海"},
    )
    iid = started["id"]
    assert not api.tasks("des", iid, "Task_teaser_poster")  # 52 days ahead: nothing yet
    timers = timers_of(api, iid)
    assert timers["Event_t30"] == TEASER_START.isoformat()
    assert timers["Event_t15"] == HIGHLIGHT_START.isoformat()  # the holiday is skipped
    assert timers["Event_t3"] == COUNTDOWN_START.isoformat()

    # T-30: design starts 3 working days ahead; delivered within the SLA; published on time
    at(clock, scenario_ctx, TEASER_START + timedelta(minutes=1))
    design = api.task("des", iid, "Task_teaser_poster")
    assert design["due_at"] == (TEASER_START + timedelta(hours=24, minutes=1)).isoformat()
    assert timers_of(api, iid)["Event_teaser_poster_deadline"] == T30.isoformat()
    clock.advance(hours=20)
    api.complete("des", design, {"teaser_poster_design_asset_url": "https://a.cn/teaser.png"})
    publish = api.task("alice", iid, "Task_teaser_poster_publish")
    assert who_has(api, EVERYONE, iid, "Task_teaser_poster_publish") == SPECIALISTS
    assert publish["due_at"] == T30.isoformat()
    at(clock, scenario_ctx, T30 - timedelta(hours=4))
    api.complete(
        "alice",
        publish,
        {"teaser_poster_publish_status": "published",
         "teaser_poster_published_url": "https://weibo.example.com/1"},
    )
    at(clock, scenario_ctx, T30 + timedelta(minutes=1))
    assert who_has(api, EVERYONE, iid, "Task_teaser_poster_escalation") == []
    assert who_has(api, EVERYONE, iid, "Task_teaser_poster_publish_escalation") == []

    # T-15: the video is delivered late (24 h SLA → 催办) and then not published by T-15 →
    # the publication is escalated while the publish step is still open
    at(clock, scenario_ctx, HIGHLIGHT_START + timedelta(minutes=1))
    at(clock, scenario_ctx, HIGHLIGHT_START + timedelta(hours=25))
    assert who_has(api, EVERYONE, iid, "Task_highlight_video_escalation") == SUPERVISORS
    api.do(
        "sup2",
        iid,
        "Task_highlight_video_escalation",
        {"escalation_channels": ["collab_group"], "escalation_note": "设计部承诺明早交付"},
    )
    api.do(
        "des", iid, "Task_highlight_video", {"highlight_video_design_asset_url": "https://v.mp4"}
    )
    at(clock, scenario_ctx, T15 + timedelta(minutes=1))
    assert who_has(api, EVERYONE, iid, "Task_highlight_video_publish_escalation") == SUPERVISORS
    assert api.task("bob", iid, "Task_highlight_video_publish")["overdue"] is True
    api.do(
        "sup",
        iid,
        "Task_highlight_video_publish_escalation",
        {"publish_escalation_channels": ["collab_group"], "publish_escalation_note": "今晚发布"},
    )
    api.do(
        "bob",
        iid,
        "Task_highlight_video_publish",
        {"highlight_video_publish_status": "published",
         "highlight_video_published_url": "https://b23.example.com/2"},
    )

    # T-3: the design is never delivered — at T-3 the poster is escalated as not published,
    # although its publish step has not even opened
    at(clock, scenario_ctx, COUNTDOWN_START + timedelta(minutes=1))
    at(clock, scenario_ctx, T3 + timedelta(minutes=1))
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster_publish_escalation") == SUPERVISORS
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster_publish") == []
    api.do(
        "sup",
        iid,
        "Task_countdown_poster_publish_escalation",
        {"publish_escalation_channels": ["phone"], "publish_escalation_note": "设计今日交付"},
    )
    # delivered after T-3: the publisher has 4 hours, not a deadline already past
    clock.advance(hours=2)
    api.do(
        "des", iid, "Task_countdown_poster", {"countdown_poster_design_asset_url": "https://c.png"}
    )
    late = api.task("alice", iid, "Task_countdown_poster_publish")
    assert late["due_at"] == (clock.now() + timedelta(hours=4)).isoformat()
    at(clock, scenario_ctx, clock.now() + timedelta(hours=1))
    assert len(api.tasks("sup", iid, "Task_countdown_poster_publish_escalation")) == 0
    api.complete(
        "alice",
        late,
        {"countdown_poster_publish_status": "published",
         "countdown_poster_published_url": "https://weibo.example.com/3"},
    )
    detail = api.instance("sup", iid)
    assert [t["element_id"] for t in detail["timers"]] == ["Event_event_day"]
    assert sorted(t["element_id"] for t in detail["open_tasks"]) == [
        "Task_countdown_poster_escalation",  # its 24 h SLA passed as well
        "Task_guest_list",
        "Task_venue_negotiation",
    ]
