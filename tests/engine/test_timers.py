"""Timers and background work: restarts without catch-up storms, date-relative timers that
follow their date, working-day due dates, reminders and the scheduler lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.clock import FixedClock
from engine.store.db import transaction
from engine.store.tables import (
    AuditRecord,
    HumanTaskRow,
    InstanceRecord,
    SchedulerLeaseRecord,
    TimerRow,
)
from engine.timing.reminders import send_due_reminders
from engine.timing.scheduler import TimerService
from engine.timing.timers import process_due
from engine.usecases import instances
from tests.conftest import FIXTURES, START

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def timer_ctx(ctx, staff):
    from engine.usecases.deploy import deploy, uploads_from_paths

    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([FIXTURES / "models_extra" / "timers_demo.bpmn"]),
               "owner")
    return ctx


def start(ctx, staff, event_date: datetime) -> int:
    with transaction(ctx.sessions) as s:
        record = instances.start(ctx, s, staff["sup"], "timers_demo",
                                 {"event_date": event_date.isoformat()})
        return record.id


def timers(ctx, instance_id):
    with transaction(ctx.sessions) as s:
        rows = s.scalars(select(TimerRow).where(TimerRow.instance_id == instance_id)
                         .order_by(TimerRow.element_id)).all()
        return {r.element_id: r.due_at for r in rows}


def open_elements(ctx, instance_id):
    with transaction(ctx.sessions) as s:
        return sorted(r.element_id for r in s.scalars(select(HumanTaskRow).where(
            HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open")))


def fired(ctx, instance_id):
    with transaction(ctx.sessions) as s:
        return [(a.element_id, a.details["late_seconds"]) for a in s.scalars(
            select(AuditRecord).where(AuditRecord.instance_id == instance_id,
                                      AuditRecord.action == "timer_fired")
            .order_by(AuditRecord.id))]


def test_every_waiting_timer_is_in_the_timer_table(timer_ctx, staff, clock):
    iid = start(timer_ctx, staff, START + timedelta(days=10))
    assert timers(timer_ctx, iid) == {
        "cool": START + timedelta(hours=2),
        "every_week": START + timedelta(days=7),
        "t_minus_3": START + timedelta(days=7),
    }


def test_restart_after_downtime_fires_each_timer_once_then_cycle_resumes(timer_ctx, staff, clock):
    iid = start(timer_ctx, staff, START + timedelta(days=10))
    # The worker was down for three weeks and three days.
    clock.set(START + timedelta(days=24))
    report = process_due(timer_ctx)
    assert report.woken == [iid]
    assert process_due(timer_ctx).fired == 0  # nothing due twice
    assert sorted(e for e, _ in fired(timer_ctx, iid)) == ["cool", "every_week", "t_minus_3"]
    late = dict(fired(timer_ctx, iid))
    assert late["t_minus_3"] == pytest.approx(17 * 86400)
    # One weekly report for the missed weeks, not three.
    assert open_elements(timer_ctx, iid) == ["monitor", "poster", "weekly"]
    # The cycle keeps its grid: next firing on day 28, then day 35.
    assert timers(timer_ctx, iid)["every_week"] == START + timedelta(days=28)
    clock.set(START + timedelta(days=28, seconds=1))
    assert process_due(timer_ctx).woken == [iid]
    assert open_elements(timer_ctx, iid) == ["monitor", "poster", "weekly", "weekly"]
    assert timers(timer_ctx, iid)["every_week"] == START + timedelta(days=35)


def test_moving_the_event_date_moves_the_waiting_timer(timer_ctx, staff, clock):
    iid = start(timer_ctx, staff, START + timedelta(days=30))
    assert timers(timer_ctx, iid)["t_minus_3"] == START + timedelta(days=27)
    with transaction(timer_ctx.sessions) as s:
        instances.update_data(timer_ctx, s, staff["sup"], iid,
                              {"event_date": (START + timedelta(days=45)).isoformat()})
    with transaction(timer_ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert record.status == "running", record.status
    assert timers(timer_ctx, iid)["t_minus_3"] == START + timedelta(days=42)
    with transaction(timer_ctx.sessions) as s:
        moves = s.scalars(select(AuditRecord).where(
            AuditRecord.instance_id == iid, AuditRecord.action == "timer_rescheduled")).all()
        assert len(moves) == 1 and moves[0].element_id == "t_minus_3"
    assert "poster" not in open_elements(timer_ctx, iid)
    # Moved so close that T-3 is already past: it fires at once.
    with transaction(timer_ctx.sessions) as s:
        instances.update_data(timer_ctx, s, staff["sup"], iid,
                              {"event_date": (START + timedelta(days=1)).isoformat()})
    assert "t_minus_3" not in timers(timer_ctx, iid)
    assert "poster" in open_elements(timer_ctx, iid)
    # The cycle timer and the duration are not moved by a date change.
    assert timers(timer_ctx, iid)["every_week"] == START + timedelta(days=7)
    assert timers(timer_ctx, iid)["cool"] == START + timedelta(hours=2)


def test_event_already_close_fires_overdue_steps_at_start(timer_ctx, staff):
    iid = start(timer_ctx, staff, START + timedelta(days=2))
    assert "poster" in open_elements(timer_ctx, iid)


def test_changing_data_is_for_initiator_or_managers(timer_ctx, staff):
    from engine.errors import NotFound

    iid = start(timer_ctx, staff, START + timedelta(days=30))
    # alice has no part in the instance: to her it does not exist
    with transaction(timer_ctx.sessions) as s, pytest.raises(NotFound):
        instances.update_data(timer_ctx, s, staff["alice"], iid, {"event_date": "2030-01-01"})


def test_working_day_due_date_and_reminder(timer_ctx, staff, clock):
    # Friday 26 Sep 2025, 10:00 in Shanghai: Sunday the 28th is a 调休 working day, then the
    # National Day holiday (1-8 Oct) follows. Three working days: Sun 28, Mon 29, Tue 30.
    clock.set(datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI))
    iid = start(timer_ctx, staff, datetime(2025, 10, 20, tzinfo=SHANGHAI))
    with transaction(timer_ctx.sessions) as s:
        monitor = s.scalars(select(HumanTaskRow).where(
            HumanTaskRow.instance_id == iid, HumanTaskRow.element_id == "monitor")).one()
        assert monitor.due_at == datetime(2025, 9, 30, 18, 0, tzinfo=SHANGHAI)
    clock.set(datetime(2025, 9, 30, 18, 1, tzinfo=SHANGHAI))
    with transaction(timer_ctx.sessions) as s:
        assert send_due_reminders(timer_ctx, s, clock.now()) == 1
    with transaction(timer_ctx.sessions) as s:
        assert send_due_reminders(timer_ctx, s, clock.now()) == 0  # once only
        reminder = s.scalars(select(AuditRecord).where(
            AuditRecord.instance_id == iid, AuditRecord.action == "reminder")).one()
        assert reminder.element_id == "monitor"


def test_scheduler_lease_elects_one_and_is_taken_over_when_stale(timer_ctx, clock):
    a, b = TimerService(timer_ctx, lease_seconds=10), TimerService(timer_ctx, lease_seconds=10)
    if timer_ctx.db.dialect.name == "postgresql":
        # No lease there: every worker polls (their batches claim rows with SKIP LOCKED).
        assert a.acquire_lease() and b.acquire_lease()
        with transaction(timer_ctx.sessions) as s:
            assert s.scalar(select(func.count()).select_from(SchedulerLeaseRecord)) == 0
        return
    assert a.acquire_lease() and not b.acquire_lease()
    assert a.acquire_lease()  # renewing
    clock.advance(seconds=11)  # a stopped renewing (crashed)
    assert b.acquire_lease() and not a.acquire_lease()
    b.release_lease()
    assert a.acquire_lease()


def test_poll_fires_due_timers_and_sends_reminders(timer_ctx, staff, clock):
    iid = start(timer_ctx, staff, START + timedelta(days=2))
    service = TimerService(timer_ctx)
    clock.set(START + timedelta(hours=30))
    service.poll()
    with transaction(timer_ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert record.data.get("cooled") is True
        actions = [a.action for a in s.scalars(select(AuditRecord).where(
            AuditRecord.instance_id == iid))]
        assert "reminder" in actions  # the poster (due in 24 h) is overdue
    service.release_lease()


def test_clock_times_are_utc_aware(timer_ctx, staff):
    iid = start(timer_ctx, staff, START + timedelta(days=10))
    assert all(v.tzinfo is not None and v.utcoffset() == timedelta(0)
               for v in timers(timer_ctx, iid).values())
    assert FixedClock(datetime(2026, 1, 1, tzinfo=UTC)).now().tzinfo is UTC


def _due_model() -> bytes:
    """A timer whose date is the instance's ``due``, then a step to see it passed."""
    return b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_due"
    targetNamespace="http://planflow.test">
  <bpmn:process id="due_timer" name="due_timer" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="wait"><bpmn:incoming>f</bpmn:incoming>
      <bpmn:outgoing>g</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>due</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>g</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="g" sourceRef="wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("due", [
    "0001-01-01T00:00:00+08:00",  # year 0 in UTC: no column holds it
    "9999-12-31T23:59:59-08:00",  # year 10000 in UTC
    "1899-12-31T09:00:00+08:00",
    "P1D",  # a duration where a date belongs
    "next week",
    5,
])
def test_a_timer_value_that_is_no_usable_time_is_an_incident_at_the_timer(ctx, staff, due):
    """SpiffWorkflow reads a timer's value after the expression ran, outside its own error
    handling: each of these raised a bare ValueError/TypeError/OverflowError out of the start
    (a 500). Now the instance stops at the timer with an incident naming it, and a good value
    still waits."""
    from engine.read.queries import get_instance
    from engine.usecases.deploy import Upload, deploy

    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("due_timer.bpmn", _due_model())], "owner")
    with transaction(ctx.sessions) as s:
        record = instances.start(ctx, s, staff["sup"], "due_timer", {"due": due})
        iid = record.id
    with transaction(ctx.sessions) as s:
        detail = get_instance(ctx, s, staff["sup"], iid)
    assert detail["status"] == "error", detail["status"]
    [incident] = detail["incidents"]
    assert incident["element_id"] == "wait"
    assert "计时器" in incident["message"], incident["message"]
    assert timers(ctx, iid) == {}
    # a good value still waits
    with transaction(ctx.sessions) as s:
        good = instances.start(ctx, s, staff["sup"], "due_timer",
                               {"due": (START + timedelta(days=3)).isoformat()}).id
    assert timers(ctx, good) == {"wait": START + timedelta(days=3)}


