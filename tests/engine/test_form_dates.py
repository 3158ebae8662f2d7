"""Date, time and date-time fields of a submission: the formats taken and the years
planflow accepts."""

from __future__ import annotations

import pytest

from engine.forms import validate_submission
from tests.engine.form_helpers import form_fixture, make, only_error, submit  # noqa: F401  (fixtures)


@pytest.mark.parametrize("given", ["2025-13-01", "2025-02-30", "2025/10/08", "20251008",
                                   "2025-10-08T09:00", 20251008])
def test_date_invalid(form, given):
    err = only_error(submit(form, eventDate=given)[1], "eventDate")
    assert (err.code, err.message, err.message_en) == (
        "date", "日期格式无效", "Invalid date (expected YYYY-MM-DD).",
    )


@pytest.mark.parametrize("given", ["0001-01-01", "0226-03-01", "1899-12-31", "3000-01-01",
                                   "9999-12-31"])
def test_a_date_outside_the_years_planflow_takes_is_refused(form, given):
    """A typo such as 0226 would sit in deadlines unnoticed, and dates at the ends of the
    calendar cannot be computed with (a deadline before year 1)."""
    err = only_error(submit(form, eventDate=given)[1], "eventDate")
    assert (err.code, err.message, err.message_en) == (
        "date", "年份应在 1900–2999 之间", "The year must be between 1900 and 2999.",
    )
    f = make([{"type": "datetime", "key": "dt", "subtype": "datetime"}])
    _, errors = validate_submission(f, {"dt": given + "T09:00+08:00"})
    assert (errors["dt"].code, errors["dt"].message) == ("date", "年份应在 1900–2999 之间")
    for edge in ("1900-01-01", "2999-12-31"):
        assert submit(form, eventDate=edge)[1] == {}, edge


def test_time_and_datetime_subtypes():
    f = make([
        {"type": "datetime", "key": "t", "subtype": "time"},
        {"type": "datetime", "key": "dt", "subtype": "datetime"},
    ])
    for t, dt in [("09:30", "2025-10-08T09:30"), ("09:30Z", "2025-10-08T01:30Z"),
                  ("09:30+08:00", "2025-10-08T09:30:00+08:00")]:
        assert validate_submission(f, {"t": t, "dt": dt}) == ({"t": t, "dt": dt}, {})
    _, errors = validate_submission(f, {"t": "25:00", "dt": "2025-10-08"})
    assert (errors["t"].code, errors["t"].message) == ("date", "时间格式无效")
    assert (errors["dt"].code, errors["dt"].message) == ("date", "日期时间格式无效")
