"""项目执行 on the instance page, in Chromium: the B角 (a specialist with no task of their own)
raises a risk and requests extra budget with the page's 执行中操作 forms; once approved, the
instance's data shows 已批预算合计 and the 追加预算申请记录 table (people and tiers by name).
Saves tests/screenshots/project_execution.png."""

from __future__ import annotations

from tests.reports import api_for
from tests.scenarios.project_steps import start, to_execution


def test_the_b角_raises_a_risk_and_requests_budget(page, live_server, screenshot) -> None:
    url = live_server.url
    api = api_for(live_server.ctx)
    iid = start(api, a_owner="sup", b_owner="bob")
    to_execution(api, iid)

    live_server.login(page, "bob")
    page.goto(f"{url}/instances/{iid}")
    actions = page.locator(".pf-message-actions")
    assert actions.count() == 1
    risk = actions.locator("form[data-message='raise_risk']")
    risk.get_by_label("风险描述").fill("活动当天可能暴雨")
    risk.get_by_label("风险等级").select_option("high")
    risk.get_by_role("button", name="上报风险").click()
    page.wait_for_load_state()
    assert "已上报风险" in page.locator("body").inner_text()
    assert api.task("mgr", iid, "Task_risk_response")

    budget = page.locator("form[data-message='request_extra_budget']")
    budget.get_by_label("追加金额（元）").fill("30000")
    budget.get_by_label("追加理由与用途").fill("追加直播推广")
    budget.get_by_role("button", name="提交申请").click()
    page.wait_for_load_state()
    assert "已提交追加预算申请" in page.locator("body").inner_text()

    api.do("bob", iid, "Task_extra_budget_request",
           {"extra_budget_amount": 30000, "extra_budget_reason": "追加直播推广"})
    # 120,000 + 30,000: the manager's tier
    api.do("mgr", iid, "Task_extra_budget_approval", {"extra_budget_decision": "approve"})
    page.goto(f"{url}/instances/{iid}")
    data = page.locator("#instance-data")
    total = data.locator("tr[data-key='approved_budget_total']")
    assert "150000" in total.inner_text().replace(",", "")
    requests = data.locator("tr[data-key='extra_budget_requests']")
    text = requests.inner_text()
    for cell in ("申请人", "状态", "审批层级", "Bob", "已批准", "策划部经理", "追加直播推广"):
        assert cell in text, cell
    screenshot(page, "project_execution")
