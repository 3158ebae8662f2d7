"""The names diagrams may use in scripts, conditions and timer expressions.

``make_helpers(now, calendar)`` builds the mapping given to
``engine.sandbox.RestrictedEnvironment``. Everything here is a pure function of its arguments,
of the injected clock (``now``) and of the injected work calendar, so tests and the engine's
scheduler control time.

Time zone rule: the department works in Asia/Shanghai. A naive datetime or a date-only value
means Asia/Shanghai; every datetime a helper returns is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "SHANGHAI",
    "WeekdayCalendar",
    "WorkCalendar",
    "make_helpers",
    "parse_date",
    "parse_datetime",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")


class WorkCalendar(Protocol):
    """Which days are working days (e.g. mainland-China holidays and make-up days)."""

    def is_workday(self, d: date) -> bool: ...

    def add_workdays(self, d: date, n: int) -> date: ...


class WeekdayCalendar:
    """Monday to Friday are working days; no holidays.

    Same conventions as ``engine.workcal.WorkCalendar``: ``add_workdays(d, n)`` with ``n >
    0``
    is the n-th working day strictly after ``d``, with ``n < 0`` the |n|-th strictly before,
    with ``n == 0`` ``d`` itself if it is a working day, else the next one. Constant time.
    """

    def is_workday(self, d: date) -> bool:
        return d.weekday() < 5

    def add_workdays(self, d: date, n: int) -> date:
        if n == 0:
            return d if self.is_workday(d) else self._next(d, 1)
        step = 1 if n > 0 else -1
        remaining = abs(n)
        # First step day by day onto a working day; from a working day, 5 working days are
        # exactly one week, whatever the weekday.
        d = self._next(d, step)
        remaining -= 1
        weeks, remaining = divmod(remaining, 5)
        d += timedelta(weeks=weeks * step)
        for _ in range(remaining):
            d = self._next(d, step)
        return d

    def _next(self, d: date, step: int) -> date:
        d += timedelta(days=step)
        while not self.is_workday(d):
            d += timedelta(days=step)
        return d


def _type_error(func: str, value: object) -> TypeError:
    return TypeError(
        f"{func}() expects an ISO 8601 string, a date or a datetime, not {type(value).__name__}"
    )


def parse_datetime(value: str | date | datetime) -> datetime:
    """An aware datetime from an ISO 8601 string, a datetime or a date.

    Naive input and dates mean Asia/Shanghai (a date is its midnight); a ``Z`` suffix and
    ``+08:00``-style offsets are honored; aware datetimes are returned unchanged.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("parse_datetime() got an empty string")
        parsed = datetime.fromisoformat(text)  # Python 3.11 reads "Z" and basic formats
    elif isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        raise _type_error("parse_datetime", value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


def parse_date(value: str | date | datetime) -> date:
    """A date from an ISO 8601 date or datetime string, a date or a datetime.

    An aware datetime is first converted to Asia/Shanghai (``2024-05-01T20:00:00Z`` is
    2024-05-02 there); a naive one is taken as Shanghai time already.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            value = parse_datetime(text)
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(SHANGHAI)
        return value.date()
    if isinstance(value, date):
        return value
    raise _type_error("parse_date", value)


def _is_date_only(value: object) -> bool:
    if isinstance(value, str):
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            return False
        return True
    return isinstance(value, date) and not isinstance(value, datetime)


def make_helpers(
    now: Callable[[], datetime], calendar: WorkCalendar | None = None
) -> dict[str, Any]:
    """The helper names for ``RestrictedEnvironment``.

    ``now`` is the engine's clock and must return aware datetimes; ``calendar`` decides working
    days (Monday to Friday when None).

    Names: ``datetime``, ``date``, ``timedelta``, ``timezone`` (classes), ``SHANGHAI``,
    ``parse_datetime(value)``, ``parse_date(value)``, ``now()`` (aware, in Asia/Shanghai),
    ``today()`` (the date in Asia/Shanghai), ``add_workdays(value, n)`` (a date for a date or
    date-only string, else an aware Shanghai datetime with the same time of day) and
    ``is_workday(value)``. Inside the sandbox ``datetime.now()``, ``datetime.utcnow()`` and
    ``date.today()`` are refused so that diagrams only ever see the engine clock.
    """
    work_calendar: WorkCalendar = calendar if calendar is not None else WeekdayCalendar()

    def current_time() -> datetime:
        """The engine clock's current time, in Asia/Shanghai."""
        moment = now()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the engine clock returned a naive datetime")
        return moment.astimezone(SHANGHAI)

    def today() -> date:
        """Today's date in Asia/Shanghai, from the engine clock."""
        return current_time().date()

    def add_workdays(value: str | date | datetime, n: int) -> date | datetime:
        """``value`` moved by ``n`` working days of the work calendar."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"add_workdays() needs a whole number of days, not {n!r}")
        if _is_date_only(value):
            return work_calendar.add_workdays(parse_date(value), n)
        local = parse_datetime(value).astimezone(SHANGHAI)
        moved = work_calendar.add_workdays(local.date(), n)
        return datetime.combine(moved, local.timetz())

    def is_workday(value: str | date | datetime) -> bool:
        """Whether the (Asia/Shanghai) day of ``value`` is a working day."""
        return bool(work_calendar.is_workday(parse_date(value)))

    return {
        "datetime": datetime,
        "date": date,
        "timedelta": timedelta,
        "timezone": timezone,
        "SHANGHAI": SHANGHAI,
        "parse_datetime": parse_datetime,
        "parse_date": parse_date,
        "now": current_time,
        "today": today,
        "add_workdays": add_workdays,
        "is_workday": is_workday,
    }
