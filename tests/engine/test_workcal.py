"""Tests for engine.workcal and engine.workcal_data — the working-day calendar (工作日历)."""

from __future__ import annotations

import importlib.util
import json
import random
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from engine.workcal import CalendarDay, WorkCalendar
from engine.workcal_data import (
    calendar_from_rows,
    default_rows,
    default_year_status,
    load_default_calendar,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "engine" / "data"
CST = timezone(timedelta(hours=8), "CST")


@pytest.fixture
def cal() -> WorkCalendar:
    return load_default_calendar()


def _load_generator() -> ModuleType:
    pytest.importorskip("chinese_calendar")
    spec = importlib.util.spec_from_file_location(
        "make_cn_workdays", DATA_DIR / "make_cn_workdays.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _reference_add(calendar: WorkCalendar, d: date, n: int) -> date:
    """Day-by-day reference for add_workdays on dates."""
    if n == 0:
        while not calendar.is_workday(d):
            d += timedelta(days=1)
        return d
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        d += step
        if calendar.is_workday(d):
            remaining -= 1
    return d


# -- shipped data ---------------------------------------------------------------------------------


def test_year_status_of_shipped_data() -> None:
    assert default_year_status() == {2025: "official", 2026: "official", 2027: "provisional"}


def test_shipped_json_is_what_the_generator_produces() -> None:
    gen = _load_generator()
    shipped = json.loads((DATA_DIR / "cn_workdays.json").read_text(encoding="utf-8"))
    assert shipped == gen.build_payload()


def test_make_up_workdays_are_weekends_and_never_holidays(cal: WorkCalendar) -> None:
    for d in cal.workdays:
        assert d.weekday() >= 5, d
        assert d not in cal.holidays


@pytest.mark.parametrize("year", [2025, 2026])
def test_official_years_agree_with_chinese_calendar_day_by_day(
    cal: WorkCalendar, year: int
) -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    for d in _days(date(year, 1, 1), date(year, 12, 31)):
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d


def test_2027_is_statutory_days_only(cal: WorkCalendar) -> None:
    got = {d: n for d, n in cal.holidays.items() if d.year == 2027}
    assert len(got) == 13  # 元旦1 + 春节4 + 清明1 + 劳动节2 + 端午1 + 中秋1 + 国庆3
    assert [d for d, n in got.items() if n == "春节"] == _days(date(2027, 2, 5), date(2027, 2, 8))
    assert got[date(2027, 1, 1)] == "元旦"
    assert got[date(2027, 4, 5)] == "清明节"
    assert got[date(2027, 6, 9)] == "端午节"
    assert got[date(2027, 9, 15)] == "中秋节"
    assert [d for d, n in got.items() if n == "国庆节"] == _days(
        date(2027, 10, 1), date(2027, 10, 3)
    )
    assert not [d for d in cal.workdays if d.year == 2027]


# -- Spring Festival 2025 -------------------------------------------------------------------------


def test_spring_festival_2025(cal: WorkCalendar) -> None:
    assert date(2025, 1, 26).weekday() == 6  # a Sunday ...
    assert cal.is_workday(date(2025, 1, 26))  # ... that is a 调休 working day
    assert cal.holiday_name(date(2025, 1, 26)) is None
    assert cal.day(date(2025, 1, 26)) == CalendarDay(
        date(2025, 1, 26), True, "workday", "春节调休", "official"
    )
    for d in _days(date(2025, 1, 28), date(2025, 2, 4)):
        assert not cal.is_workday(d), d
        assert cal.holiday_name(d) == "春节"
    assert cal.is_workday(date(2025, 1, 27))
    assert cal.is_workday(date(2025, 2, 5))
    assert date(2025, 2, 8).weekday() == 5 and cal.is_workday(date(2025, 2, 8))
    assert not cal.is_workday(date(2025, 2, 9))  # an ordinary Sunday


# -- National Day 2025 ----------------------------------------------------------------------------


def test_national_day_2025(cal: WorkCalendar) -> None:
    sept28, oct11 = date(2025, 9, 28), date(2025, 10, 11)
    assert (sept28.weekday(), oct11.weekday()) == (6, 5)  # Sunday, Saturday
    assert cal.workdays[sept28] == "国庆节调休"
    assert cal.workdays[oct11] == "国庆节调休"
    assert cal.is_workday(sept28) and cal.is_workday(oct11)
    for d in _days(date(2025, 10, 1), date(2025, 10, 8)):
        assert not cal.is_workday(d), d
    assert cal.holiday_name(date(2025, 10, 6)) == "中秋节"
    assert cal.holiday_name(date(2025, 10, 1)) == "国庆节"
    assert cal.is_workday(date(2025, 10, 9))


# -- add_workdays ---------------------------------------------------------------------------------


def test_add_workdays_across_holidays(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2025, 1, 27), 1) == date(2025, 2, 5)
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert cal.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)  # Thu, Fri, make-up Sat
    assert cal.add_workdays(date(2025, 9, 30), 4) == date(2025, 10, 13)


