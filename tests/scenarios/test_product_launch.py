"""活动执行流程（新品发布会） end to end: an event 10 days away, the communication rhythm (design
ahead of each publication date, then 发布), a late design draft escalated to the supervisors,
per-guest confirmations, event day, wrap-up with 《活动总结》 and the leads handed to sales, and the
sales follow-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.store.db import transaction
from engine.store.records_business import LeadRecord
from tests.conftest import START
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has
from tests.scenarios.launch_data import EVERYONE, GUESTS, SPECIALISTS, SUPERVISORS

# START is Monday 2026-03-02 09:00 in Shanghai; the launch is 10 days later at 14:00.
EVENT_DATE = "2026-03-12T14:00"
T_MINUS_3 = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)  # 2026-03-09 14:00 Shanghai
# its poster's production starts 3 working days before: 2026-03-04 09:00 Shanghai
T_MINUS_3_PRODUCTION = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
EVENT_DAY = datetime(2026, 3, 11, 16, 0, tzinfo=UTC)  # 2026-03-12 00:00 Shanghai
WRAP_UP_DUE = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)  # 2026-03-15 18:00 Shanghai
LEADS = [
    {
        "customer_name": "星辰科技",
        "contact_person": "王总",
        "contact": "13800000001",
        "interest_level": "high",
        "lead_note": "想了解批量采购价格",
    },
    {"customer_name": "远山贸易", "contact": "yuanshan@example.com", "interest_level": "medium"},
]


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def test_product_launch_end_to_end(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    assert clock.now() == START
    started = api.start(
        "sup",
        "product_launch",
        {
            "event_name": "2026 新品发布会",
            "theme": "科技赋能,重构未来",
            "event_date": EVENT_DATE,
            "venue": "上海国际会议中心",
        },
    )
    iid = started["id"]
    assert started["title"] == "2026 新品发布会"  # the event's name, not its theme

    # 1. 10 days before the event: the T-30 and T-15 production dates (3 working days before
    #    each publication) are past → both design tasks at once
    assert who_has(api, EVERYONE, iid, "Task_teaser_poster") == ["des"]
    assert who_has(api, EVERYONE, iid, "Task_highlight_video") == ["des"]
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster") == []  # T-3 still ahead
    assert who_has(api, EVERYONE, iid, "Task_venue_negotiation") == SPECIALISTS
    assert who_has(api, EVERYONE, iid, "Task_guest_list") == SPECIALISTS
    teaser = api.task("des", iid, "Task_teaser_poster")
    assert teaser["due_at"] == (START + timedelta(hours=24)).isoformat()  # the 24 h SLA
    api.do(
        "des",
        iid,
        "Task_highlight_video",
        {"highlight_video_design_asset_url": "https://assets.example.com/highlight.mp4"},
    )
    # the delivered design goes to the specialists for publication
    assert who_has(api, EVERYONE, iid, "Task_highlight_video_publish") == SPECIALISTS
    api.do(
        "alice",
        iid,
        "Task_highlight_video_publish",
        {
            "highlight_video_publish_status": "published",
            "highlight_video_published_url": "https://weibo.example.com/highlight",
        },
    )

    # 2. the teaser poster is late: after 25 h the supervisors get a 催办 task; the design
    #    task stays open
    clock.advance(hours=25)
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_teaser_poster_escalation") == SUPERVISORS
    assert who_has(api, EVERYONE, iid, "Task_highlight_video_escalation") == []  # was on time
    assert api.task("des", iid, "Task_teaser_poster")["overdue"] is True
    api.do(
        "sup",
        iid,
        "Task_teaser_poster_escalation",
        {"escalation_channels": ["collab_group", "phone"], "escalation_note": "已在策划协作群催办"},
    )
    api.do(
        "des",
        iid,
        "Task_teaser_poster",
        {
            "teaser_poster_design_asset_url": "https://assets.example.com/teaser.png",
            "teaser_poster_design_note": "延迟 2 小时交付",
        },
    )
    api.do(
        "bob",
        iid,
        "Task_teaser_poster_publish",
        {
            "teaser_poster_publish_status": "published",
            "teaser_poster_published_url": "https://weibo.example.com/teaser",
        },
    )

    # 3. venue and guests: one confirmation task per guest
    api.do(
        "bob",
        iid,
        "Task_venue_negotiation",
        {
            "buildout_plan": "主舞台 + 体验区",
            "equipment_rental": "LED 屏",
            "venue_cost": 80000,
            "venue_confirmed": True,
        },
    )
    api.do(
        "alice",
        iid,
        "Task_guest_list",
        {"guests": GUESTS, "invitation_methods": ["electronic", "paper"]},
    )
    confirmations = api.tasks("alice", iid, "Task_guest_confirmation")
    assert len(confirmations) == 3
    assert who_has(api, EVERYONE, iid, "Task_guest_confirmation") == SPECIALISTS
    # Answered in the order of the guest list (tasks created together have no inbox order).
    guest_of = {
        t["id"]: api.get("bob", f"/tasks/{t['id']}").get_json()["data"]["guest"]["guest_name"]
        for t in confirmations
    }
    order = [g["guest_name"] for g in GUESTS]
    confirmations.sort(key=lambda t: order.index(guest_of[t["id"]]))
    for task, status in zip(confirmations, ["confirmed", "confirmed", "declined"], strict=True):
        api.complete("bob", task, {"rsvp_status": status, "rsvp_note": "电话确认"})
    data = api.instance("sup", iid)["data"]
    assert (data["invited_guest_count"], data["confirmed_guest_count"]) == (3, 2)
    assert sorted(g["guest_name"] for g in data["guest_confirmations"]) == sorted(
        g["guest_name"] for g in GUESTS
    )

    # 4. T-3: the countdown poster's production starts 3 working days before its publication
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster") == []
    clock.set(T_MINUS_3_PRODUCTION + timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_countdown_poster") == ["des"]
    api.do(
        "des",
        iid,
        "Task_countdown_poster",
        {"countdown_poster_design_asset_url": "https://assets.example.com/countdown.png"},
    )
    publish = api.task("alice", iid, "Task_countdown_poster_publish")
    assert publish["due_at"] == T_MINUS_3.isoformat()  # published on T-3
    api.complete(
        "alice",
        publish,
        {
            "countdown_poster_publish_status": "published",
            "countdown_poster_published_url": "https://weibo.example.com/countdown",
        },
    )
    assert api.instance("sup", iid)["open_tasks"] == []  # waiting for the event day

    # 5. event day: on-site command and the groups
    clock.set(EVENT_DAY + timedelta(minutes=1))
    fire_timers(scenario_ctx)
    assert who_has(api, EVERYONE, iid, "Task_onsite_command") == SUPERVISORS
    for element in ("Task_checkin", "Task_livestream", "Task_emergency", "Task_realtime_comms"):
        assert who_has(api, EVERYONE, iid, element) == SPECIALISTS, element
    api.do("sup", iid, "Task_onsite_command", {"run_of_show": "嘉宾致辞→产品演示→签约仪式"})
    api.do("alice", iid, "Task_checkin", {"checked_in_count": 180})
    api.do("alice", iid, "Task_livestream", {"live_platforms": ["bilibili"], "live_viewers": 52000})
    api.do("bob", iid, "Task_emergency", {"incident_level": "none"})
    api.do(
        "bob",
        iid,
        "Task_realtime_comms",
        {"posts_published": 12, "online_interactions": 3400, "hashtag": "#科技赋能#"},
    )

    # 6. wrap-up (due 3 days after the event date) → 《活动总结》 → leads to sales → follow-up
    wrap = api.task("alice", iid, "Task_wrap_up")
    assert who_has(api, EVERYONE, iid, "Task_wrap_up") == SPECIALISTS
    assert wrap["due_at"] == WRAP_UP_DUE.isoformat()
    done = api.complete(
        "alice",
        wrap,
        {
            "media_archive_url": "https://pan.example.com/launch-2026",
            "total_exposure": 1250000,
            "total_interactions": 48000,
            "guest_feedback": "嘉宾对产品演示评价很高",
            "leads": LEADS,
        },
    )
    handover = done["data"]["lead_handover"]
    assert handover["handed_over"] == 2 and handover["assigned_group"] == "sales"
    assert who_has(api, EVERYONE, iid, "Task_sales_followup") == ["sales1"]
    with transaction(scenario_ctx.sessions) as session:
        leads = session.scalars(select(LeadRecord).order_by(LeadRecord.id)).all()
        assert [lead.id for lead in leads] == handover["lead_ids"]
        assert [(lead.customer_name, lead.status, lead.instance_id) for lead in leads] == [
            ("星辰科技", "handed_over", iid),
            ("远山贸易", "handed_over", iid),
        ]
        assert leads[0].event_name == "2026 新品发布会"
    finished = api.do(
        "sales1",
        iid,
        "Task_sales_followup",
        {
            "sales_owner": "sales1",
            "followup_plan": "三天内电话回访高意向客户",
            "first_contact_date": "2026-03-16",
        },
    )
    assert finished["status"] == "completed"

    docs = finished["documents"]
    # one 《邀请函》 per guest (in the order of the guest list), then the summary
    assert [d["title"] for d in docs] == [
        "《邀请函》— 2026 新品发布会（李记者）",
        "《邀请函》— 2026 新品发布会（王总）",
        "《邀请函》— 2026 新品发布会（科技博主小周）",
        "《活动总结》— 2026 新品发布会",
    ]
    text = api.check_downloads("sup", iid, docs[-1])
    for expected in (
        "| 活动时间 | 2026-03-12 14:00 |",
        "| 总曝光量 | 1,250,000 |",
        "| T-30 悬念预热海报 | https://assets.example.com/teaser.png | 延迟 2 小时交付 | 已发布 "
        "| https://weibo.example.com/teaser |",
        "确认出席：2 位；现场签到：180 人",
        "| 李记者 | 科技日报 | 媒体 |",
        "嘉宾对产品演示评价很高",
        "| 1 | 星辰科技 | 王总 | 13800000001 | 高 | 想了解批量采购价格 |",
    ):
        assert expected in text, expected
    audit = api.instance("sup", iid)["audit"]
    notes = [a["details"].get("note") for a in audit if a["action"] == "handler_note"]
    assert "已将 2 条意向客户线索移交销售部（2026 新品发布会）" in notes
    # the sales user took part, so the summary is theirs to read too
    assert api.download("sales1", iid, docs[-1]["id"], "docx").status_code == 200
