"""The helpers diagram code gets (engine.sandbox.diagram_helpers): dates and date-times read as
department time (Shanghai unless the deployment says otherwise), the clock, and workdays counted
by the calendar."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import (
    SHANGHAI,
    WeekdayCalendar,
    make_helpers,
    parse_date,
    parse_datetime,
)
from engine.sandbox.pool import ScriptPool
from tests.engine.script_helpers import MONDAY_9AM, fixed_clock, pool_fixture  # noqa: F401

TOKYO = ZoneInfo("Asia/Tokyo")


def test_parse_datetime() -> None:
    assert parse_datetime("2025-03-03T09:00:00") == MONDAY_9AM
    assert parse_datetime("2025-03-03T01:00:00Z") == MONDAY_9AM
    assert parse_datetime("2025-03-03T01:00:00+00:00") == MONDAY_9AM
    assert parse_datetime(" 2025-03-03 09:00 ") == MONDAY_9AM
    assert parse_datetime("2025-03-03") == datetime(2025, 3, 3, tzinfo=SHANGHAI)
    assert parse_datetime(date(2025, 3, 3)) == datetime(2025, 3, 3, tzinfo=SHANGHAI)
    assert parse_datetime(datetime(2025, 3, 3, 9)) == MONDAY_9AM
    utc = datetime(2025, 3, 3, 1, tzinfo=UTC)
    assert parse_datetime(utc) is utc
    assert parse_datetime("2025-03-03T09:00").tzinfo is SHANGHAI
    with pytest.raises(ValueError):
        parse_datetime("next tuesday")
    with pytest.raises(ValueError):
        parse_datetime("")
    with pytest.raises(TypeError):
        parse_datetime(20250303)  # type: ignore[arg-type]


def test_parse_date() -> None:
    assert parse_date("2025-03-03") == date(2025, 3, 3)
    assert parse_date("2025-03-03T20:00:00Z") == date(2025, 3, 4)  # Shanghai's date
    assert parse_date("2025-03-03T20:00:00") == date(2025, 3, 3)  # naive: already Shanghai
    assert parse_date(datetime(2025, 3, 3, 20, tzinfo=UTC)) == date(2025, 3, 4)
    assert parse_date(date(2025, 3, 3)) == date(2025, 3, 3)
    with pytest.raises(TypeError):
        parse_date(None)  # type: ignore[arg-type]


def test_clock_helpers() -> None:
    utc_clock = datetime(2025, 3, 2, 20, 0, tzinfo=UTC)  # Monday 04:00 in Shanghai
    helpers = make_helpers(lambda: utc_clock)
    assert helpers["now"]() == utc_clock
    assert helpers["now"]().tzinfo is SHANGHAI
    assert helpers["today"]() == date(2025, 3, 3)
    naive = make_helpers(lambda: datetime(2025, 3, 3))
    with pytest.raises(ValueError, match="naive"):
        naive["now"]()
    assert {"datetime", "date", "timedelta", "timezone", "SHANGHAI"} <= helpers.keys()
    assert helpers["SHANGHAI"] == ZoneInfo("Asia/Shanghai")


def test_workday_helpers_default_to_monday_to_friday() -> None:
    helpers = make_helpers(fixed_clock)
    add, is_workday = helpers["add_workdays"], helpers["is_workday"]
    assert add(date(2025, 3, 7), 1) == date(2025, 3, 10)  # Friday + 1 -> Monday
    assert add("2025-03-08", 1) == date(2025, 3, 10)  # Saturday + 1 -> Monday
    assert add(date(2025, 3, 10), -1) == date(2025, 3, 7)
    assert add(date(2025, 3, 8), 0) == date(2025, 3, 10)
    assert add(MONDAY_9AM, 5) == datetime(2025, 3, 10, 9, tzinfo=SHANGHAI)
    assert add("2025-03-07T01:00:00Z", 1) == datetime(2025, 3, 10, 9, tzinfo=SHANGHAI)
    assert is_workday("2025-03-07") and not is_workday(date(2025, 3, 9))
    with pytest.raises(TypeError):
        add(date(2025, 3, 3), 1.5)


def test_weekday_calendar_matches_day_by_day_counting() -> None:
    calendar = WeekdayCalendar()

    def slow(d: date, n: int) -> date:
        if n == 0:
            while not calendar.is_workday(d):
                d += timedelta(days=1)
            return d
        step = 1 if n > 0 else -1
        for _ in range(abs(n)):
            d += timedelta(days=step)
            while not calendar.is_workday(d):
                d += timedelta(days=step)
        return d

    start = date(2025, 3, 1)
    for offset in range(14):
        for n in range(-23, 24):
            d = start + timedelta(days=offset)
            assert calendar.add_workdays(d, n) == slow(d, n), (d, n)


def test_workday_helpers_delegate_to_the_calendar() -> None:
    class Holidays:
        def __init__(self) -> None:
            self.calls: list[tuple[str, date, int | None]] = []

        def is_workday(self, d: date) -> bool:
            self.calls.append(("is", d, None))
            return d != date(2025, 3, 4)

        def add_workdays(self, d: date, n: int) -> date:
            self.calls.append(("add", d, n))
            return d + timedelta(days=n * 10)

    calendar = Holidays()
    env = RestrictedEnvironment(make_helpers(fixed_clock, calendar))
    assert env.evaluate("is_workday('2025-03-04')", {}) is False
    assert env.evaluate("add_workdays(today(), 2)", {}) == date(2025, 3, 23)
    assert calendar.calls == [("is", date(2025, 3, 4), None), ("add", date(2025, 3, 3), 2)]


@pytest.mark.parametrize("where", ["in-process", "pool"])
def test_a_deployment_elsewhere_reckons_in_its_own_zone(where: str, pool: ScriptPool) -> None:
    # Sunday 15:30 UTC: Monday 00:30 in Tokyo, still Sunday 23:30 in Shanghai
    sunday_night = datetime(2025, 3, 2, 15, 30, tzinfo=UTC)
    env = RestrictedEnvironment(make_helpers(lambda: sunday_night, None, TOKYO),
                                pool=pool if where == "pool" else None)
    assert env.evaluate("today()", {}) == date(2025, 3, 3)
    assert env.evaluate("now()", {}) == sunday_night
    assert env.evaluate("now().utcoffset()", {}) == timedelta(hours=9)
    assert env.evaluate("is_workday(now())", {}) is True
    assert env.evaluate("parse_datetime('2025-03-03T09:00')", {}) == datetime(
        2025, 3, 3, 0, tzinfo=UTC)
    assert env.evaluate("parse_date('2025-03-02T15:30:00Z')", {}) == date(2025, 3, 3)
    assert env.evaluate("add_workdays('2025-03-07T09:00', 1)", {}) == datetime(
        2025, 3, 10, 0, tzinfo=UTC)
    assert env.evaluate("datetime(2025, 3, 3, 9, tzinfo=ZONE).isoformat()", {}) == (
        "2025-03-03T09:00:00+09:00")
    # the default is the department's usual zone
    shanghai = RestrictedEnvironment(make_helpers(lambda: sunday_night))
    assert shanghai.evaluate("today()", {}) == date(2025, 3, 2)
    assert shanghai.evaluate("parse_datetime('2025-03-03T09:00')", {}) == MONDAY_9AM


def test_the_parsers_go_to_the_script_workers_by_reference() -> None:
    # engine.sandbox.remote sends a helper that survives a pickle round trip as itself; any
    # other callable is called back in the engine, a pipe round trip for every date parsed.
    helpers = make_helpers(fixed_clock, None, TOKYO)
    for name in ("parse_datetime", "parse_date"):
        assert pickle.loads(pickle.dumps(helpers[name])) is helpers[name], name
    assert helpers["parse_datetime"]("2025-03-03T09:00").tzinfo is TOKYO
    assert make_helpers(fixed_clock, None, TOKYO)["parse_date"] is helpers["parse_date"]
