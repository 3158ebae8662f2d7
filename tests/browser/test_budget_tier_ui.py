"""The approver sees the budget tier by name (issue 14): 分级预算审批 and 追加预算审批 show
审批层级 as 策划部经理, read-only, never the group key ``planning_manager``. Saves
tests/screenshots/budget_approval.png."""

from __future__ import annotations

from tests.reports import api_for
from tests.scenarios.project_steps import start, to_budget_approval


def _tier_shown(page) -> str:
    """What the read-only 审批层级 field shows (form-js's display of a select)."""
    field = page.locator("[id$='-Field_approver_group-display']")
    assert field.count() == 1
    return field.inner_text()


def test_the_budget_tier_is_shown_by_its_name(page, live_server, screenshot) -> None:
    url = live_server.url
    api = api_for(live_server.ctx)
    iid = start(api, a_owner="sup", b_owner="bob")
    to_budget_approval(api, iid)  # 120,000 元: the manager's tier
    task = api.task("mgr", iid, "Task_budget_approval")

    live_server.login(page, "mgr")
    page.goto(f"{url}/tasks/{task['id']}")
    assert _tier_shown(page) == "策划部经理"
    form = page.locator(".fjs-container").inner_text()
    assert "planning_manager" not in form and "budget_approval" not in form
    assert "《预算审批分级》" in form
    # the step's instructions name the table as the department does, not by its key
    assert "budget_approval" not in page.locator("main").inner_text()
    screenshot(page, "budget_approval")

    api.do("mgr", iid, "Task_budget_approval", {"budget_approval_decision": "approve"})
    api.message("bob", iid, "request_extra_budget", {
        "extra_budget_amount": 30000, "extra_budget_reason": "追加直播推广", "requested_by": "bob",
    })
    api.do("bob", iid, "Task_extra_budget_request",
           {"extra_budget_amount": 30000, "extra_budget_reason": "追加直播推广"})
    extra = api.task("mgr", iid, "Task_extra_budget_approval")
    page.goto(f"{url}/tasks/{extra['id']}")
    assert _tier_shown(page) == "策划部经理"
    assert "planning_manager" not in page.locator(".fjs-container").inner_text()