@pytest.mark.parametrize("value", [
    "0001-01-10T00:00:00+08:00",  # year 0 in UTC: no column holds it
    "0000-00-00",
    "9999-12-31T23:59:59+14:00",
    "2027-13-01T10:00",
    None,
    12,
])
def test_a_date_change_the_waiting_timer_cannot_use_is_refused_and_writes_nothing(
        timer_ctx, staff, value):
    """Moving the launch to a value its T-3 timer cannot use used to be applied, leaving the
    instance in error at the timer. Bad input now writes nothing: a refusal naming the field,
    the instance still running with its timers where they were and no audit entry."""
    from engine.errors import InvalidInput

    iid = start(timer_ctx, staff, START + timedelta(days=30))
    before = timers(timer_ctx, iid)
    with transaction(timer_ctx.sessions) as s:
        audits = s.scalar(select(func.count()).select_from(AuditRecord))
    with transaction(timer_ctx.sessions) as s, pytest.raises(InvalidInput) as refused:
        instances.update_data(timer_ctx, s, staff["sup"], iid, {"event_date": value})
    assert refused.value.details["field"] == "data.event_date"
    assert refused.value.details["element_id"] == "t_minus_3"
    assert "data.event_date" in refused.value.message and "计时器" in refused.value.message
    with transaction(timer_ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert record.status == "running", record.status
        assert record.data["event_date"] == (START + timedelta(days=30)).isoformat()
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == audits
    assert timers(timer_ctx, iid) == before
