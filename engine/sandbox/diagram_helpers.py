"""The names diagrams may use in scripts, conditions and timer expressions.

``make_helpers(now, calendar)`` builds the mapping given to
``engine.sandbox.RestrictedEnvironment``. Everything here is a pure function of its arguments,
of the injected clock (``now``) and of the injected work calendar, so tests and the engine's
scheduler control time.

Time zone rule (`engine.wall_clock`, the one home of it): a datetime without an offset, or a
date-only value, is wall-clock time in the department's zone (`PLANFLOW_TIMEZONE`, given to
``make_helpers``; Asia/Shanghai by default); every datetime a helper returns is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from engine.wall_clock import DEFAULT_ZONE, as_aware

__all__ = [
    "SHANGHAI",
    "WeekdayCalendar",
    "WorkCalendar",
    "ZonedParser",
    "make_helpers",
    "parse_date",
    "parse_datetime",
    "zoned_parser",
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


def parse_datetime(value: str | date | datetime, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """An aware datetime from an ISO 8601 string, a datetime or a date.

    Naive input and dates mean wall-clock time in ``zone`` (a date is its midnight); a ``Z``
    suffix and ``+08:00``-style offsets are honored; aware datetimes are returned unchanged.
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
    if parsed.tzinfo is not None and parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=None)  # a tzinfo that gives no offset is no offset
    return as_aware(parsed, zone)


def parse_date(value: str | date | datetime, zone: ZoneInfo = DEFAULT_ZONE) -> date:
    """A date from an ISO 8601 date or datetime string, a date or a datetime.

    An aware datetime is first converted to ``zone`` (``2024-05-01T20:00:00Z`` is 2024-05-02 in
    Shanghai); a naive one is taken as wall-clock time there already.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            value = parse_datetime(text, zone)
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(zone)
        return value.date()
    if isinstance(value, date):
        return value
    raise _type_error("parse_date", value)


_PARSERS: dict[str, Callable[[Any, ZoneInfo], Any]] = {
    "parse_datetime": parse_datetime,
    "parse_date": parse_date,
}


@dataclass(frozen=True)
class ZonedParser:
    """``parse_datetime`` or ``parse_date`` for one zone: what diagrams call by those names.

    Pickled as its name and zone key and made once per pair (`zoned_parser`), so a script
    worker unpickles its own copy and parses there: `engine.sandbox.remote` sends a helper by
    reference when it survives a pickle round trip as itself, and calls any other one back in
    the engine, a pipe round trip per date parsed."""

    name: str
    zone: ZoneInfo

    def __call__(self, value: Any) -> Any:
        return _PARSERS[self.name](value, self.zone)

    def __reduce__(self) -> tuple[Any, ...]:
        return (zoned_parser, (self.name, self.zone.key))


@lru_cache(maxsize=64)
def zoned_parser(name: str, zone_key: str) -> ZonedParser:
    """The one `ZonedParser` of this process for ``name`` and the zone ``zone_key``."""
    if name not in _PARSERS:
        raise ValueError(f"no parser named {name!r}")
    return ZonedParser(name, ZoneInfo(zone_key))


def _is_date_only(value: object) -> bool:
    if isinstance(value, str):
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            return False
        return True
    return isinstance(value, date) and not isinstance(value, datetime)


def make_helpers(
    now: Callable[[], datetime],
    calendar: WorkCalendar | None = None,
    zone: ZoneInfo = DEFAULT_ZONE,
) -> dict[str, Any]:
    """The helper names for ``RestrictedEnvironment``.

    ``now`` is the engine's clock and must return aware datetimes; ``calendar`` decides working
    days (Monday to Friday when None); ``zone`` is the department's (`Settings.zone`): the
    wall-clock time of a value without an offset, of ``now()`` and ``today()``.

    Names: ``datetime``, ``date``, ``timedelta``, ``timezone`` (classes), ``ZONE`` (the
    department's zone), ``SHANGHAI``, ``parse_datetime(value)``, ``parse_date(value)``,
    ``now()`` (aware, in the zone), ``today()`` (the date in the zone),
    ``add_workdays(value, n)`` (a date for a date or date-only string, else an aware datetime
    in the zone with the same time of day) and ``is_workday(value)``. Inside the sandbox
    ``datetime.now()``, ``datetime.utcnow()`` and ``date.today()`` are refused so that diagrams
    only ever see the engine clock.
    """
    work_calendar: WorkCalendar = calendar if calendar is not None else WeekdayCalendar()
    if zone.key is None:
        raise ValueError("the zone must be a named zone (ZoneInfo(key)): workers rebuild it")
    read_datetime = zoned_parser("parse_datetime", zone.key)
    read_date = zoned_parser("parse_date", zone.key)

    def current_time() -> datetime:
        """The engine clock's current time, in the department's zone."""
        moment = now()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the engine clock returned a naive datetime")
        return moment.astimezone(zone)

    def today() -> date:
        """Today's date in the department's zone, from the engine clock."""
        return current_time().date()

    def add_workdays(value: str | date | datetime, n: int) -> date | datetime:
        """``value`` moved by ``n`` working days of the work calendar."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"add_workdays() needs a whole number of days, not {n!r}")
        if _is_date_only(value):
            return work_calendar.add_workdays(read_date(value), n)
        local = read_datetime(value).astimezone(zone)
        moved = work_calendar.add_workdays(local.date(), n)
        return datetime.combine(moved, local.timetz())

    def is_workday(value: str | date | datetime) -> bool:
        """Whether the day of ``value`` (in the department's zone) is a working day."""
        return bool(work_calendar.is_workday(read_date(value)))

    return {
        "datetime": datetime,
        "date": date,
        "timedelta": timedelta,
        "timezone": timezone,
        "ZONE": zone,
        "SHANGHAI": SHANGHAI,
        "parse_datetime": read_datetime,
        "parse_date": read_date,
        "now": current_time,
        "today": today,
        "add_workdays": add_workdays,
        "is_workday": is_workday,
    }