def test_add_workdays_lands_on_make_up_days(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2025, 1, 24), 1) == date(2025, 1, 26)  # Fri -> make-up Sun
    assert cal.add_workdays(date(2025, 2, 7), 1) == date(2025, 2, 8)  # Fri -> make-up Sat
    assert cal.add_workdays(date(2025, 10, 10), 1) == date(2025, 10, 11)
    assert cal.add_workdays(date(2025, 10, 10), 2) == date(2025, 10, 13)


def test_add_workdays_negative(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2025, 2, 5), -1) == date(2025, 1, 27)
    assert cal.add_workdays(date(2025, 2, 5), -2) == date(2025, 1, 26)  # make-up Sunday
    assert cal.add_workdays(date(2025, 2, 5), -3) == date(2025, 1, 24)
    assert cal.add_workdays(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert cal.add_workdays(date(2025, 10, 13), -1) == date(2025, 10, 11)  # make-up Saturday
    assert cal.add_workdays(date(2025, 10, 4), -1) == date(2025, 9, 30)  # from a holiday


def test_add_zero_rolls_forward_only_from_a_non_workday(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2025, 10, 3), 0) == date(2025, 10, 9)  # holiday
    assert cal.add_workdays(date(2025, 1, 26), 0) == date(2025, 1, 26)  # make-up Sunday
    assert cal.add_workdays(date(2025, 3, 5), 0) == date(2025, 3, 5)  # ordinary Wednesday
    assert cal.add_workdays(date(2025, 3, 8), 0) == date(2025, 3, 10)  # ordinary Saturday


def test_start_on_a_non_workday(cal: WorkCalendar) -> None:
    saturday = date(2025, 3, 8)
    assert cal.add_workdays(saturday, 1) == date(2025, 3, 10)  # the next working day
    assert cal.add_workdays(saturday, 2) == date(2025, 3, 11)
    assert cal.add_workdays(saturday, -1) == date(2025, 3, 7)
    assert cal.next_workday(saturday) == date(2025, 3, 10)
    assert cal.previous_workday(saturday) == date(2025, 3, 7)
    assert cal.next_workday(date(2025, 3, 10)) == date(2025, 3, 11)  # strictly after


def test_datetime_keeps_time_and_tzinfo(cal: WorkCalendar) -> None:
    start = datetime(2025, 1, 27, 15, 30, 5, 123, tzinfo=CST)
    got = cal.add_workdays(start, 1)
    assert isinstance(got, datetime)
    assert got == datetime(2025, 2, 5, 15, 30, 5, 123, tzinfo=CST)
    assert got.tzinfo is CST
    naive = cal.add_workdays(datetime(2025, 10, 9, 9, 0), -1)
    assert naive == datetime(2025, 9, 30, 9, 0) and naive.tzinfo is None
    assert cal.add_workdays(start, 0) is start  # a working day: unchanged
    assert cal.next_workday(datetime(2025, 10, 1, 8, 0, tzinfo=CST)) == datetime(
        2025, 10, 9, 8, 0, tzinfo=CST
    )


