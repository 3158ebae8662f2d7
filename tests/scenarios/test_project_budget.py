"""Budget control in 项目策划全流程 (预算审批分级): nobody approves their own request — the tier's
group may not contain the requester or the project's A角, else the next tier approves — and
追加预算 is judged on the running total (approved budget + every extra request approved or
under approval + this one), so splitting a request cannot stay under a tier. The instance shows
the approved total and the requests."""

from __future__ import annotations

from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.pages import as_user, html
from tests.scenarios import Api, add_extra_staff, deploy_department_models, who_has
from tests.scenarios.project_steps import (
    confirm_charter,
    design_and_review,
    draft_charter,
    research,
    start,
    to_budget_approval,
)

USERS = ["alice", "bob", "mgr", "sup", "sup2", "req", "fin", "boss"]


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def _notes(api: Api, iid: int) -> list[str]:
    audit = api.instance("boss", iid)["audit"]
    return [a["details"]["note"] for a in audit if a["action"] == "handler_note"]


def test_the_a角_does_not_approve_the_plan_budget(api: Api) -> None:
    """The A角 wrote the plan and its budget: 40,000 is the supervisors' tier, and the A角 is
    a supervisor — the manager approves it (and the B角, a supervisor too, cannot)."""
    iid = start(api)
    to_budget_approval(api, iid, budget=40000)
    assert who_has(api, USERS, iid, "Task_budget_approval") == ["mgr"]
    task = api.task("mgr", iid, "Task_budget_approval")
    assert task["candidate_groups"] == ["planning_manager"]
    assert "预算审批回避：Sup（A角）属于策划主管，改由策划部经理审批" in _notes(api, iid)


def test_a_manager_a角_goes_to_the_executives(api: Api) -> None:
    iid = start(api, a_owner="mgr")
    to_budget_approval(api, iid, owner="mgr", budget=120000)  # the manager's own tier
    assert who_has(api, USERS, iid, "Task_budget_approval") == ["boss"]
    task = api.task("boss", iid, "Task_budget_approval")
    r = api.post("mgr", f"/tasks/{task['id']}/complete",
                 {"data": {"budget_approval_decision": "approve"}})
    assert r.status_code == 403  # sees it (a manager sees every instance), may not decide it
    api.complete("boss", task, {"budget_approval_decision": "approve"})


def test_extra_budget_is_judged_on_the_running_total(
    api: Api, scenario_ctx: EngineContext, app: Any
) -> None:
    """A specialist is the A角 (no conflict on the way): 20,000 approved by a supervisor; then
    25,000 more (45,000 in all: still a supervisor's), another 25,000 (70,000: the manager's,
    although 25,000 alone is a supervisor's) and, while that one is under approval, 10,000
    (80,000 with the pending one: the manager's as well)."""
    iid = start(api, a_owner="alice", b_owner="bob")
    to_execution_as(api, iid, owner="alice", budget=20000, approver="sup")
    data = api.instance("alice", iid)["data"]
    assert data["approved_budget_total"] == 20000 and data["extra_budget_requests"] == []

    first = _request(api, iid, 25000, "追加小红书投放")
    assert first["candidate_groups"] == ["planning_supervisor"]
    assert _running_total(api, first) == 45000
    api.complete("sup2", first, {"extra_budget_decision": "approve"})
    assert api.instance("alice", iid)["data"]["approved_budget_total"] == 45000

    second = _request(api, iid, 25000, "追加直播投放")
    assert second["candidate_groups"] == ["planning_manager"]  # 70,000 in all
    assert _running_total(api, second) == 70000
    third = _request(api, iid, 10000, "追加物料")  # while the second is under approval
    assert third["candidate_groups"] == ["planning_manager"]
    assert _running_total(api, third) == 80000

    api.complete("mgr", second, {"extra_budget_decision": "approve"})
    api.complete("mgr", third, {"extra_budget_decision": "reject", "extra_budget_comment": "不必"})
    data = api.instance("alice", iid)["data"]
    assert data["approved_budget_total"] == 70000  # 20,000 + 25,000 + 25,000; not the rejected
    rows = [(r["no"], r["amount"], r["status"], r["approver_group"])
            for r in data["extra_budget_requests"]]
    assert rows == [
        (1, 25000, "approved", "planning_supervisor"),
        (2, 25000, "approved", "planning_manager"),
        (3, 10000, "rejected", "planning_manager"),
    ]

    # the instance page shows both, under their labels, people and tiers by name
    page = html(as_user(app, "mgr").get(f"/instances/{iid}"))
    assert "已批预算合计（元）" in page and "70000" in page.replace(",", "")
    assert "追加预算申请记录" in page
    for cell in ("追加直播投放", "已批准", "已驳回", "策划部经理", "策划主管", "Alice"):
        assert cell in page, cell


def test_an_extra_request_skips_the_tier_of_its_requester(api: Api) -> None:
    """Requested by a supervisor (not the A角): the supervisors' tier is passed over."""
    iid = start(api, a_owner="alice", b_owner="bob")
    to_execution_as(api, iid, owner="alice", budget=20000, approver="sup")
    task = _request(api, iid, 5000, "临时追加推广", requested_by="sup", by="sup")
    assert task["candidate_groups"] == ["planning_manager"]
    assert any(n.startswith("预算审批回避：Sup（申请人）属于策划主管") for n in _notes(api, iid))


def to_execution_as(api: Api, iid: int, owner: str, budget: int, approver: str) -> None:
    research(api, iid)
    draft_charter(api, iid, owner, budget=budget)
    confirm_charter(api, iid)
    design_and_review(api, iid, owner, budget=budget)
    api.do(approver, iid, "Task_budget_approval", {"budget_approval_decision": "approve"})


def _request(
    api: Api, iid: int, amount: int, reason: str, requested_by: str = "alice", by: str = "alice"
) -> dict[str, Any]:
    """Request extra budget (message, then the request form); the approval task."""
    before = {t["id"] for t in _open(api, iid, "Task_extra_budget_approval")}
    api.message(by, iid, "request_extra_budget",
                {"extra_budget_amount": amount, "extra_budget_reason": reason,
                 "requested_by": requested_by})
    (form,) = [t for t in api.tasks(requested_by, iid, "Task_extra_budget_request")]
    api.complete(requested_by, form,
                 {"extra_budget_amount": amount, "extra_budget_reason": reason})
    (task,) = [t for t in _open(api, iid, "Task_extra_budget_approval") if t["id"] not in before]
    return task


def _open(api: Api, iid: int, element_id: str) -> list[dict[str, Any]]:
    """The instance's open tasks of one step, as a manager sees them on the instance."""
    return [t for t in api.instance("boss", iid)["open_tasks"] if t["element_id"] == element_id]


def _running_total(api: Api, task: dict[str, Any]) -> int:
    return api.get("boss", f"/tasks/{task['id']}").get_json()["data"]["budget_running_total"]

