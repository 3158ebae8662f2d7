"""The management pages: 流程实例 (list, detail, actions), 数据看板, 流程模型 (versions, diff,
editors' deploy, upload), 用户与角色 and 工作日历 — roles, CSRF, validation, effects, escaping."""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
import time
from datetime import date, timedelta
from io import BytesIO

import pytest
from sqlalchemy import insert, select, update

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import (
    AuditRecord,
    HumanTaskRow,
    InstanceRecord,
    ProcessModelRecord,
    ProcessVersionRecord,
    TaskCandidateRow,
    TimerRow,
    UserRecord,
)
from engine.timing.timers import process_due
from engine.usecases import instances
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import FIXTURES, MODELS, PASSWORD, deploy_fixture
from tests.pages import login

XSS = "<script>alert('x')</script>"


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def env(app, client, sqlite_ctx, api_staff):
    deploy_fixture(sqlite_ctx)
    return sqlite_ctx


def start(ctx, who, title="新品推广", amount=5000):
    with transaction(ctx.sessions) as s:
        return instances.start(ctx, s, actor_for(s, who), "approval_demo",
                               {"title": title, "amount": amount}).id


def complete_open(ctx, instance_id, who, data):
    with transaction(ctx.sessions) as s:
        task = s.scalar(select(HumanTaskRow).where(
            HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"))
        instances.complete(ctx, s, actor_for(s, who), task.id, data)


def record(ctx, instance_id):
    with transaction(ctx.sessions) as s:
        return s.get(InstanceRecord, instance_id)


def text(response):
    return response.get_data(as_text=True)


def bulk_instances(ctx, n, *, model_key="approval_demo", status="running", started_by="alice",
                   start_at=None, data=None, title="批量 {i}", tasks=False, due=None):
    """Rows as the engine would leave them, written directly (no workflow runs): for lists,
    paging and timing. `state` holds a realistic amount of bytes."""
    with transaction(ctx.sessions) as s:
        version = s.scalar(select(ProcessVersionRecord).where(
            ProcessVersionRecord.model_key == "approval_demo"))
        at = start_at or ctx.clock.now()
        filler = json.dumps({"tasks": {str(k): {"state": 64, "data": {"x": "y" * 40}}
                                       for k in range(60)}})
        rows = [
            {
                "model_key": model_key, "version_id": version.id, "version_number": 1,
                "title": title.format(i=i), "status": status, "started_by": started_by,
                "created_at": at - timedelta(minutes=i), "updated_at": at,
                "completed_at": at if status == "completed" else None,
                "state": filler, "data": data or {"amount": i},
                "stage": "提交说明" if tasks else None, "suspended": False, "lock_version": 1,
            }
            for i in range(n)
        ]
        s.execute(insert(InstanceRecord), rows)
        if tasks:
            ids = s.scalars(select(InstanceRecord.id).where(InstanceRecord.model_key == model_key)
                            .order_by(InstanceRecord.id.desc()).limit(n)).all()
            s.execute(insert(HumanTaskRow), [
                {"id": f"bulk-{i}", "instance_id": i, "model_key": model_key,
                 "element_id": "submit", "name": "提交说明", "lane": "策划专员",
                 "status": "open", "due_at": due, "created_at": at, "assignee": None}
                for i in ids
            ])
            s.execute(insert(TaskCandidateRow), [
                {"task_id": f"bulk-{i}", "group_name": "planning_specialist"} for i in ids
            ])


# --- access per role ----------------------------------------------------------------------------

PAGES = ["/dashboard", "/models", "/models/approval_demo", "/models/approval_demo/edit",
         "/models/approval_demo/forms/approval_start.form", "/models/new",
         "/models/approval_demo/versions/1/files/approval_demo.bpmn",
         "/models/approval_demo/diff?a=1&b=1", "/admin/users", "/admin/calendar"]
ALLOWED = {
    "alice": set(),
    "mgr": {"/dashboard"},
    "owner": {p for p in PAGES if p.startswith("/models")},
    "root": set(PAGES),
}


@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_status_codes_per_role(client, env, who):
    login(client, who)
    for path in PAGES:
        expected = 200 if path in ALLOWED[who] else 403
        r = client.get(path)
        assert r.status_code == expected, (who, path, r.status_code)
        if expected == 403:
            assert "无权访问" in text(r)
    assert client.get("/instances").status_code == 200


def test_pages_need_login(client, env):
    for path in ["/instances", "/instances/1", *PAGES]:
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path


def test_unknown_ids_are_404(client, env):
    login(client, "root")
    for path in ["/instances/999", "/models/nope", "/models/nope/edit",
                 "/models/approval_demo/forms/nope.form", "/models/approval_demo/dmn/nope.dmn",
                 "/models/approval_demo/versions/9/files/approval_demo.bpmn",
                 "/models/approval_demo/diff?a=1&b=7"]:
        assert client.get(path).status_code == 404, path
    token = login(client, "root")
    assert client.post("/instances/999/suspend", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/users/nobody/active",
                       data={"csrf_token": token, "active": "0"}).status_code == 404


# --- CSRF on every POST -------------------------------------------------------------------------


def test_every_post_refuses_a_missing_or_wrong_csrf_token(client, env):
    iid = start(env, "alice")
    login(client, "root")
    posts = [
        f"/instances/{iid}/retry", f"/instances/{iid}/terminate", f"/instances/{iid}/suspend",
        f"/instances/{iid}/resume", "/models/new", "/models/approval_demo/deploy",
        "/admin/users", "/admin/users/bob/active", "/admin/users/bob/password",
        "/admin/users/bob/groups", "/admin/groups", "/admin/calendar/days",
        "/admin/calendar/years",
    ]
    for path in posts:
        assert client.post(path, data={"reason": "x"}).status_code == 400, path
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 400, path
        assert client.post(path, json={"file": "a.bpmn", "content": ""},
                           headers={"X-CSRF-Token": "forged"}).status_code == 400, path
    assert record(env, iid).status == "running" and not record(env, iid).suspended


# --- instance list ------------------------------------------------------------------------------


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


# --- instance detail ----------------------------------------------------------------------------


def _diagram(html):
    raw = re.search(r'<script type="application/json" id="pf-diagram-data">(.*?)</script>',
                    html, re.S).group(1)
    return json.loads(raw)


def test_detail_shows_progress_timeline_and_data(client, env):
    iid = start(env, "alice", "华东区推广", 500)
    complete_open(env, iid, "alice", {"description": "预算说明"})  # auto path -> timer
    login(client, "mgr")
    r = client.get(f"/instances/{iid}")
    assert r.status_code == 200
    html = text(r)
    d = _diagram(html)
    assert "BPMNDiagram" in d["xml"]  # laid out for the viewer (the fixture has no DI)
    h = d["highlights"]
    assert {"submit", "note"} <= set(h["completed"])
    assert list(h["waiting"]) == ["wait"] and h["active"] == [] and h["errors"] == []
    assert "冷静期" in html  # the timer, by name
    for words in ("发起流程", "完成任务", "自动处理", "生成待办"):
        assert words in html  # audit actions in words
    assert "预算说明" in html and "requested_on" in html  # data
    assert "2026-03-02 09:00" in html  # 01:00 UTC shown in Asia/Shanghai
    assert "bpmn-navigated-viewer.production.min.js" in html
    assert "bpmn-modeler" not in html


def test_detail_access_rules(client, env):
    iid = start(env, "alice")
    login(client, "fin")  # finance: neither started it nor offered a task
    assert client.get(f"/instances/{iid}").status_code == 404
    login(client, "bob")  # specialist: the submit task is offered to his group
    assert client.get(f"/instances/{iid}").status_code == 200
    login(client, "alice")
    assert client.get(f"/instances/{iid}").status_code == 200


def test_detail_escapes_title_and_data(client, env):
    iid = start(env, "alice", XSS)
    complete_open(env, iid, "alice", {"description": "<img src=x onerror=alert(1)>"})
    login(client, "alice")
    html = text(client.get(f"/instances/{iid}"))
    assert XSS not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # JSON inside the script element cannot close it
    script = re.search(r'id="pf-diagram-data">(.*?)</script>', html, re.S).group(1)
    assert "</" not in script


def test_documents_listed_and_linked_when_downloadable(app, client, env):
    from engine.store.tables import DocumentRecord

    iid = start(env, "alice")
    with transaction(env.sessions) as s:
        s.add(DocumentRecord(instance_id=iid, doc_type="charter", title="《项目立项书》<b>",
                             content_md="# x", created_at=env.clock.now()))
        doc_id = s.scalar(select(DocumentRecord.id))
    login(client, "alice")
    html = text(client.get(f"/instances/{iid}"))
    assert "《项目立项书》&lt;b&gt;" in html
    # linked only when the app has the download route (the documents issue adds it)
    routed = any(r.rule == "/instances/<int:instance_id>/documents/<int:doc_id>"
                 for r in app.url_map.iter_rules())
    assert (f'href="/instances/{iid}/documents/{doc_id}"' in html) == routed


def test_action_buttons_only_for_those_allowed(client, env):
    iid = start(env, "alice")
    login(client, "alice")  # initiator: may terminate, not suspend
    html = text(client.get(f"/instances/{iid}"))
    assert f"/instances/{iid}/terminate" in html and f"/instances/{iid}/suspend" not in html
    login(client, "mgr")  # manager: sees, may not operate
    html = text(client.get(f"/instances/{iid}"))
    assert "/terminate" not in html and "/suspend" not in html and "/retry" not in html
    login(client, "owner")  # process owner: suspend, not terminate (not the initiator)
    html = text(client.get(f"/instances/{iid}"))
    assert f"/instances/{iid}/suspend" in html and "/terminate" not in html
    assert "/retry" not in html  # no incident
    login(client, "root")
    html = text(client.get(f"/instances/{iid}"))
    assert f"/instances/{iid}/terminate" in html and f"/instances/{iid}/suspend" in html


def test_terminate(client, env):
    iid = start(env, "alice")
    token = login(client, "mgr")
    r = client.post(f"/instances/{iid}/terminate", data={"csrf_token": token, "reason": "x"})
    assert r.status_code == 403 and record(env, iid).status == "running"
    token = login(client, "alice")
    r = client.post(f"/instances/{iid}/terminate", data={"csrf_token": token, "reason": " "})
    assert r.status_code == 303 and record(env, iid).status == "running"
    assert "请填写终止原因" in text(client.get(f"/instances/{iid}"))
    r = client.post(f"/instances/{iid}/terminate",
                    data={"csrf_token": token, "reason": "需求取消 <b>"})
    assert r.status_code == 303
    assert record(env, iid).status == "terminated"
    html = text(client.get(f"/instances/{iid}"))
    assert "流程已终止" in html and "需求取消 &lt;b&gt;" in html
    assert f"/instances/{iid}/terminate" not in html
    # again: refused with a message, nothing changes
    r = client.post(f"/instances/{iid}/terminate", data={"csrf_token": token, "reason": "再次"})
    assert r.status_code == 303 and "操作未完成" in text(client.get(f"/instances/{iid}"))


def test_suspend_and_resume(client, env):
    iid = start(env, "alice")
    token = login(client, "alice")
    assert client.post(f"/instances/{iid}/suspend", data={"csrf_token": token}).status_code == 403
    token = login(client, "owner")
    assert client.post(f"/instances/{iid}/suspend", data={"csrf_token": token}).status_code == 303
    assert record(env, iid).suspended
    html = text(client.get(f"/instances/{iid}"))
    assert "流程已挂起" in html and f"/instances/{iid}/resume" in html
    assert client.post(f"/instances/{iid}/resume", data={"csrf_token": token}).status_code == 303
    assert not record(env, iid).suspended and record(env, iid).status == "running"


@pytest.fixture
def flaky(env):
    state = {"fail": True}
    # No automatic retries: the first failure is an incident for a person to retry.
    env.settings = dataclasses.replace(env.settings, service_retry_limit=0)

    @env.handlers.handler("flaky")
    def flaky_handler(params, ctx):
        if state["fail"]:
            raise RuntimeError("外部系统不可用 <503>")
        return {"ok": True}

    with transaction(env.sessions) as s:
        deploy(env, s, uploads_from_paths([FIXTURES / "models_extra" / "service_retry.bpmn"]),
               "owner")
    return state


def test_retry_after_an_incident(client, env, flaky):
    with transaction(env.sessions) as s:
        iid = instances.start(env, s, actor_for(s, "alice"), "service_retry",
                              {"attempt_limit": 1}).id
    assert record(env, iid).status == "error"
    login(client, "mgr")
    html = text(client.get(f"/instances/{iid}"))
    assert _diagram(html)["highlights"]["errors"] == ["call"]
    assert "外部系统不可用 &lt;503&gt;" in html and "/retry" not in html
    token = login(client, "alice")
    assert client.post(f"/instances/{iid}/retry", data={"csrf_token": token}).status_code == 403
    token = login(client, "owner")
    assert f"/instances/{iid}/retry" in text(client.get(f"/instances/{iid}"))
    flaky["fail"] = False
    assert client.post(f"/instances/{iid}/retry", data={"csrf_token": token}).status_code == 303
    assert record(env, iid).status == "completed"
    html = text(client.get(f"/instances/{iid}"))
    assert "已重试" in html and _diagram(html)["highlights"]["errors"] == []
    # no incident now: a second retry is refused with a message
    client.post(f"/instances/{iid}/retry", data={"csrf_token": token})
    assert "操作未完成" in text(client.get(f"/instances/{iid}"))


# --- dashboard ----------------------------------------------------------------------------------


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


# --- models -------------------------------------------------------------------------------------


def deploy_json(client, token, key, name, content):
    return client.post(f"/models/{key}/deploy", json={"file": name, "content": content},
                       headers={"X-CSRF-Token": token})


def latest_version(env, key="approval_demo"):
    with transaction(env.sessions) as s:
        return s.get(ProcessModelRecord, key).latest_version


BPMN = (MODELS / "approval_demo.bpmn").read_text(encoding="utf-8")


def test_models_list_and_detail(client, env):
    login(client, "owner")
    html = text(client.get("/models"))
    assert "测试审批" in html and "approval_demo" in html
    html = text(client.get("/models/approval_demo"))
    for f in ("approval_demo.bpmn", "approval_review.form", "approval_start.form"):
        assert f in html
    assert "/models/approval_demo/edit" in html
    assert "/models/approval_demo/forms/approval_review.form" in html


def test_download_file(client, env):
    login(client, "owner")
    r = client.get("/models/approval_demo/versions/1/files/approval_demo.bpmn")
    assert r.status_code == 200 and r.mimetype == "application/xml"
    assert "attachment" in r.headers["Content-Disposition"]
    assert text(r) == BPMN


def test_modeler_page_loads_latest_bpmn_with_layout(client, env):
    login(client, "owner")
    html = text(client.get("/models/approval_demo/edit"))
    data = json.loads(re.search(r'id="pf-editor-data">(.*?)</script>', html, re.S).group(1))
    assert data["file"] == "approval_demo.bpmn" and data["kind"] == "bpmn"
    assert "BPMNShape" in data["content"] and 'id="review"' in data["content"]
    assert "bpmn-modeler.production.min.js" in html and "navigated-viewer" not in html
    assert "bpmn-embedded.css" in html


def test_deploy_from_modeler_broken_then_fixed(client, env):
    token = login(client, "owner")
    broken = BPMN.replace("rounds = 0", "rounds = = 0")
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", broken)
    assert r.status_code == 400
    body = r.get_json()
    assert "init" in [p["element_id"] for p in body["error"]["details"]["problems"]]
    assert latest_version(env) == 1  # the previous version stays

    renamed = BPMN.replace('name="经理审批"', 'name="部门经理审批"')
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", renamed)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 2 and r.get_json()["created"] is True
    assert latest_version(env) == 2
    # same content again: no new version
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", renamed)
    assert r.get_json() == {**r.get_json(), "version": 2, "created": False}
    # the forms came along
    html = text(client.get("/models/approval_demo"))
    assert "v2" in html and "approval_review.form" in html


def test_deploy_refuses_a_changed_process_id_and_bad_input(client, env):
    token = login(client, "owner")
    other = BPMN.replace('id="approval_demo"', 'id="approval_copy"')
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", other)
    assert r.status_code == 400
    with transaction(env.sessions) as s:
        assert s.get(ProcessModelRecord, "approval_copy") is None
    assert deploy_json(client, token, "approval_demo", "x.txt", "a").status_code == 400
    assert deploy_json(client, token, "approval_demo", "approval_review.form",
                       "{not json").status_code == 400
    r = client.post("/models/approval_demo/deploy", data="nope",
                    headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert deploy_json(client, token, "nope", "a.bpmn", BPMN).status_code == 404
    assert deploy_json(client, token, "approval_demo", "other.form", "{}").status_code == 404
    assert latest_version(env) == 1
    token = login(client, "mgr")
    assert deploy_json(client, token, "approval_demo", "approval_demo.bpmn",
                       BPMN).status_code == 403


def test_form_editor_deploys_form_with_the_models_bpmn(client, env):
    token = login(client, "owner")
    html = text(client.get("/models/approval_demo/forms/approval_review.form"))
    data = json.loads(re.search(r'id="pf-editor-data">(.*?)</script>', html, re.S).group(1))
    schema = data["content"]
    assert schema["id"] == "approval_review" and "form-editor.umd.js" in html
    schema["components"][1]["label"] = "审批意见（选填）"
    r = deploy_json(client, token, "approval_demo", "approval_review.form",
                    json.dumps(schema, ensure_ascii=False))
    assert r.status_code == 200 and r.get_json()["version"] == 2
    with transaction(env.sessions) as s:
        v2 = s.scalar(select(ProcessVersionRecord).where(ProcessVersionRecord.version == 2))
        files = {f.name: f.content for f in v2.files}
    assert "审批意见（选填）" in files["approval_review.form"]
    assert files["approval_demo.bpmn"] == BPMN
    # a form that breaks validation is refused
    schema["components"][0]["key"] = ""
    r = deploy_json(client, token, "approval_demo", "approval_review.form", json.dumps(schema))
    assert r.status_code == 400 and latest_version(env) == 2


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="预算"
    namespace="http://planflow.test/dmn">
  <decision id="budget_level" name="预算审批分级">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="i1" label="预算金额"><inputExpression id="e1" typeRef="number">
        <text>amount</text></inputExpression></input>
      <output id="o1" label="审批组" name="approver_group" typeRef="string" />
      <rule id="r1"><inputEntry id="u1"><text>&lt;= 50000</text></inputEntry>
        <outputEntry id="l1"><text>"planning_supervisor"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def test_dmn_page_and_deploy(client, env):
    from engine.usecases.deploy import Upload

    with transaction(env.sessions) as s:
        deploy(env, s, [Upload("approval_demo.bpmn", BPMN.encode()),
                        Upload("budget_level.dmn", DMN.encode())], "owner")
    token = login(client, "owner")
    r = client.get("/models/approval_demo/dmn/budget_level.dmn")
    assert r.status_code == 200
    html = text(r)
    assert "dmn-modeler.production.min.js" in html and "预算审批分级" in html
    # the dmn-js bundle is loaded inside <body>
    assert html.index("dmn-modeler.production.min.js") > html.index("<body")
    changed = DMN.replace("50000", "80000")
    r = deploy_json(client, token, "approval_demo", "budget_level.dmn", changed)
    assert r.status_code == 200 and r.get_json()["version"] == 3
    html = text(client.get("/models/approval_demo/diff?a=2&b=3&file=budget_level.dmn"))
    assert '<span class="del">-' in html and '<span class="add">+' in html
    assert "&amp;lt;= 80000" in html  # the XML's own &lt; shown, escaped


def test_diff_between_versions_is_escaped(client, env):
    token = login(client, "owner")
    deploy_json(client, token, "approval_demo", "approval_demo.bpmn",
                BPMN.replace('name="经理审批"', 'name="经理&lt;审批&gt;"'))
    r = client.get("/models/approval_demo/diff?a=1&b=2&file=approval_demo.bpmn")
    assert r.status_code == 200
    html = text(r)
    assert '<span class="del">-    &lt;bpmn:userTask id=&#34;review&#34; name=&#34;经理审批' in html
    assert "经理&amp;lt;审批&amp;gt;" in html
    assert "<bpmn:userTask" not in html
    # picker on the model page once there are two versions
    assert "/models/approval_demo/diff" in text(client.get("/models/approval_demo"))


def test_upload_new_model(client, env):
    token = login(client, "owner")
    bpmn = (FIXTURES / "models_extra" / "service_retry.bpmn").read_bytes()
    r = client.post("/models/new", data={"files": (BytesIO(bpmn), "service_retry.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400  # no CSRF token
    r = client.post("/models/new", data={"csrf_token": token}, content_type="multipart/form-data")
    assert r.status_code == 400 and "请选择要上传的文件" in text(r)
    bad = bpmn.replace(b'after_ok = flaky_result["ok"]', b"after_ok = = 1")
    r = client.post("/models/new", data={"csrf_token": token,
                                          "files": (BytesIO(bad), "service_retry.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "after" in text(r)
    with transaction(env.sessions) as s:
        assert s.get(ProcessModelRecord, "service_retry") is None
    env.handlers.handler("flaky")(lambda params, ctx: {"ok": True})
    r = client.post("/models/new", data={"csrf_token": token,
                                          "files": (BytesIO(bpmn), "service_retry.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 303 and r.headers["Location"].endswith("/models/service_retry")
    assert "已部署" in text(client.get("/models/service_retry"))


# --- admin: users and groups --------------------------------------------------------------------


def user(env, username):
    with transaction(env.sessions) as s:
        u = s.scalar(select(UserRecord).where(UserRecord.username == username))
        return u and (u.is_active, u.is_admin, sorted(m.group_name for m in u.memberships))


def test_create_user_with_groups(client, env):
    token = login(client, "root")
    r = client.post("/admin/users", data={
        "csrf_token": token, "username": "carol", "display_name": "<b>Carol</b>",
        "email": "carol@example.com", "password": "long-enough-pw",
        "groups": ["design", "process_owner"]})
    assert r.status_code == 303
    assert user(env, "carol") == (True, False, ["design", "process_owner"])
    html = text(client.get("/admin/users"))
    assert "已创建用户 carol" in html and "&lt;b&gt;Carol&lt;/b&gt;" in html
    login(client, "carol", "long-enough-pw")
    assert client.get("/models").status_code == 200
    token = login(client, "root")
    r = client.post("/admin/users", data={"csrf_token": token, "username": "carol",
                                          "password": "long-enough-pw"})
    assert r.status_code == 409 and "已存在" in text(r)
    r = client.post("/admin/users", data={"csrf_token": token, "username": "dave",
                                          "password": "short"})
    assert r.status_code == 400 and user(env, "dave") is None
    r = client.post("/admin/users", data={"csrf_token": token, "username": "dave",
                                          "password": "long-enough-pw", "groups": ["nope"]})
    assert r.status_code == 400 and user(env, "dave") is None


def test_deactivate_reactivate_and_reset_password(client, env):
    token = login(client, "root")
    r = client.post("/admin/users/bob/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 303 and user(env, "bob")[0] is False
    with client.session_transaction() as s:
        s.clear()
    page = text(client.get("/login"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "bob", "password": PASSWORD,
                                    "csrf_token": csrf})
    assert r.status_code == 401
    token = login(client, "root")
    client.post("/admin/users/bob/active", data={"csrf_token": token, "active": "1"})
    assert user(env, "bob")[0] is True
    r = client.post("/admin/users/bob/password", data={"csrf_token": token, "password": "short"})
    assert r.status_code == 400
    r = client.post("/admin/users/bob/password",
                    data={"csrf_token": token, "password": "new-password-123"})
    assert r.status_code == 303
    with transaction(env.sessions) as s:
        assert s.scalar(select(AuditRecord).where(AuditRecord.action == "password_reset"))
    with client.session_transaction() as s:
        s.clear()
    page = text(client.get("/login"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "bob", "password": "new-password-123",
                                    "csrf_token": csrf})
    assert r.status_code == 302


def test_admin_cannot_lock_themselves_out(client, env):
    token = login(client, "root")
    r = client.post("/admin/users/root/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 400 and user(env, "root")[0] is True
    r = client.post("/admin/users/root/groups", data={"csrf_token": token, "groups": ["design"]})
    assert r.status_code == 400 and user(env, "root")[1:] == (True, ["admin"])


def test_change_groups(client, env):
    token = login(client, "root")
    r = client.post("/admin/users/bob/groups",
                    data={"csrf_token": token, "groups": ["planning_specialist", "admin"]})
    assert r.status_code == 303 and user(env, "bob") == (True, True,
                                                          ["admin", "planning_specialist"])
    r = client.post("/admin/users/bob/groups", data={"csrf_token": token, "groups": []})
    assert r.status_code == 303 and user(env, "bob") == (True, False, [])
    token = login(client, "bob")
    assert client.get("/admin/users").status_code == 403


def test_create_group(client, env):
    token = login(client, "root")
    r = client.post("/admin/groups", data={"csrf_token": token, "name": "Bad Name",
                                           "display_name": "x"})
    assert r.status_code == 400
    r = client.post("/admin/groups", data={"csrf_token": token, "name": "marketing_ops",
                                           "display_name": "市场运营<部>",
                                           "display_name_en": "Marketing ops"})
    assert r.status_code == 303
    html = text(client.get("/admin/users"))
    assert "marketing_ops" in html and "市场运营&lt;部&gt;" in html
    r = client.post("/admin/groups", data={"csrf_token": token, "name": "marketing_ops",
                                           "display_name": "另一个"})
    assert r.status_code == 409


def test_staff_cannot_post_admin_actions(client, env):
    token = login(client, "mgr")
    for path, data in [("/admin/users", {"username": "eve", "password": "long-enough-pw"}),
                       ("/admin/users/bob/active", {"active": "0"}),
                       ("/admin/users/bob/password", {"password": "long-enough-pw"}),
                       ("/admin/users/bob/groups", {"groups": ["admin"]}),
                       ("/admin/groups", {"name": "evil", "display_name": "evil"}),
                       ("/models/new", {})]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert user(env, "eve") is None and user(env, "bob") == (True, False,
                                                             ["planning_specialist"])


# --- working-day calendar -----------------------------------------------------------------------


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


def test_english_switch(client, env):
    login(client, "root")
    client.get("/lang/en?next=/instances")
    assert "Process instances" in text(client.get("/instances"))
    html = text(client.get("/admin/calendar?year=2026"))
    assert "Holidays and make-up working days" in html


# --- speed with 10k instances -------------------------------------------------------------------


def test_pages_are_fast_with_10k_instances(client, env, capsys):
    due = env.clock.now() - timedelta(days=1)
    bulk_instances(env, 10_000, tasks=True, due=None)
    bulk_instances(env, 300, model_key="approval_demo", tasks=False, status="completed",
                   started_by="bob")
    with transaction(env.sessions) as s:  # some overdue tasks
        s.execute(update(HumanTaskRow).where(HumanTaskRow.instance_id % 7 == 0)
                  .values(due_at=due))
        s.add(TimerRow(instance_id=1, task_id="t", element_id="wait", kind="timer",
                       due_at=env.clock.now() + timedelta(days=1)))
        some = s.scalar(select(InstanceRecord.id).order_by(InstanceRecord.id.desc()).limit(1))
    login(client, "root")
    urls = ["/instances", "/instances?process=approval_demo&page=3",
            "/instances?status=running", "/instances?overdue=1", "/instances?stage=提交说明",
            "/instances?started_by=bob", f"/instances/{some}", "/dashboard", "/models",
            "/admin/users"]
    timings = {}
    for url in urls:
        assert client.get(url).status_code == 200  # warm-up
        runs = []
        for _ in range(7):
            t0 = time.perf_counter()
            r = client.get(url)
            runs.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
        timings[url] = statistics.median(runs)
    with capsys.disabled():
        print("\nmedian ms with 10,300 instances:",
              ", ".join(f"{u} {ms:.0f}" for u, ms in timings.items()))
    # Budget: 100 ms median. Measured 11-37 ms on an idle 2-CPU machine; the guard here is
    # looser so that a busy CI box does not fail it, while a full scan or a workflow restore
    # per row (seconds at this size) still does.
    assert max(timings.values()) < 250, timings


# --- translations -------------------------------------------------------------------------------


def test_manage_catalog_is_complete():
    import string
    from pathlib import Path

    from web.i18n import catalog

    root = Path(__file__).parents[2] / "web"
    mine = json.loads((root / "translations" / "manage.json").read_text(encoding="utf-8"))
    assert mine and all(k.startswith("manage.") for k in mine)
    fields = string.Formatter()
    for key, entry in mine.items():
        assert entry.get("zh") and entry.get("en"), key
        zh = {f for _, f, _, _ in fields.parse(entry["zh"]) if f}
        en = {f.split(":")[0] for _, f, _, _ in fields.parse(entry["en"]) if f}
        assert zh <= en | {"month", "year"} and en <= zh | {"year"}, key
    used = set()
    for template in (root / "templates" / "pages").glob("manage_*.html"):
        used |= set(re.findall(r"_\('([a-z_.0-9]+)'\)", template.read_text(encoding="utf-8")))
    for module in ("instances", "dashboard", "models", "admin"):
        source = (root / "pages" / f"{module}.py").read_text(encoding="utf-8")
        used |= set(re.findall(r'translate\(\s*"([a-z_.0-9]+)"', source))
    merged = catalog()
    assert not sorted(k for k in used if k not in merged)


# --- the engine queries behind these pages, on SQLite and PostgreSQL ----------------------------


def test_read_models_on_each_backend(ctx, staff, clock):
    from zoneinfo import ZoneInfo

    from engine.people import admin as users_admin
    from engine.read import dashboard, instance_view, model_view

    tz = ZoneInfo("Asia/Shanghai")
    deploy_fixture(ctx)
    a = start(ctx, "alice", "甲", 5000)
    b = start(ctx, "bob", "乙", 500)
    complete_open(ctx, b, "bob", {"description": "x"})  # waiting on the 1 h timer
    clock.advance(days=3)
    bulk_instances(ctx, 2, model_key="project_initiation", status="completed",
                   started_by="mgr", data={"completion_rate": 88})
    with transaction(ctx.sessions) as s:
        mgr, alice = actor_for(s, "mgr"), actor_for(s, "alice")
        now = clock.now()

        def ids(actor, **kw):
            page = instance_view.list_instances(s, actor, instance_view.InstanceFilter(**kw),
                                                now=now, tz=tz)
            return [r["id"] for r in page.items], page.total

        assert ids(mgr)[1] == 4
        assert ids(mgr, process="approval_demo") == ([b, a], 2)
        assert ids(mgr, overdue=True) == ([a], 1)
        assert ids(mgr, overdue=True, stage="提交说明") == ([a], 1)
        assert ids(mgr, stage="提交说明", process="approval_demo", status="running") == ([a], 1)
        assert ids(alice) == ([a], 1)
        d = dashboard.build(s, now, tz)
        assert d.running_by_process[0]["counts"]["running"] == 1
        assert [r["completion_rate"] for r in d.kpi] == [88.0, 88.0]
        assert sum(n for _, n in d.throughput) == 2
        assert d.overdue_by_group[0]["group"] == "planning_specialist"
        root = actor_for(s, "root")
        users_admin.create_group(s, root, now, "ops_team", "运营组", "Ops")
        users_admin.change_groups(s, root, now, "bob", ["ops_team"])
        assert users_admin.list_groups(s)[-1]["name"] == "tech"
        assert {g["name"]: g["members"] for g in users_admin.list_groups(s)}["ops_team"] == 1
        users_admin.edit_calendar_days(s, root, now, date(2029, 1, 1), date(2029, 1, 2),
                                       "holiday", "元旦")
        lines, cut = model_view.diff(s, "approval_demo", 1, 1, "approval_demo.bpmn")
        assert lines == [] and not cut


def test_pages_show_the_engine_message_in_the_page_language(client, env):
    """The engine says "中文 (English)"; a page shows the half in its language."""
    token = login(client, "root")
    bad = {"csrf_token": token, "from": "0001-01-01", "kind": "holiday", "name": "x"}
    page = text(client.post("/admin/calendar/days", data=bad))
    assert "年份超出范围" in page and "year out of range" not in page
    client.get("/lang/en?next=/admin/calendar")
    page = text(client.post("/admin/calendar/days", data=bad))
    assert "year out of range" in page and "年份超出范围" not in page


@pytest.mark.parametrize(("message", "zh", "en"), [
    ("年份超出范围 (year out of range)", "年份超出范围", "year out of range"),
    # not "中文 (English)": shown whole in either language
    ("Waiting (timer)", "Waiting (timer)", "Waiting (timer)"),
    ("任务 (策划专员)", "任务 (策划专员)", "任务 (策划专员)"),
    *[(m, m, m) for m in ["未知的服务操作 (unknown service operation) 'x'"]],
])
def test_in_language_splits_only_a_chinese_english_message(client, message, zh, en):
    from web.i18n import in_language

    with client.application.test_request_context("/", headers={"Cookie": "lang=zh"}):
        assert in_language(message) == zh
    with client.application.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert in_language(message) == en
