"""《项目进度周报》 in 项目策划全流程: one report per week of the project's execution, counted from
its execution start (`cycle_start` in the 《项目立项书》) — not from the day the plan was approved —
and the last week's report is not cancelled when execution ends: it is filed, or closed with a
reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers
from tests.scenarios.project_steps import (
    WEEKLY,
    confirm_charter,
    design_and_review,
    draft_charter,
    research,
    start,
    to_execution,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# cycle_start 2026-04-01 (project_steps.CHARTER): week 1 is 04-01 … 04-07, due 04-08 00:00
WEEK_1_DUE = datetime(2026, 4, 8, tzinfo=SHANGHAI)


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def _at(api: Api, ctx: EngineContext, moment: datetime) -> None:
    api.clock.set(moment)
    fire_timers(ctx)


def _weekly_docs(api: Api, iid: int) -> list[dict[str, Any]]:
    return [d for d in api.documents("sup", iid) if d["doc_type"] == "weekly_report"]


def test_weekly_reports_run_from_the_execution_start(
    api: Api, scenario_ctx: EngineContext
) -> None:
    iid = start(api)
    to_execution(api, iid)  # approved on 2026-03-02, a month before execution starts
    assert api.clock.now() < WEEK_1_DUE - timedelta(days=30)
    timers = api.instance("sup", iid)["timers"]
    assert [(t["element_id"], datetime.fromisoformat(t["due_at"])) for t in timers] == [
        ("Event_weekly_timer", WEEK_1_DUE)
    ]

    # a week after the approval: no report (the project has not started executing)
    _at(api, scenario_ctx, api.clock.now() + timedelta(days=7, seconds=1))
    assert api.tasks("sup", iid, "Task_weekly_report") == []

    # the first week of execution has passed: its report is due, for the A角
    _at(api, scenario_ctx, WEEK_1_DUE + timedelta(seconds=1))
    report = api.task("sup", iid, "Task_weekly_report")
    data = api.get("sup", f"/tasks/{report['id']}").get_json()["data"]
    assert data["report_week_label"] == "第1周（2026-04-01 至 2026-04-07）"
    assert api.tasks("sup2", iid, "Task_weekly_report") == []  # the B角 only stands in
    api.complete("sup", report, WEEKLY)
    (doc,) = _weekly_docs(api, iid)
    assert doc["title"] == "《项目进度周报》— Q3 旺季促销 第1期（2026-04-08）"
    text = api.check_downloads("sup", iid, doc)
    assert "| 报告周期 | 2026-04-01 至 2026-04-07 |" in text
    assert "| 执行周次 | 执行开始日（2026-04-01）起第 1 周 |" in text

    # week 2 on its day
    _at(api, scenario_ctx, WEEK_1_DUE + timedelta(days=7, hours=9))
    report = api.task("sup", iid, "Task_weekly_report")
    data = api.get("sup", f"/tasks/{report['id']}").get_json()["data"]
    assert data["report_week_label"] == "第2周（2026-04-08 至 2026-04-14）"


def test_a_project_already_executing_reports_its_last_week_once(
    api: Api, scenario_ctx: EngineContext
) -> None:
    """Execution started before the plan was approved: the weeks already gone are not each
    reported; the report of the week that has just passed is due at once."""
    iid = start(api)
    to_execution_from(api, iid, cycle_start="2026-02-01")
    _at(api, scenario_ctx, api.clock.now() + timedelta(seconds=1))
    (report,) = api.tasks("sup", iid, "Task_weekly_report")
    data = api.get("sup", f"/tasks/{report['id']}").get_json()["data"]
    # approved 2026-03-02: 29 days after 02-01, so week 4 (02-22 … 02-28) has just passed
    assert data["report_week_label"] == "第4周（2026-02-22 至 2026-02-28）"
    timers = api.instance("sup", iid)["timers"]
    due = [datetime.fromisoformat(t["due_at"]) for t in timers]
    assert due == [datetime(2026, 3, 8, tzinfo=SHANGHAI)]  # then week 5, on the same grid


def to_execution_from(api: Api, iid: int, cycle_start: str) -> None:
    research(api, iid)
    draft_charter(api, iid, cycle_start=cycle_start)
    confirm_charter(api, iid)
    design_and_review(api, iid)
    api.do("mgr", iid, "Task_budget_approval", {"budget_approval_decision": "approve"})


def test_the_last_reports_outlive_the_execution(api: Api, scenario_ctx: EngineContext) -> None:
    iid = start(api)
    to_execution(api, iid)
    _at(api, scenario_ctx, WEEK_1_DUE + timedelta(seconds=1))
    _at(api, scenario_ctx, WEEK_1_DUE + timedelta(days=7, seconds=1))
    week_1, week_2 = sorted(
        api.tasks("sup", iid, "Task_weekly_report"), key=lambda t: t["created_at"]
    )

    api.do("sup", iid, "Task_execution_monitoring",
           {"execution_summary": "提前两天完成执行", "execution_finished": True})
    # both reports are still there for the A角 — nothing was cancelled
    still = {t["id"] for t in api.tasks("sup", iid, "Task_weekly_report")}
    assert still == {week_1["id"], week_2["id"]}
    cancelled = [
        a for a in api.instance("mgr", iid)["audit"]
        if a["action"] == "task_cancelled" and a["element_id"] == "Task_weekly_report"
    ]
    assert cancelled == []
    # and no new week starts: the weekly cycle ended with the execution
    _at(api, scenario_ctx, WEEK_1_DUE + timedelta(days=21, seconds=1))
    assert len(api.tasks("sup", iid, "Task_weekly_report")) == 2

    # week 1 is filed as usual; week 2 is closed, which needs a reason
    api.complete("sup", week_1, WEEKLY)
    r = api.post("sup", f"/tasks/{week_2['id']}/complete",
                 {"data": {"weekly_report_action": "close"}})
    assert r.status_code == 422
    assert "weekly_close_reason" in r.get_json()["error"]["details"]["fields"]
    reason = "执行已于本周提前结束，本周进展已写入执行总结"
    api.complete("sup", week_2,
                 {"weekly_report_action": "close", "weekly_close_reason": reason})
    assert api.tasks("sup", iid, "Task_weekly_report") == []
    assert [d["title"] for d in _weekly_docs(api, iid)] == [
        "《项目进度周报》— Q3 旺季促销 第1期（2026-04-29）"  # filed late, after the execution
    ]
    closed = [
        a for a in api.instance("mgr", iid)["audit"]
        if a["action"] == "task_completed" and a["element_id"] == "Task_weekly_report"
    ][-1]
    assert closed["actor"] == "sup"
    assert closed["details"]["data"]["weekly_close_reason"] == reason
