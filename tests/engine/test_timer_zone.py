"""A time without an offset in a timer's value is department time (`PLANFLOW_TIMEZONE`), as every
time people type is (`engine.wall_clock.as_aware`): SpiffWorkflow alone reads it in the server's
own zone, so on a UTC server a launch's 09:00 reminder came at 17:00 in Shanghai. The raw value of
a date-and-time field, the same through `parse_datetime`, and a cycle starting then all wait for
the same instant, and fire then (not before) after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from sqlalchemy import select

from engine.bpmn.timer_values import with_zone
from engine.clock import FixedClock
from engine.context import build_context, renewed
from engine.store.db import transaction
from engine.store.migrate import upgrade
from engine.store.tables import HumanTaskRow, TimerRow
from engine.timing.timers import process_due
from engine.usecases import instances
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import FIXTURES, START, make_settings, make_staff

TOKYO = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
SHANGHAI = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.fixture(params=[("Asia/Shanghai", SHANGHAI), ("Asia/Tokyo", TOKYO)],
                ids=["shanghai", "tokyo"])
def zoned(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    zone, nine_am = request.param
    url = f"sqlite:///{tmp_path / 'zone.sqlite3'}"
    context = build_context(make_settings(url, tmp_path, timezone=zone), clock=FixedClock(START))
    upgrade(context.db)
    yield context, nine_am
    context.close(workers=False)


def _timers(ctx: Any, instance_id: int) -> dict[str, datetime]:
    with transaction(ctx.sessions) as s:
        return {r.element_id: r.due_at for r in s.scalars(
            select(TimerRow).where(TimerRow.instance_id == instance_id))}


def _open(ctx: Any, instance_id: int) -> list[str]:
    with transaction(ctx.sessions) as s:
        return sorted(s.scalars(select(HumanTaskRow.element_id).where(
            HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open")))


def _started(ctx: Any) -> int:
    """timer_zone deployed and started with what a date-and-time field gives: wall-clock time,
    no offset."""
    staff = make_staff(ctx)
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([FIXTURES / "models_extra" / "timer_zone.bpmn"]),
               "owner")
        return instances.start(ctx, s, staff["sup"], "timer_zone",
                               {"event_at": "2027-03-01T09:00"}).id


def test_a_timer_time_without_an_offset_is_department_time(zoned: Any) -> None:
    ctx, nine_am = zoned
    instance_id = _started(ctx)
    assert _timers(ctx, instance_id) == {
        "t_raw": nine_am, "t_parsed": nine_am, "every_day": nine_am,
    }

    # A restart before the time: nothing fires a minute early...
    ctx.clock.set(nine_am - timedelta(minutes=1))
    assert process_due(renewed(ctx)).fired == 0
    assert _open(ctx, instance_id) == ["monitor"]
    # ...and at the time, all three do.
    ctx.clock.set(nine_am)
    process_due(renewed(ctx))
    assert _open(ctx, instance_id) == ["daily", "monitor", "parsed_due", "raw_due"]
    assert _timers(ctx, instance_id) == {"every_day": nine_am + timedelta(days=1)}


def test_a_waiting_timer_keeps_its_instant_when_the_zone_setting_changes(tmp_path: Path) -> None:
    """The value is stored with its offset: a restart with another PLANFLOW_TIMEZONE (the
    department moved its servers' settings) does not move a timer that is already waiting."""
    url = f"sqlite:///{tmp_path / 'moved.sqlite3'}"
    shanghai = build_context(make_settings(url, tmp_path, timezone="Asia/Shanghai"),
                             clock=FixedClock(START))
    upgrade(shanghai.db)
    instance_id = _started(shanghai)
    shanghai.close(workers=False)
    clock = FixedClock(SHANGHAI - timedelta(minutes=1))
    tokyo = build_context(make_settings(url, tmp_path, timezone="Asia/Tokyo"), clock=clock)
    try:
        assert process_due(tokyo).fired == 0  # 09:00 Tokyo has passed; Shanghai's has not
        assert _open(tokyo, instance_id) == ["monitor"]
        clock.set(SHANGHAI)
        process_due(tokyo)
        assert _open(tokyo, instance_id) == ["daily", "monitor", "parsed_due", "raw_due"]
    finally:
        tokyo.close(workers=False)


@pytest.mark.parametrize(("definition", "value", "expected"), [
    (TimeDateEventDefinition("t", "x"), "2027-03-01T09:00", "2027-03-01T09:00:00+09:00"),
    (TimeDateEventDefinition("t", "x"), "2027-03-01", "2027-03-01T00:00:00+09:00"),
    (TimeDateEventDefinition("t", "x"), " 2027-03-01T09:00 ", "2027-03-01T09:00:00+09:00"),
    (TimeDateEventDefinition("t", "x"), "2027-W09-1T09:00", "2027-03-01T09:00:00+09:00"),
    # an offset, a duration or text that is no time: as it is (the value check judges it)
    (TimeDateEventDefinition("t", "x"), "2027-03-01T09:00+08:00", "2027-03-01T09:00+08:00"),
    (TimeDateEventDefinition("t", "x"), "2027-03-01T01:00Z", "2027-03-01T01:00Z"),
    (TimeDateEventDefinition("t", "x"), "P3D", "P3D"),
    (TimeDateEventDefinition("t", "x"), "next week", "next week"),
    (DurationTimerEventDefinition("t", "x"), "PT2H", "PT2H"),
    (CycleTimerEventDefinition("t", "x"), "R2/2027-03-01T09:00/P1D",
     "R2/2027-03-01T09:00:00+09:00/P1D"),
    (CycleTimerEventDefinition("t", "x"), "R/P1D/2027-03-31", "R/P1D/2027-03-31T00:00:00+09:00"),
    (CycleTimerEventDefinition("t", "x"), "R--P7D", "R--P7D"),
    (CycleTimerEventDefinition("t", "x"), "R3/P7D", "R3/P7D"),
])
def test_with_zone(definition: Any, value: str, expected: str) -> None:
    from zoneinfo import ZoneInfo

    assert with_zone(definition, value, ZoneInfo("Asia/Tokyo")) == expected


def test_the_suite_runs_where_the_server_zone_would_show() -> None:
    # tests/__init__.py: were the OS zone the department's (or UTC, like the CI machine's),
    # the first test above would pass with the server's zone leaking into the timers.
    import os

    from SpiffWorkflow.bpmn.specs.event_definitions.timer import LOCALTZ

    assert os.environ["TZ"] == os.environ.get("PLANFLOW_TEST_OS_TZ", "America/Los_Angeles")
    if "PLANFLOW_TEST_OS_TZ" not in os.environ:
        assert LOCALTZ.utcoffset(None) in (timedelta(hours=-8), timedelta(hours=-7))
