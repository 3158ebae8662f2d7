"""《活动总结》 is due 3 days after the event date (issue 15, 活动执行: 收尾阶段（活动后3天内）),
not 3 days after the on-site tasks end: on-site reports completed two days late leave the
wrap-up one day, and the supervisors' 催办 comes on the event date's third day at 18:00 all the
same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has
from tests.scenarios.launch_data import EVERYONE, SPECIALISTS, SUPERVISORS

EVENT_DATE = "2026-03-12T14:00"  # START is Monday 2026-03-02 09:00 Shanghai
EVENT_DAY = datetime(2026, 3, 11, 16, 0, tzinfo=UTC)  # 2026-03-12 00:00 Shanghai
WRAP_UP_DUE = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)  # 2026-03-15 18:00 Shanghai


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def test_the_summary_is_due_three_days_after_the_event_date(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    iid = api.start(
        "sup",
        "product_launch",
        {"event_name": "收尾期限发布会", "theme": "主题", "event_date": EVENT_DATE,
         "venue": "上海"},
    )["id"]
    clock.set(EVENT_DAY + timedelta(minutes=1))
    fire_timers(scenario_ctx)

    # the groups file their on-site reports two days after the event
    clock.set(datetime(2026, 3, 14, 2, 0, tzinfo=UTC))  # 2026-03-14 10:00 Shanghai
    api.do("sup", iid, "Task_onsite_command", {"run_of_show": "嘉宾致辞→产品演示→签约仪式"})
    api.do("alice", iid, "Task_checkin", {"checked_in_count": 90})
    api.do("alice", iid, "Task_livestream", {"live_platforms": ["other"], "live_viewers": 10})
    api.do("bob", iid, "Task_emergency", {"incident_level": "none"})
    api.do("bob", iid, "Task_realtime_comms", {"posts_published": 3, "online_interactions": 9})

    # wrap-up opens now, but it is due on the event date + 3 days, 18:00 — not now + 3 days
    assert who_has(api, EVERYONE, iid, "Task_wrap_up") == SPECIALISTS
    wrap = api.task("alice", iid, "Task_wrap_up")
    assert wrap["due_at"] == WRAP_UP_DUE.isoformat()
    timers = {t["element_id"]: t["due_at"] for t in api.instance("sup", iid)["timers"]}
    assert timers["Event_wrap_up_sla"] == WRAP_UP_DUE.isoformat()

    clock.set(WRAP_UP_DUE - timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_wrap_up_escalation") == []
    clock.set(WRAP_UP_DUE + timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_wrap_up_escalation") == SUPERVISORS
    assert api.task("alice", iid, "Task_wrap_up")["overdue"] is True
    api.do("sup", iid, "Task_wrap_up_escalation", {"wrap_up_delay_reason": "素材未齐，已催办"})
    done = api.complete(
        "alice",
        wrap,
        {
            "media_archive_url": "https://pan.example.com/x",
            "total_exposure": 1,
            "total_interactions": 1,
            "guest_feedback": "好",
            "leads": [],
        },
    )
    assert [d["doc_type"] for d in done["documents"]] == ["event_summary"]