def test_datetime_with_zoneinfo(cal: WorkCalendar) -> None:
    # No skip: the engine itself loads Asia/Shanghai at import (engine.sandbox.diagram_helpers).
    shanghai = ZoneInfo("Asia/Shanghai")
    got = cal.add_workdays(datetime(2025, 9, 30, 18, 0, tzinfo=shanghai), 1)
    assert got == datetime(2025, 10, 9, 18, 0, tzinfo=shanghai)
    assert got.tzinfo is shanghai


def test_plain_date_stays_a_date(cal: WorkCalendar) -> None:
    got = cal.add_workdays(date(2025, 3, 3), 5)
    assert type(got) is date and got == date(2025, 3, 10)


def test_add_workdays_rejects_non_int(cal: WorkCalendar) -> None:
    with pytest.raises(TypeError):
        cal.add_workdays(date(2025, 3, 3), 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cal.add_workdays(date(2025, 3, 3), True)


def test_add_workdays_matches_day_by_day_reference(cal: WorkCalendar) -> None:
    rng = random.Random(20261126)
    span = (date(2028, 12, 31) - date(2024, 1, 1)).days
    for _ in range(1500):
        d = date(2024, 1, 1) + timedelta(days=rng.randrange(span))
        n = rng.randint(-60, 60)
        assert cal.add_workdays(d, n) == _reference_add(cal, d, n), (d, n)


def test_add_workdays_is_fast(cal: WorkCalendar) -> None:
    start = time.process_time()  # this process's CPU: the machine's other load does not count
    for i in range(2000):
        cal.add_workdays(date(2025, 1, 1) + timedelta(days=i % 700), 250)
    assert time.process_time() - start < 2.0


# -- workdays_between -----------------------------------------------------------------------------


def test_workdays_between(cal: WorkCalendar) -> None:
    assert cal.workdays_between(date(2025, 1, 27), date(2025, 2, 5)) == 1
    assert cal.workdays_between(date(2025, 2, 5), date(2025, 1, 27)) == -1
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 3)) == 0
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 7)) == 4  # Tue..Fri
    # September 2025: 22 weekdays + make-up Sunday 9-28; October: 23 weekdays - 6 + Saturday 10-11.
    assert cal.workdays_between(date(2025, 8, 31), date(2025, 9, 30)) == 23
    assert cal.workdays_between(date(2025, 9, 30), date(2025, 10, 31)) == 18
    assert (
        cal.workdays_between(
            datetime(2025, 9, 30, 23, 0, tzinfo=CST), datetime(2025, 10, 9, 1, 0, tzinfo=CST)
        )
        == 1
    )


def test_workdays_between_inverts_add_workdays(cal: WorkCalendar) -> None:
    for d in _days(date(2025, 1, 1), date(2025, 12, 31))[::3]:
        for n in (1, 2, 5, 17):
            assert cal.workdays_between(d, cal.add_workdays(d, n)) == n
            if cal.is_workday(d):
                assert cal.workdays_between(d, cal.add_workdays(d, -n)) == -n


# -- coverage and warnings ------------------------------------------------------------------------


def test_provisional_year_warning(cal: WorkCalendar) -> None:
    assert cal.is_covered(2027) and cal.is_provisional(2027)
    assert cal.year_status(2027) == "provisional"
    assert cal.year_status(2025) == "official"
    assert cal.warnings() == ["2027 年节假日安排为暂定数据，请管理员确认"]
    assert cal.day(date(2027, 2, 8)).status == "provisional"
    assert not cal.is_workday(date(2027, 2, 8))  # 正月初三, a Monday


