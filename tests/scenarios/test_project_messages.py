"""Risks and extra budget while a project executes, from the instance page and from the command
line — not only `POST …/messages`. The page offers 上报风险 and 申请追加预算 to whoever
`engine.access` lets send them (the A角 and B角 — even a specialist B角 with no task of their
own —, managers, who works on the instance) exactly while the instance waits for them;
`planflow message ID NAME --data JSON --as USER` sends them as that person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.pages import as_user, csrf, html
from tests.scenarios import Api, add_extra_staff, deploy_department_models
from tests.scenarios.project_steps import start, to_budget_approval, to_execution
from web.cli import main
from web.cli_common import State

FINISHED = {"execution_summary": "按计划完成", "execution_finished": True}


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def _post(page: Any, iid: int, name: str, form: dict[str, str]) -> Any:
    return page.post(f"/instances/{iid}/messages/{name}",
                     data={**form, "csrf_token": csrf(page)})


def test_the_b角_raises_a_risk_and_requests_budget_on_the_instance_page(
    api: Api, app: Any
) -> None:
    iid = start(api, a_owner="sup", b_owner="bob")  # the B角 is a specialist
    to_budget_approval(api, iid)
    bob = as_user(app, "bob")
    page = html(bob.get(f"/instances/{iid}"))
    assert "执行中操作" not in page  # not executing yet: nothing to raise
    api.do("mgr", iid, "Task_budget_approval", {"budget_approval_decision": "approve"})

    page = html(bob.get(f"/instances/{iid}"))
    assert "执行中操作" in page and "上报风险" in page and "申请追加预算" in page
    r = _post(bob, iid, "raise_risk", {"risk_description": "活动当天可能暴雨",
                                       "risk_level": "high"})
    assert r.status_code == 303
    assert "已上报风险" in html(bob.get(f"/instances/{iid}"))
    risk = api.task("mgr", iid, "Task_risk_response")
    data = api.get("mgr", f"/tasks/{risk['id']}").get_json()["data"]
    assert (data["risk_description"], data["risk_level"], data["risk_raised_by"]) == (
        "活动当天可能暴雨", "high", "bob"
    )

    # a bad amount sends nothing; a good one opens the request form for the B角 who asked
    _post(bob, iid, "request_extra_budget",
          {"extra_budget_amount": "-5", "extra_budget_reason": "追加直播推广"})
    assert "追加金额须为大于 0 的数字" in html(bob.get(f"/instances/{iid}"))
    assert api.tasks("bob", iid, "Task_extra_budget_request") == []
    _post(bob, iid, "request_extra_budget",
          {"extra_budget_amount": "30000", "extra_budget_reason": "追加直播推广"})
    request = api.task("bob", iid, "Task_extra_budget_request")
    data = api.get("bob", f"/tasks/{request['id']}").get_json()["data"]
    assert (data["extra_budget_amount"], data["extra_budget_reason"]) == (30000, "追加直播推广")
    audit = api.instance("mgr", iid)["audit"]
    sent = [(a["actor"], a["details"]["message"]) for a in audit
            if a["action"] == "message_received"]
    assert sent == [("bob", "raise_risk"), ("bob", "request_extra_budget")]

    # execution over: no more forms, and a form sent from an old page is refused
    api.do("sup", iid, "Task_execution_monitoring", FINISHED)
    assert "执行中操作" not in html(bob.get(f"/instances/{iid}"))
    r = _post(bob, iid, "raise_risk", {"risk_description": "迟到的风险", "risk_level": "low"})
    assert r.status_code == 303
    assert "操作未完成：流程当前不等待消息 raise_risk" in html(bob.get(f"/instances/{iid}"))


def test_who_may_not_send_does_not_see_the_forms(api: Api, app: Any) -> None:
    iid = start(api)
    to_execution(api, iid)
    assert "上报风险" in html(as_user(app, "mgr").get(f"/instances/{iid}"))  # a manager
    stranger = as_user(app, "sales1")  # no part in the project
    assert stranger.get(f"/instances/{iid}").status_code == 404
    r = _post(stranger, iid, "raise_risk", {"risk_description": "x", "risk_level": "low"})
    assert r.status_code == 404
    assert api.tasks("mgr", iid, "Task_risk_response") == []


@pytest.mark.compare_outcome_warm_and_cold(False)  # the CLI runs its own engine context
def test_planflow_message_sends_as_the_person(
    api: Api, scenario_ctx: EngineContext, tmp_path: Path
) -> None:
    iid = start(api)
    to_execution(api, iid)
    env = {
        "PLANFLOW_DATABASE_URL": scenario_ctx.settings.database_url,
        "PLANFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
    }

    def planflow(*args: str) -> Any:
        state = State()
        state.clock = api.clock  # the scenario's time
        return CliRunner().invoke(main, list(args), env=env, obj=state)

    data = json.dumps({"risk_description": "预售页面高并发故障", "risk_level": "high"})
    done = planflow("message", str(iid), "raise_risk", "--data", data, "--as", "sup")
    assert done.exit_code == 0, done.output
    assert "已发送 sent raise_risk" in done.output and "风险应对" in done.output
    risk = api.task("mgr", iid, "Task_risk_response")
    assert api.get("mgr", f"/tasks/{risk['id']}").get_json()["data"]["risk_raised_by"] == "sup"

    extra = json.dumps({"extra_budget_amount": 20000, "extra_budget_reason": "追加物料"})
    done = planflow("message", str(iid), "request_extra_budget", "--data", extra, "--as", "sup2")
    assert done.exit_code == 0, done.output
    assert api.tasks("sup2", iid, "Task_extra_budget_request")  # the B角's own request form

    # through engine.access: 404 for whoever may not know the instance, 409 when not waiting
    assert planflow("message", str(iid), "raise_risk", "--as", "sales1").exit_code == 4
    assert planflow("message", str(iid), "no_such_message", "--as", "sup").exit_code == 5
    api.do("sup", iid, "Task_execution_monitoring", FINISHED)
    late = planflow("message", str(iid), "raise_risk", "--as", "sup")
    assert late.exit_code == 5 and "raise_risk" in late.output
