"""退回 and 撤回 reopen a step with its form as it was last submitted (issue 14): the manager
returns 方案设计 from 内部评审 and the planner finds every plan field and both lists filled in,
through the API's task data and the task page's form, with who returned it, when and why. Keys
outside the step's form keep the values the step started from."""

from __future__ import annotations

from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.people.accounts import actor_for
from engine.read import task_page
from engine.store.db import transaction
from tests.scenarios import Api, add_extra_staff, deploy_department_models, renewed_if_cold
from tests.scenarios.initiation_data import CHARTER, PLAN, START_DATA


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def _plan_designed(api: Api) -> int:
    """An instance whose 方案设计 `sup` has just submitted with PLAN."""
    iid = api.start("alice", "project_initiation", START_DATA)["id"]
    api.do("alice", iid, "Task_internal_research", {
        "interview_summary": "访谈销售部：目标提升Q3销售额20%，可投入 3 人",
        "measurable_goal": "提升Q3销售额20%",
        "estimated_budget": 150000,
    })
    api.do("bob", iid, "Task_external_research", {
        "industry_report_summary": "行业报告：直播预售转化率显著提升", "competitor_cases": "竞品A",
    })
    api.do("sup", iid, "Task_charter_draft", CHARTER)
    api.do("mgr", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    api.do("req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    api.do("sup", iid, "Task_plan_design", PLAN)
    return iid


def _view(ctx: EngineContext, username: str, task_id: str) -> dict[str, Any]:
    ctx = renewed_if_cold(ctx)
    with transaction(ctx.sessions) as s:
        return task_page.task_view(ctx, s, actor_for(s, username), task_id)


def _reopened_data(api: Api, iid: int) -> tuple[dict[str, Any], dict[str, Any]]:
    again = api.task("sup", iid, "Task_plan_design")
    detail = api.get("sup", f"/tasks/{again['id']}").get_json()
    return again, detail["data"]


def test_a_returned_step_reopens_with_what_was_submitted(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    iid = _plan_designed(api)
    review = api.task("mgr", iid, "Task_internal_review")
    r = api.post(
        "mgr",
        f"/tasks/{review['id']}/return",
        {"target": "Task_plan_design", "reason": "预算依据不足，请补充报价单"},
    )
    assert r.status_code == 200, r.get_json()

    again, data = _reopened_data(api, iid)
    assert {k: data.get(k) for k in PLAN} == PLAN  # every field and both lists
    # keys outside the plan form: as the step started (the charter's, the start form's)
    assert data["project_goal"] == CHARTER["project_goal"]
    assert data["project_name"] == START_DATA["project_name"]
    assert data["manager_charter_decision"] == "approve"

    view = _view(scenario_ctx, "sup", again["id"])
    assert {k: view["form_data"].get(k) for k in PLAN} == PLAN
    assert view["reopened"] == {
        "kind": "returned",
        "by": "mgr",
        "by_name": view["reopened"]["by_name"],
        "at": view["reopened"]["at"],
        "reason": "预算依据不足，请补充报价单",
    }
    assert view["reopened"]["by_name"]  # a display name, not nothing
    assert view["reopened"]["at"].replace(tzinfo=None) == clock.now().replace(tzinfo=None)
    # the API tells the same (one read model), its time as ISO 8601
    told = api.get("sup", f"/tasks/{again['id']}").get_json()["reopened"]
    assert told == {**view["reopened"], "at": view["reopened"]["at"].isoformat()}

    # submitted again as it stands, the process carries on with the same plan
    changed = {**PLAN, "plan_resources": "会展供应商（附报价单）"}
    instance = api.complete("sup", again, changed)
    assert instance["data"]["budget"] == PLAN["budget"]
    assert instance["data"]["division_of_labour"] == PLAN["division_of_labour"]
    assert api.open_elements("mgr", iid) == ["Task_internal_review"]
    # the new step, once done, has no notice of its own; the old one never had one
    assert _view(scenario_ctx, "mgr", api.task("mgr", iid, "Task_internal_review")["id"])[
        "reopened"
    ] is None


def test_a_withdrawn_step_reopens_with_what_was_submitted(
    api: Api, scenario_ctx: EngineContext
) -> None:
    iid = _plan_designed(api)
    done = api.get("sup", "/tasks", query_string={"status": "completed", "per_page": 200})
    (plan_task,) = [
        t
        for t in done.get_json()["items"]
        if t["instance_id"] == iid and t["element_id"] == "Task_plan_design"
    ]
    r = api.post("sup", f"/tasks/{plan_task['id']}/withdraw", {"reason": "分工表漏了一项"})
    assert r.status_code == 200, r.get_json()

    again, data = _reopened_data(api, iid)
    assert again["id"] != plan_task["id"]
    assert {k: data.get(k) for k in PLAN} == PLAN
    assert data["project_goal"] == CHARTER["project_goal"]
    reopened = _view(scenario_ctx, "sup", again["id"])["reopened"]
    assert (reopened["kind"], reopened["by"], reopened["reason"]) == (
        "withdrawn",
        "sup",
        "分工表漏了一项",
    )