def test_out_of_range_year_falls_back_to_monday_to_friday(cal: WorkCalendar) -> None:
    assert not cal.is_covered(2028) and cal.year_status(2028) == "fallback"
    assert cal.warnings(years=[2028]) == [
        "2028 年无节假日数据，按周一至周五计算工作日，请管理员补充"
    ]
    assert not any("2028" in w for w in cal.warnings())  # not asked about 2028 yet
    assert cal.is_workday(date(2028, 1, 3))  # Monday
    assert not cal.is_workday(date(2028, 1, 1))  # Saturday (and in reality 元旦)
    assert cal.is_workday(date(2024, 10, 1))  # real holiday, but 2024 is not in the data
    assert cal.add_workdays(date(2028, 1, 7), 1) == date(2028, 1, 10)
    assert cal.warnings() == [
        "2024 年无节假日数据，按周一至周五计算工作日，请管理员补充",
        "2027 年节假日安排为暂定数据，请管理员确认",
        "2028 年无节假日数据，按周一至周五计算工作日，请管理员补充",
    ]


def test_crossing_into_an_uncovered_year_warns(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2027, 12, 30), 2) == date(2028, 1, 3)
    assert "2028 年无节假日数据，按周一至周五计算工作日，请管理员补充" in cal.warnings()


def test_default_calendar_is_fresh_each_time() -> None:
    first = load_default_calendar()
    first.is_workday(date(2030, 1, 1))
    assert not any("2030" in w for w in load_default_calendar().warnings())


# -- building from rows ---------------------------------------------------------------------------


def test_default_rows_round_trip(cal: WorkCalendar) -> None:
    rows = default_rows()
    assert rows == sorted(rows, key=lambda r: r[0])
    assert (date(2025, 1, 26), "workday", "春节调休") in rows
    assert (date(2025, 10, 6), "holiday", "中秋节") in rows
    rebuilt = calendar_from_rows(rows, provisional_years={2027})
    assert rebuilt.rows() == cal.rows() == rows
    assert rebuilt.covered_years == {2025, 2026, 2027}
    assert rebuilt.warnings() == cal.warnings()


def test_calendar_from_rows_custom_company_days() -> None:
    rows: list[tuple[date, str, str]] = [
        (date(2029, 1, 1), "holiday", "元旦"),
        (date(2029, 1, 2), "holiday", "公司年会"),
        (date(2029, 1, 6), "workday", "补班"),  # a Saturday
        ("2029-01-08", "holiday", "测试"),  # type: ignore[list-item]  # ISO strings accepted
    ]
    c = calendar_from_rows(rows)
    assert c.is_covered(2029) and c.warnings() == []
    assert c.add_workdays(date(2028, 12, 29), 1) == date(2029, 1, 3)
    assert c.add_workdays(date(2029, 1, 5), 1) == date(2029, 1, 6)
    assert c.add_workdays(date(2029, 1, 6), 1) == date(2029, 1, 9)
    assert c.holiday_name(date(2029, 1, 2)) == "公司年会"


def test_calendar_from_rows_rejects_bad_rows() -> None:
    with pytest.raises(ValueError, match="kind"):
        calendar_from_rows([(date(2025, 1, 1), "vacation", "x")])
    with pytest.raises(ValueError, match="both"):
        calendar_from_rows([(date(2025, 1, 4), "holiday", "x"), (date(2025, 1, 4), "workday", "y")])


def test_explicit_constructor_and_covered_years() -> None:
    c = WorkCalendar(
        holidays={date(2030, 5, 1): "劳动节"},
        workdays={},
        provisional_years={2030},
        covered_years={2030},
    )
    assert not c.is_workday(date(2030, 5, 1))
    assert c.warnings() == ["2030 年节假日安排为暂定数据，请管理员确认"]
    assert c.add_workdays(date(2030, 4, 30), 1) == date(2030, 5, 2)
