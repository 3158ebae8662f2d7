"""The event happens on its date (issue 15, 活动执行): with the T-3 poster still undelivered and
one guest unanswered, the on-site tasks open on the event day anyway. The late preparation is
overdue and escalated — the poster's 24 h SLA and then its publication date (T-3) give the
supervisors 催办 tasks, the unanswered guest is past the day-before deadline and the automatic
reminder reaches the manager — but blocks nothing: wrap-up, 《活动总结》 (with what the
preparation branches did get done), the hand-over to sales. The instance ends when the late
preparation is closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.store.db import transaction
from engine.timing.reminders import send_due_reminders
from tests.conftest import START
from tests.scenarios import (
    Api,
    add_extra_staff,
    deploy_department_models,
    fire_timers,
    renewed_if_cold,
    who_has,
)
from tests.scenarios.launch_data import EVERYONE, GUESTS, SPECIALISTS, SUPERVISORS

EVENT_DATE = "2026-03-12T14:00"  # START is Monday 2026-03-02 09:00 Shanghai
COUNTDOWN_PRODUCTION = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # 3 working days before T-3
T_MINUS_3 = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)  # 2026-03-09 14:00 Shanghai
DAY_BEFORE_18H = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)  # 2026-03-11 18:00 Shanghai
EVENT_DAY = datetime(2026, 3, 11, 16, 0, tzinfo=UTC)  # 2026-03-12 00:00 Shanghai
ONSITE = ("Task_checkin", "Task_livestream", "Task_emergency", "Task_realtime_comms")


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def remind_overdue(ctx: EngineContext) -> int:
    """The scheduler's automatic reminders (催办) for tasks that just became overdue."""
    ctx = renewed_if_cold(ctx)
    with transaction(ctx.sessions) as session:
        return send_due_reminders(ctx, session, ctx.clock.now())


def prepare_all_but_the_countdown_and_one_guest(api: Api, iid: int) -> dict[str, Any]:
    """Designs delivered and published, venue settled, guests invited; returns the unanswered
    guest's task."""
    api.do("des", iid, "Task_teaser_poster", {"teaser_poster_design_asset_url": "https://t.png"})
    api.do(
        "des", iid, "Task_highlight_video", {"highlight_video_design_asset_url": "https://h.mp4"}
    )
    for asset in ("teaser_poster", "highlight_video"):
        api.do(
            "alice",
            iid,
            f"Task_{asset}_publish",
            {f"{asset}_publish_status": "published", f"{asset}_published_url": "https://w"},
        )
    api.do(
        "bob",
        iid,
        "Task_venue_negotiation",
        {"buildout_plan": "主舞台", "venue_cost": 80000, "venue_confirmed": True},
    )
    api.do("alice", iid, "Task_guest_list", {"guests": GUESTS, "invitation_methods": ["paper"]})
    by_guest = {
        api.get("bob", f"/tasks/{t['id']}").get_json()["data"]["guest"]["guest_name"]: t
        for t in api.tasks("bob", iid, "Task_guest_confirmation")
    }
    api.complete("bob", by_guest["李记者"], {"rsvp_status": "confirmed"})
    api.complete("bob", by_guest["科技博主小周"], {"rsvp_status": "declined"})
    return by_guest["王总"]


