"""The 流程实例 list: who sees which instances, the filters, paging, and escaped titles."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.pages import login
from tests.web.manage_helpers import (
    XSS,
    bulk_instances,
    complete_open,
    env_fixture,  # noqa: F401  (the env fixture)
    start,
    text,
)


def test_staff_see_their_own_instances_managers_all(client, env):
    mine = start(env, "alice", "Alice 的活动")
    theirs = start(env, "req", "需求部门的活动")
    login(client, "alice")
    html = text(client.get("/instances"))
    assert "Alice 的活动" in html
    # alice is a specialist: the submit task of req's instance is offered to her group, but the
    # list rule is "started, assigned or completed", as in engine.read.queries.list_instances.
    assert "需求部门的活动" not in html
    login(client, "mgr")
    html = text(client.get("/instances"))
    assert "Alice 的活动" in html and "需求部门的活动" in html
    assert f"/instances/{mine}" in html and f"/instances/{theirs}" in html


def test_filters(client, env, clock):
    start(env, "alice", "甲活动", 5000)
    b = start(env, "bob", "乙活动", 500)
    complete_open(env, b, "bob", {"description": "小额"})  # -> waiting on the timer
    c = start(env, "alice", "丙活动", 5000)
    complete_open(env, c, "alice", {"description": "需审批"})  # -> review (经理审批)
    login(client, "mgr")

    def titles(query):
        html = text(client.get("/instances?" + query))
        return {t for t in ("甲活动", "乙活动", "丙活动") if t in html}

    assert titles("") == {"甲活动", "乙活动", "丙活动"}
    assert titles("process=approval_demo") == {"甲活动", "乙活动", "丙活动"}
    assert titles("process=other") == set()
    assert titles("status=waiting") == {"乙活动"}
    assert titles("status=running&process=approval_demo") == {"甲活动", "丙活动"}
    assert titles("stage=经理审批") == {"丙活动"}
    assert titles("stage=提交说明") == {"甲活动"}
    assert titles("started_by=bob") == {"乙活动"}
    assert titles("overdue=1") == set()
    clock.advance(days=3)  # the submit step is due in 2 days
    login(client, "mgr")  # an 8-hour session does not outlive three days
    assert titles("overdue=1") == {"甲活动"}
    assert titles("overdue=1&stage=提交说明") == {"甲活动"}
    assert titles("overdue=1&stage=经理审批") == set()
    assert titles("overdue=1&status=running&process=approval_demo") == {"甲活动"}
    assert titles("stage=提交说明&process=other") == set()
    today = (clock.now() + timedelta(hours=8)).date()
    assert titles(f"from={today}") == set()
    assert titles(f"from={today - timedelta(days=3)}&to={today - timedelta(days=3)}") == {
        "甲活动", "乙活动", "丙活动"}
    assert titles(f"to={today - timedelta(days=4)}") == set()
    login(client, "bob")  # staff: the same filters within their own instances
    assert titles("") == {"乙活动"} and titles("overdue=1") == set()
    login(client, "alice")
    assert titles("overdue=1&stage=提交说明") == {"甲活动"}
    # nonsense values are ignored, not errors
    assert client.get("/instances?status=bogus&from=notadate&page=x").status_code == 200
    # days at the ends of the calendar filter as they read (year 1 at +08:00 is year 0 in UTC,
    # and there is no day after 9999-12-31: each was a 500)
    assert titles("from=0001-01-01&to=9999-12-31") == {"甲活动", "丙活动"}
    assert titles("from=9999-12-31") == set() and titles("to=0001-01-01") == set()


def test_pagination(client, env):
    bulk_instances(env, 120)
    login(client, "mgr")
    first = text(client.get("/instances"))
    assert "共 120 条" in first and "第 1 / 3 页" in first
    assert len(re.findall(r'href="/instances/\d+"', first)) == 50
    assert "批量 119<" in first and "批量 70<" in first and "批量 69<" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = text(client.get("/instances?page=3"))
    assert len(re.findall(r'href="/instances/\d+"', last)) == 20 and 'rel="next"' not in last
    assert "批量 0<" in last and "批量 19<" in last and "批量 20<" not in last
    # filters survive paging
    page2 = text(client.get("/instances?status=running&page=2"))
    assert "status=running" in page2 and "page=3" in page2


def test_list_escapes_titles(client, env):
    start(env, "alice", XSS)
    login(client, "alice")
    html = text(client.get("/instances"))
    assert XSS not in html and "&lt;script&gt;alert(" in html
