"""The 工作日历 admin page: each year's holidays and make-up days, and editing days and a
year's status (validation, audit, who may)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import AuditRecord
from tests.pages import login
from tests.web.manage_helpers import (
    env_fixture,  # noqa: F401  (the env fixture)
    text,
)


def test_calendar_shows_each_year(client, env):
    login(client, "root")
    html = text(client.get("/admin/calendar?year=2026"))
    assert "春节" in html and "2026-02-15" in html and "2026-02-23" in html
    assert "2026-02-14" in html and "2026-02-28" in html  # 调休上班
    html = text(client.get("/admin/calendar?year=2027"))
    assert "暂定" in html  # provisional year warning
    before = env.calendar.warnings()
    html = text(client.get("/admin/calendar?year=2031"))
    assert "没有节假日数据" in html
    assert env.calendar.warnings() == before  # looking does not mark the year as used
    assert client.get("/admin/calendar?year=abc").status_code == 200


def test_calendar_editing(client, env):
    token = login(client, "root")
    new_year = {"csrf_token": token, "from": "2028-01-01", "to": "2028-01-03",
                "kind": "holiday", "name": "元旦<假>"}
    assert env.calendar.is_workday(date(2028, 1, 3))  # a Monday, no data yet
    r = client.post("/admin/calendar/days", data=new_year)
    assert r.status_code == 303 and r.headers["Location"].endswith("year=2028")
    assert not env.calendar.is_workday(date(2028, 1, 3))  # reloaded at once
    assert env.calendar.is_provisional(2028)
    html = text(client.get("/admin/calendar?year=2028"))
    assert "元旦&lt;假&gt;" in html and "暂定" in html and "已更新 3 天" in html
    r = client.post("/admin/calendar/years",
                    data={"csrf_token": token, "year": "2028", "status": "official"})
    assert r.status_code == 303 and env.calendar.year_status(2028) == "official"
    assert "暂定数据" not in text(client.get("/admin/calendar?year=2028"))
    r = client.post("/admin/calendar/days", data={"csrf_token": token, "from": "2028-01-03",
                                                  "kind": "ordinary", "name": ""})
    assert r.status_code == 303 and env.calendar.is_workday(date(2028, 1, 3))
    with transaction(env.sessions) as s:
        assert s.scalar(select(AuditRecord).where(AuditRecord.action == "calendar_changed"))
    for bad in ({"to": "2027-12-01"}, {"to": "2028-03-01"}, {"name": " "}, {"kind": "x"},
                {"from": "not-a-date"}, {"from": "0001-01-01", "to": "0001-01-02"},
                {"from": "9999-12-30", "to": "9999-12-31"}):
        r = client.post("/admin/calendar/days", data={**new_year, **bad})
        assert r.status_code == 400, bad
    assert client.post("/admin/calendar/years", data={"csrf_token": token, "year": "2028",
                                                      "status": "maybe"}).status_code == 400
    token = login(client, "mgr")
    assert client.post("/admin/calendar/days", data={**new_year, "csrf_token": token}
                       ).status_code == 403
    assert client.post("/admin/calendar/years", data={"csrf_token": token, "year": "2028",
                                                      "status": "provisional"}
                       ).status_code == 403
    assert env.calendar.year_status(2028) == "official"
