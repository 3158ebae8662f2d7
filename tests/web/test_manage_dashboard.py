"""The 数据看板 page: the numbers behind its charts, throughput counted by Shanghai day, the
timers due this week, and the empty states."""

from __future__ import annotations

import json
import re
from datetime import date

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import InstanceRecord, ProcessVersionRecord
from engine.timing.timers import process_due
from tests.pages import login
from tests.web.manage_helpers import (
    bulk_instances,
    complete_open,
    env_fixture,  # noqa: F401  (the env fixture)
    record,
    start,
    text,
)


def test_dashboard_numbers(client, env, clock):
    waiting = start(env, "alice", "等待中的活动", 500)
    complete_open(env, waiting, "alice", {"description": "x"})  # timer in 1 h
    start(env, "alice", "待提交的活动", 5000)
    review = start(env, "bob", "待审批的活动", 5000)
    complete_open(env, review, "bob", {"description": "x"})
    done = start(env, "bob", "已完成的活动", 10)
    complete_open(env, done, "bob", {"description": "x"})
    clock.advance(hours=1, seconds=1)
    process_due(env)
    assert record(env, done).status == "completed"
    # KPI: a finished 项目立项 instance that recorded its completion rate
    bulk_instances(env, 1, model_key="project_initiation", status="completed",
                   title="<i>智慧门店</i>", data={"completion_result": {"completion_rate": 87.5}})
    clock.advance(days=3)  # the open submit task (due in 2 days) is overdue now
    login(client, "mgr")
    r = client.get("/dashboard")
    assert r.status_code == 200
    html = text(r)
    data = json.loads(re.search(r'id="pf-dashboard-data">(.*?)</script>', html, re.S).group(1))
    assert data["process"]["labels"] == ["测试审批"]
    by_status = {s["status"]: s["data"][0] for s in data["process"]["series"]}
    assert by_status == {"running": 2, "waiting": 0, "suspended": 0, "error": 0}
    assert dict(zip(data["stage"]["labels"], data["stage"]["data"], strict=True)) == {
        "测试审批 · 提交说明": 1, "测试审批 · 经理审批": 1}
    assert "策划专员" in html  # overdue, by group
    # `done`, `waiting` (its timer fired too) and the 项目立项 row
    assert sum(data["throughput"]["data"]) == 3
    assert data["kpi"]["data"] == [87.5] and "87.5%" in html
    assert "&lt;i&gt;智慧门店&lt;/i&gt;" in html and "<i>智慧门店" not in html
    assert "chart.umd.min.js" in html


def test_throughput_counts_by_shanghai_day(env):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from engine.read import dashboard

    with transaction(env.sessions) as s:
        version = s.scalar(select(ProcessVersionRecord))
        for at in (datetime(2026, 3, 2, 15, 30, tzinfo=UTC),  # 23:30 on March 2 in Shanghai
                   datetime(2026, 3, 2, 16, 30, tzinfo=UTC),  # 00:30 on March 3
                   datetime(2026, 1, 1, 0, 0, tzinfo=UTC)):  # outside the 30 days
            s.add(InstanceRecord(model_key="approval_demo", version_id=version.id,
                                 version_number=1, title="t", status="completed",
                                 started_by="alice", created_at=at, updated_at=at,
                                 completed_at=at, state="{}", data={}, suspended=False))
    with transaction(env.sessions) as s:
        days = dict(dashboard.throughput(s, datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
                                         ZoneInfo("Asia/Shanghai")))
    assert len(days) == 30 and max(days) == date(2026, 3, 3)
    assert days[date(2026, 3, 2)] == 1 and days[date(2026, 3, 3)] == 1
    assert sum(days.values()) == 2


def test_dashboard_timers_this_week_and_empty_states(client, env):
    login(client, "mgr")
    html = text(client.get("/dashboard"))
    assert "目前没有进行中的流程" in html and "还没有已复盘的项目" in html
    assert "未来 7 天没有到期的定时器" in html
    waiting = start(env, "alice", "倒计时海报", 500)
    complete_open(env, waiting, "alice", {"description": "x"})
    html = text(client.get("/dashboard"))
    assert "冷静期" in html and "倒计时海报" in html
    assert "03-02 10:00" in html  # due 1 h after 09:00 Shanghai time
