"""Working-day calendar (工作日历) with mainland-China public holidays and 调休 make-up days.

A :class:`WorkCalendar` is built from explicit data — a mapping of holiday dates (days off even
though they may be weekdays, with the holiday's Chinese name) and a mapping of make-up working
days (weekend dates that are working days). Every other date follows the Monday–Friday rule.

Building one from data (the shipped JSON, ``(date, kind, name)`` rows) is
:mod:`engine.workcal_data`; this module is only the calendar and its arithmetic.

Conventions (see the individual methods):

* A ``datetime`` is judged by its own wall-clock date (``d.date()``), whatever its ``tzinfo``.
  The holiday data are China dates, so pass Asia/Shanghai-local datetimes (convert UTC first).
* ``add_workdays(d, n)`` with ``n > 0`` returns the n-th working day strictly after ``d``;
  with ``n < 0`` the |n|-th working day strictly before ``d``; with ``n == 0`` ``d`` itself when
  it is a working day, otherwise the next working day. A datetime keeps its time and tzinfo.
* ``workdays_between(a, b)`` counts working days ``d`` with ``a < d <= b`` (negative if b < a).
* Years outside the data fall back to Monday–Friday; they are remembered and reported by
  :meth:`WorkCalendar.warnings`, as are provisional (unconfirmed) years.

Lookups are O(1) dict hits; ``add_workdays`` and ``workdays_between`` are closed-form weekday
arithmetic plus a bisect over the (few) exception dates, independent of the distance covered.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from types import MappingProxyType
from typing import Literal, TypeVar

__all__ = ["CalendarDay", "DayKind", "WorkCalendar", "YearStatus"]

_D = TypeVar("_D", date, datetime)

DayKind = Literal["holiday", "workday", "weekday", "weekend"]
"""``holiday``: listed day off; ``workday``: listed make-up working day (调休上班);
``weekday``/``weekend``: an ordinary Monday–Friday / Saturday–Sunday."""

YearStatus = Literal["official", "provisional", "fallback"]
"""``fallback``: the year is not in the data; Monday–Friday rule."""


def _provisional_warning(year: int) -> str:
    return f"{year} 年节假日安排为暂定数据，请管理员确认"


def _fallback_warning(year: int) -> str:
    return f"{year} 年无节假日数据，按周一至周五计算工作日，请管理员补充"


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """What the calendar knows about one date."""

    date: date
    is_workday: bool
    kind: DayKind
    name: str | None  # holiday name, or the make-up day's label (e.g. "春节调休")
    status: YearStatus


def _as_date(d: date) -> date:
    """The calendar date of a date or (wall-clock date of a) datetime."""
    if isinstance(d, datetime):
        return d.date()
    if isinstance(d, date):
        return d
    raise TypeError(f"expected date or datetime, got {type(d).__name__}")


def _like(original: _D, new: date) -> _D:
    """``new`` as the same type as ``original``; a datetime keeps its time, tzinfo and fold."""
    if isinstance(original, datetime):
        return datetime.combine(new, original.timetz())
    return new


def _weekdays_before(ordinal: int) -> int:
    """Monday–Friday days with proleptic ordinal in [1, ordinal); ordinal 1 is a Monday."""
    weeks, rest = divmod(ordinal - 1, 7)
    return weeks * 5 + min(rest, 5)


class WorkCalendar:
    """Working-day arithmetic over explicit holiday / make-up-workday data.

    ``holidays`` maps dates that are off (weekday or not) to the holiday name; ``workdays`` maps
    weekend dates that are working days (调休) to a label. A date may not be in both.
    ``provisional_years`` are years whose data still need an administrator's confirmation.
    ``covered_years`` are years the data describe completely; by default every year that has at
    least one entry. Any other year uses the Monday–Friday rule and yields a warning.
    """

    __slots__ = (
        "_covered",
        "_exc_ords",
        "_exc_prefix",
        "_fallback_seen",
        "_holidays",
        "_provisional",
        "_workdays",
    )

    def __init__(
        self,
        holidays: Mapping[date, str],
        workdays: Mapping[date, str],
        provisional_years: Iterable[int] = (),
        covered_years: Iterable[int] | None = None,
    ) -> None:
        hol = {_as_date(d): str(name) for d, name in holidays.items()}
        work = {_as_date(d): str(name) for d, name in workdays.items()}
        clash = sorted(hol.keys() & work.keys())
        if clash:
            listed = ", ".join(d.isoformat() for d in clash)
            raise ValueError(f"dates listed both as holiday and as workday: {listed}")
        self._holidays: Mapping[date, str] = MappingProxyType(dict(sorted(hol.items())))
        self._workdays: Mapping[date, str] = MappingProxyType(dict(sorted(work.items())))

        if covered_years is None:
            covered_years = {d.year for d in hol} | {d.year for d in work}
        self._covered: frozenset[int] = frozenset(int(y) for y in covered_years)
        self._provisional: frozenset[int] = frozenset(int(y) for y in provisional_years)
        self._fallback_seen: set[int] = set()

        # Exceptions to the Monday–Friday rule, as sorted ordinals with running count deltas:
        # a holiday on a weekday removes a working day, a make-up day on a weekend adds one.
        deltas = {d.toordinal(): -1 for d in hol if d.weekday() < 5}
        deltas.update({d.toordinal(): 1 for d in work if d.weekday() >= 5})
        ords = sorted(deltas)
        self._exc_ords: list[int] = ords
        self._exc_prefix: list[int] = [0, *accumulate(deltas[o] for o in ords)]

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(holidays={len(self._holidays)}, workdays={len(self._workdays)}, "
            f"covered={sorted(self._covered)}, provisional={sorted(self._provisional)})"
        )

    # -- data access -------------------------------------------------------------------------

    @property
    def holidays(self) -> Mapping[date, str]:
        """Read-only view of the listed days off."""
        return self._holidays

    @property
    def workdays(self) -> Mapping[date, str]:
        """Read-only view of the listed make-up working days."""
        return self._workdays

    @property
    def covered_years(self) -> frozenset[int]:
        return self._covered

    @property
    def provisional_years(self) -> frozenset[int]:
        return self._provisional

    def rows(self) -> list[tuple[date, str, str]]:
        """The data as ``(date, kind, name)`` rows, sorted by date (inverse of
        :func:`engine.workcal_data.calendar_from_rows`)."""
        out = [(d, "holiday", n) for d, n in self._holidays.items()]
        out += [(d, "workday", n) for d, n in self._workdays.items()]
        out.sort(key=lambda r: r[0])
        return out

    # -- coverage and warnings ---------------------------------------------------------------

    def is_covered(self, year: int) -> bool:
        """True if the data describe ``year`` (officially or provisionally)."""
        return year in self._covered

    def is_provisional(self, year: int) -> bool:
        return year in self._provisional

    def year_status(self, year: int) -> YearStatus:
        if year in self._provisional:
            return "provisional"
        if year in self._covered:
            return "official"
        return "fallback"

    def _note_year(self, year: int) -> None:
        if year not in self._covered and year not in self._provisional:
            self._fallback_seen.add(year)

    def _note_span(self, first: int, last: int) -> None:
        lo, hi = sorted((first, last))
        for year in range(date.fromordinal(lo).year, date.fromordinal(hi).year + 1):
            self._note_year(year)

    def warnings(self, years: Iterable[int] | None = None) -> list[str]:
        """Messages (Chinese) for an administrator.

        Without ``years``: one per provisional year in the data, plus one per year outside the
        data that this calendar has been asked about so far (those fell back to Monday–Friday).
        With ``years``: one per given year that is provisional or not covered.
        """
        if years is None:
            provisional = set(self._provisional)
            fallback = set(self._fallback_seen)
        else:
            wanted = set(years)
            provisional = wanted & self._provisional
            fallback = {y for y in wanted if y not in self._covered and y not in provisional}
        msgs = [(y, _provisional_warning(y)) for y in provisional]
        msgs += [(y, _fallback_warning(y)) for y in fallback]
        return [m for _, m in sorted(msgs)]

    # -- single-day queries ------------------------------------------------------------------

    def is_workday(self, d: date | datetime) -> bool:
        """True for a Monday–Friday that is not a listed holiday, or a listed make-up day."""
        day = _as_date(d)
        if day in self._holidays:
            return False
        if day in self._workdays:
            return True
        self._note_year(day.year)
        return day.weekday() < 5

    def holiday_name(self, d: date | datetime) -> str | None:
        """The holiday's name if ``d`` is a listed day off, else None (also for make-up days)."""
        return self._holidays.get(_as_date(d))

    def day(self, d: date | datetime) -> CalendarDay:
        """Everything known about the date of ``d``."""
        day = _as_date(d)
        status = self.year_status(day.year)
        if day in self._holidays:
            return CalendarDay(day, False, "holiday", self._holidays[day], status)
        if day in self._workdays:
            return CalendarDay(day, True, "workday", self._workdays[day], status)
        self._note_year(day.year)
        if day.weekday() < 5:
            return CalendarDay(day, True, "weekday", None, status)
        return CalendarDay(day, False, "weekend", None, status)

    # -- arithmetic ----------------------------------------------------------------------------

    def _count_before(self, ordinal: int) -> int:
        """Working days with ordinal < ``ordinal`` (counted from ordinal 1; may be negative)."""
        return _weekdays_before(ordinal) + self._exc_prefix[bisect_left(self._exc_ords, ordinal)]

    def _kth(self, k: int, lo: int, hi: int) -> int:
        """Ordinal of the working day with ``_count_before == k``; needs
        ``_count_before(lo + 1) <= k < _count_before(hi + 1)``."""
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._count_before(mid + 1) > k:
                hi = mid
            else:
                lo = mid
        return hi

    def _shift(self, start: int, n: int) -> int:
        """Ordinal of the n-th working day after (n > 0) or before (n < 0) ordinal ``start``."""
        guess = abs(n) * 7 // 5 + 14
        if n > 0:
            k = self._count_before(start + 1) + n - 1
            lo, hi = start, start + guess
            while self._count_before(hi + 1) <= k:
                hi += guess  # only when holidays pile up; terminates as weeks keep workdays
                guess *= 2
        else:
            k = self._count_before(start) + n
            lo, hi = start - guess, start - 1
            while self._count_before(lo + 1) > k:
                lo -= guess
                guess *= 2
        return self._kth(k, lo, hi)

    def add_workdays(self, d: _D, n: int) -> _D:
        """Move ``n`` working days from ``d``.

        * ``n > 0``: the n-th working day strictly after ``d`` — so from a non-working day,
          ``add_workdays(saturday, 1)`` is the first working day after it (usually Monday);
        * ``n < 0``: the |n|-th working day strictly before ``d``;
        * ``n == 0``: ``d`` if it is a working day, else the next working day (roll forward).
          Hence for a non-working ``d``, ``n == 0`` and ``n == 1`` give the same day.

        A ``date`` gives a ``date``; a ``datetime`` gives a ``datetime`` with the same time of
        day, tzinfo and fold (only the calendar date changes).
        """
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        start = _as_date(d)
        if n == 0:
            if self.is_workday(start):
                return d
            n = 1
        o = start.toordinal()
        target = self._shift(o, n)
        self._note_span(o, target)
        return _like(d, date.fromordinal(target))

    def next_workday(self, d: _D) -> _D:
        """The first working day strictly after ``d`` (same as ``add_workdays(d, 1)``)."""
        return self.add_workdays(d, 1)

    def previous_workday(self, d: _D) -> _D:
        """The last working day strictly before ``d`` (same as ``add_workdays(d, -1)``)."""
        return self.add_workdays(d, -1)

    def workdays_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days ``d`` with ``a < d <= b`` (by calendar date); ``-workdays_between(b, a)``
        when ``b < a``; 0 when they fall on the same date.

        Consistent with :meth:`add_workdays`: ``workdays_between(a, add_workdays(a, n)) == n``
        for every ``n >= 1``, and for every ``n`` when ``a`` is a working day.
        """
        oa, ob = _as_date(a).toordinal(), _as_date(b).toordinal()
        self._note_span(oa, ob)
        return self._count_before(ob + 1) - self._count_before(oa + 1)
