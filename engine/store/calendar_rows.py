"""The working-day calendar as admin-editable data: rows in `work_calendar_days` (holidays and
调休 make-up working days) and a status per year, seeded from the shipped file."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.store.tables import CalendarDayRecord, CalendarYearRecord
from engine.workcal import WorkCalendar
from engine.workcal_data import calendar_from_rows, load_default_calendar

KINDS = ("holiday", "workday")


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar as stored; the shipped one if the tables do not exist yet (before migrate)."""
    try:
        rows = session.scalars(select(CalendarDayRecord)).all()
        years = session.scalars(select(CalendarYearRecord)).all()
    except (OperationalError, ProgrammingError):
        session.rollback()
        return load_default_calendar()
    if not rows and not years:
        return load_default_calendar()
    return calendar_from_rows(
        [(r.day, r.kind, r.name) for r in rows],
        provisional_years=[y.year for y in years if y.status == "provisional"],
        covered_years=[y.year for y in years],
    )


def set_day(session: Session, day: date, kind: str | None, name: str = "") -> None:
    """Mark `day` as a holiday or a make-up working day; `kind=None` makes it ordinary again."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind 必须是 {KINDS} 之一 (kind must be holiday or workday)")
    record = session.get(CalendarDayRecord, day)
    if kind is None:
        if record is not None:
            session.delete(record)
        return
    if record is None:
        session.add(CalendarDayRecord(day=day, kind=kind, name=name[:64]))
    else:
        record.kind, record.name = kind, name[:64]
    if session.get(CalendarYearRecord, day.year) is None:
        session.add(CalendarYearRecord(year=day.year, status="provisional"))


def set_year_status(session: Session, year: int, status: str) -> None:
    if status not in ("official", "provisional"):
        raise InvalidInput("status 必须是 official 或 provisional")
    record = session.get(CalendarYearRecord, year)
    if record is None:
        session.add(CalendarYearRecord(year=year, status=status))
    else:
        record.status = status
