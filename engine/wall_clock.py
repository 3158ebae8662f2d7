"""Time as people in the department read and type it: wall-clock time in the deployment's zone
(`Settings.zone`, Asia/Shanghai by default). The one home of two rules every channel follows
(pages, API exports, notifications, generated documents, the CLI):

* how an instant is shown: `shown`, in one of a few named forms;
* how a time someone typed is read: without an offset it is wall-clock time in the zone
  (`as_aware`), never the server's own zone and never UTC.

Stored instants are timezone-aware UTC; only what people see and type is local.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")

# The forms an instant is shown in (strftime patterns, the same in Chinese and English).
FORMS = {
    "minute": "%Y-%m-%d %H:%M",
    "second": "%Y-%m-%d %H:%M:%S",
    "date": "%Y-%m-%d",
    "short": "%m-%d %H:%M",
    "day": "%m-%d",
}


def as_aware(value: datetime, zone: tzinfo) -> datetime:
    """A typed time: one without an offset is wall-clock time in ``zone``."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def local(value: datetime, zone: tzinfo) -> datetime:
    """The wall-clock time in ``zone`` of an instant (one without an offset already is)."""
    return value.astimezone(zone) if value.tzinfo is not None else value.replace(tzinfo=zone)


def shown(
    value: datetime | date | str | None, zone: tzinfo, form: str = "minute", empty: str = ""
) -> str:
    """How planflow shows an instant: wall-clock time in ``zone`` in the named form; ``empty``
    for no value. A date is shown as itself; text that is not an ISO time, or one that cannot
    be shown in the zone, is shown as it is (a value from somebody's data, e.g. set by a
    diagram's script: better seen than hidden, and never an error page)."""
    if value is None or value == "":
        return empty
    if isinstance(value, str):
        try:
            # At the ends of the calendar (year 1, year 9999) the zone's offset runs off it.
            return shown(datetime.fromisoformat(value), zone, form, empty)
        except (ValueError, OverflowError):
            return value
    if not isinstance(value, datetime):  # a date: no time of day to show
        return value.strftime(FORMS["day"] if form in ("short", "day") else FORMS["date"])
    return local(value, zone).strftime(FORMS[form])
