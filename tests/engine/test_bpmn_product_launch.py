"""``product_launch`` run end to end on the harness: the communication rhythm counted back from
the event date (compressed when the event is close), design SLAs and publication escalations,
guests, the event day and the wrap-up with its lead handover."""

from __future__ import annotations

from datetime import timedelta

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tests.engine.bpmn_harness import Runner, make_parser
from tests.engine.bpmn_scripts import START, Clock, freeze_clock

DESIGN_TASKS = ("Task_teaser_poster", "Task_highlight_video", "Task_countdown_poster")


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return make_parser()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The harness's clock at START (this module's `clock`, not tests/conftest.py's)."""
    return freeze_clock(monkeypatch)


def launch_start(days_ahead):
    event = (START + timedelta(days=days_ahead)).replace(hour=14, minute=0)
    return {
        "event_name": "2025 新品发布会",
        "theme": "科技赋能,重构未来",
        "event_date": event.strftime("%Y-%m-%dT%H:%M"),
        "venue": "上海国际会议中心",
    }


@pytest.mark.parametrize(
    ("days_ahead", "ready_now"),
    [
        (40, ()),
        (10, DESIGN_TASKS[:2]),
        (2, DESIGN_TASKS),
    ],
)
def test_product_launch_communication_rhythm(parser, clock, days_ahead, ready_now):
    run = Runner(parser, "product_launch", launch_start(days_ahead))
    warnings = run.ready("Task_guest_list")[0].data["start_warnings"]
    assert bool(warnings) == bool(ready_now)  # an event too close warns its starter
    design_ready = sorted(i for i in run.ready_ids() if i in DESIGN_TASKS)
    assert design_ready == sorted(ready_now)
    assert {"Task_venue_negotiation", "Task_guest_list"} <= set(run.ready_ids())


