"""The years in which planflow takes a date or a time from a person: one range for every channel
(form fields, the API, the pages, KPI periods).

Outside it a date is a typo (0226 for 2026) that would sit in deadlines and reports unnoticed,
and near the ends of Python's calendar it cannot even be stored or computed with: 0001-01-01
at +08:00 is year 0 in UTC, and the day after 9999-12-31 does not exist. The range keeps every
accepted date centuries away from both ends, so deadlines and day bounds computed from it stay
valid.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from engine.errors import InvalidInput

FIRST_YEAR: Final = 1900
LAST_YEAR: Final = 2999


def in_range(value: date) -> bool:
    """Whether ``value`` (a date or a datetime) falls in the years planflow takes."""
    return _in_years(value.year)


def _in_years(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def clamped(day: date) -> date:
    """``day``, or the first or last day of the range if it lies before or after it (for a
    filter: every stored time lies inside, so clamping keeps what the filter selects)."""
    return min(max(day, date(FIRST_YEAR, 1, 1)), date(LAST_YEAR, 12, 31))


def check_year(year: int, field: str, what: tuple[str, str]) -> None:
    """InvalidInput naming ``field`` (and ``what`` it is, in zh-CN and English, for the
    message people read) if ``year`` is outside the range."""
    if not _in_years(year):
        zh, en = what
        raise InvalidInput(
            f"{zh}的年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间 "
            f"({en}: the year must be between {FIRST_YEAR} and {LAST_YEAR})",
            {"field": field, "problem": "out_of_range"},
        )


def check_date(value: date | None, field: str, what: tuple[str, str]) -> None:
    """``check_year`` for ``value`` (a date or a datetime), if there is one."""
    if value is not None:
        check_year(value.year, field, what)