def test_the_event_day_does_not_wait_for_late_preparation(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    assert clock.now() == START
    started = api.start(
        "sup",
        "product_launch",
        {"event_name": "延期筹备发布会", "theme": "主题", "event_date": EVENT_DATE,
         "venue": "上海"},
    )
    iid = started["id"]
    # the event day waits from the start, beside the preparation
    assert "Event_event_day" in {t["element_id"] for t in started["timers"]}
    unanswered = prepare_all_but_the_countdown_and_one_guest(api, iid)
    assert unanswered["due_at"] == DAY_BEFORE_18H.isoformat()  # confirmations: the day before

    # the countdown poster's production starts and it is never delivered: its 24 h SLA, then
    # its publication date (T-3) escalate
    clock.set(COUNTDOWN_PRODUCTION + timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster") == ["des"]
    clock.advance(hours=25)
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster_escalation") == SUPERVISORS
    clock.set(T_MINUS_3 + timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster_publish_escalation") == SUPERVISORS

    # the day before, 18:00: the unanswered guest is overdue; the reminder reaches the manager
    clock.set(DAY_BEFORE_18H + timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert remind_overdue(scenario_ctx) >= 1
    overdue = api.get("mgr", "/notifications").get_json()["items"]
    assert any(
        n["event"] == "task_overdue" and n["task_id"] == unanswered["id"] for n in overdue
    ), overdue
    assert api.task("bob", iid, "Task_guest_confirmation")["overdue"] is True
    assert who_has(api, EVERYONE, iid, "Task_onsite_command") == []  # not before the day

    # the event day: every on-site task opens although the poster and the guest are still open
    clock.set(EVENT_DAY + timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_onsite_command") == SUPERVISORS
    for element in ONSITE:
        assert who_has(api, EVERYONE, iid, element) == SPECIALISTS, element
    assert api.task("des", iid, "Task_countdown_poster")["overdue"] is True
    assert api.task("bob", iid, "Task_guest_confirmation")["overdue"] is True

    api.do("sup", iid, "Task_onsite_command", {"run_of_show": "嘉宾致辞→产品演示→签约仪式"})
    api.do("alice", iid, "Task_checkin", {"checked_in_count": 120})
    api.do("alice", iid, "Task_livestream", {"live_platforms": ["douyin"], "live_viewers": 9000})
    api.do("bob", iid, "Task_emergency", {"incident_level": "none"})
    api.do("bob", iid, "Task_realtime_comms", {"posts_published": 6, "online_interactions": 800})

    # wrap-up and 《活动总结》 do not wait either; the summary shows what preparation did get
    # done (its branches have not joined the event-day branch)
    wrapped = api.do(
        "alice",
        iid,
        "Task_wrap_up",
        {
            "media_archive_url": "https://pan.example.com/late",
            "total_exposure": 5000,
            "total_interactions": 300,
            "guest_feedback": "现场反馈良好",
            "leads": [{"customer_name": "星辰科技", "contact": "138", "interest_level": "high"}],
        },
    )
    assert wrapped["data"]["lead_handover"]["handed_over"] == 1
    [summary] = [d for d in wrapped["documents"] if d["doc_type"] == "event_summary"]
    text = api.check_downloads("sup", iid, summary)
    for expected in (
        "| T-30 悬念预热海报 | https://t.png | — | 已发布 | https://w |",
        "| T-15 亮点揭秘视频 | https://h.mp4 | — | 已发布 | https://w |",
        "| T-3 倒计时海报 | — | — | 未发布 | — |",
        "| 场地费用 | ¥80,000 |",
        "现场签到：120 人",
        "嘉宾出席确认尚未全部完成",
        "| 王总 | 星辰科技 | 客户 | — |",
        "邀请嘉宾：3 位；确认出席：1 位",
    ):
        assert expected in text, (expected, text)
    done = api.do(
        "sales1",
        iid,
        "Task_sales_followup",
        {"sales_owner": "sales1", "followup_plan": "回访", "first_contact_date": "2026-03-16"},
    )
    # the late preparation is still open: the instance runs on until it is closed
    assert done["status"] == "running"
    assert sorted(t["element_id"] for t in done["open_tasks"]) == [
        "Task_countdown_poster",
        "Task_countdown_poster_escalation",
        "Task_countdown_poster_publish_escalation",
        "Task_guest_confirmation",
    ]
    api.do("sup", iid, "Task_countdown_poster_escalation",
           {"escalation_channels": ["phone"], "escalation_note": "活动已结束，补交归档"})
    api.do("sup", iid, "Task_countdown_poster_publish_escalation",
           {"publish_escalation_channels": ["phone"], "publish_escalation_note": "不再发布"})
    api.do("des", iid, "Task_countdown_poster",
           {"countdown_poster_design_asset_url": "https://c.png"})
    api.do("alice", iid, "Task_countdown_poster_publish",
           {"countdown_poster_publish_status": "cancelled",
            "countdown_poster_publish_note": "活动已结束，不再发布"})
    finished = api.complete("bob", unanswered, {"rsvp_status": "no_response"})
    assert finished["status"] == "completed", (finished["open_tasks"], finished["timers"])
    assert (finished["data"]["invited_guest_count"], finished["data"]["confirmed_guest_count"]) == (
        3,
        1,
    )