def test_product_launch_end_to_end(parser, clock):
    run = Runner(parser, "product_launch", launch_start(10))  # event 2025-03-13 14:00 +08:00
    # 10 days ahead: T-30 and T-15 production is overdue, so it starts at once, and their
    # publication is compressed to 3 working days after the start; T-3 production starts
    # 3 working days before 2025-03-10 14:00.
    assert sorted(run.ready_ids()) == [
        "Task_guest_list",
        "Task_highlight_video",
        "Task_teaser_poster",
        "Task_venue_negotiation",
    ]
    # the starter is warned which steps are compressed (start_warnings, engine.store)
    data = run.task("Task_guest_list").data
    steps = [s["step"] for s in data["compressed_steps"]]
    assert steps == ["T-30 悬念预热海报", "T-15 亮点揭秘视频"]
    assert data["compressed_steps"][0]["publish_deadline"] == "2025-03-06T09:00:00+08:00"
    [warning] = data["start_warnings"]
    assert warning.startswith("活动距今仅 10 天") and "T-3 倒计时" not in warning
    timers = run.waiting_timers()
    assert timers["Event_t3"] == ["2025-03-05T09:00:00+08:00"]
    assert timers["Event_event_day"] == ["2025-03-13T00:00:00+08:00"]
    assert timers["Event_teaser_poster_deadline"] == ["2025-03-06T09:00:00+08:00"]
    assert set(timers) == {
        "Event_t3",
        "Event_event_day",
        "Event_teaser_poster_sla",
        "Event_teaser_poster_deadline",
        "Event_highlight_video_sla",
        "Event_highlight_video_deadline",
    }

    # the 24h design SLA escalates to the supervisor, without cancelling the design task;
    # a delivered design goes to the specialists for publication
    run.complete("Task_teaser_poster")
    assert "Task_teaser_poster_publish" in run.ready_ids()
    run.tick(hours=25)
    assert run.ready_ids().count("Task_highlight_video_escalation") == 1
    assert "Task_teaser_poster_escalation" not in run.ready_ids()
    escalation = run.task("Task_highlight_video_escalation")
    assert escalation.task_spec.lane == "策划主管"
    run.complete("Task_highlight_video_escalation")
    run.complete("Task_highlight_video")
    run.complete("Task_highlight_video_publish", highlight_video_publish_status="published")

    # guests: one invitation document and one confirmation task per guest; the blogger
    # never answers
    guests = [
        {"guest_name": "王总", "organization": "某客户", "guest_type": "client"},
        {"guest_name": "李记者", "organization": "某媒体", "guest_type": "media"},
        {"guest_name": "科技博主", "organization": "", "guest_type": "kol"},
    ]
    run.complete("Task_guest_list", guests=guests)
    assert run.engine.docs() == ["invitation"] * 3
    confirmations = run.ready("Task_guest_confirmation")
    assert sorted(t.data["guest"]["guest_name"] for t in confirmations) == sorted(
        g["guest_name"] for g in guests
    )
    assert all(t.data["guest"]["invitation_doc"]["doc_type"] == "invitation" for t in confirmations)
    for guest_type, status in (("client", "confirmed"), ("media", "declined")):
        # (the blogger does not answer; tasks are re-read after each step's restore)
        ready = run.ready("Task_guest_confirmation")
        [task] = [t for t in ready if t.data["guest"]["guest_type"] == guest_type]
        run.complete("Task_guest_confirmation", task=task, rsvp_status=status)
    run.complete("Task_venue_negotiation")

    # the teaser is still not published on its (compressed) date: escalated
    run.tick(days=2)  # 2025-03-06 10:00
    assert "Task_teaser_poster_publish_escalation" in run.ready_ids()
    run.complete("Task_teaser_poster_publish_escalation")
    run.complete("Task_teaser_poster_publish", teaser_poster_publish_status="published")

    # T-3 production: the countdown poster is designed but never published
    run.tick(days=1, hours=5)  # 2025-03-07 15:00
    assert "Task_countdown_poster_escalation" in run.ready_ids()  # designed 29 h after opening
    run.complete("Task_countdown_poster_escalation")
    run.complete("Task_countdown_poster")
    assert "Task_countdown_poster_publish" in run.ready_ids()

    # event day: the on-site tasks open although a poster and a guest are still open
    run.tick(days=6)  # 2025-03-13 15:00
    ready = run.ready_ids()
    for task_id in (
        "Task_checkin",
        "Task_emergency",
        "Task_livestream",
        "Task_onsite_command",
        "Task_realtime_comms",
    ):
        assert task_id in ready, task_id
    assert "Task_countdown_poster_publish_escalation" in ready  # T-3 passed unpublished
    assert "Task_guest_confirmation" in ready
    for task_id in (
        "Task_checkin",
        "Task_emergency",
        "Task_livestream",
        "Task_onsite_command",
        "Task_realtime_comms",
    ):
        run.complete(task_id)

    # wrap-up due 3 days after the event date (18:00), else escalation; the summary does not
    # wait for the open preparation
    assert "Task_wrap_up" in run.ready_ids()
    assert run.waiting_timers()["Event_wrap_up_sla"] == ["2025-03-16T18:00:00+08:00"]
    run.tick(days=3, hours=4)  # 2025-03-16 19:00
    assert "Task_wrap_up_escalation" in run.ready_ids()
    run.complete("Task_wrap_up_escalation")
    leads = [
        {"customer_name": "甲公司", "contact": "13800000000", "interest_level": "high"},
        {"customer_name": "乙公司", "contact": "13900000000", "interest_level": "medium"},
    ]
    run.complete("Task_wrap_up", leads=leads)
    assert run.engine.docs() == ["invitation"] * 3 + ["event_summary"]
    handover = [p for op, p, _t in run.engine.calls if op == "handover_leads"]
    assert handover == [{"leads": leads, "event_name": "2025 新品发布会"}]
    sales = run.task("Task_sales_followup")
    assert sales.task_spec.lane == "销售部"
    assert sales.data["lead_handover"]["handed_over"] == 2
    run.complete("Task_sales_followup")
    assert not run.wf.is_completed()  # late preparation is still open, not cancelled

    run.complete("Task_countdown_poster_publish_escalation")
    run.complete(
        "Task_countdown_poster_publish",
        countdown_poster_publish_status="cancelled",
        countdown_poster_publish_note="活动已结束，不再发布",
    )
    run.complete("Task_guest_confirmation", rsvp_status="no_response")
    assert run.ready_ids() == []
    assert run.wf.is_completed()
    run.assert_json_only()
