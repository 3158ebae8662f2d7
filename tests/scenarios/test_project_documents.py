"""The project's documents as the department reads them: the approved 《项目立项书》 says 已确认,
who confirmed it and when; every document names people (A角, B角, 分工表 and 时间节点表 owners,
who confirmed) by their names, not their usernames."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.people.accounts import add_user
from engine.store.db import transaction
from tests.conftest import PASSWORD
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers
from tests.scenarios.project_steps import (
    PLAN,
    WEEKLY,
    confirm_charter,
    draft_charter,
    research,
    start,
)

PEOPLE = {"zhangsan": ("张三", "planning_supervisor"), "lisi": ("李四", "planning_supervisor")}


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    with transaction(scenario_ctx.sessions) as session:
        for username, (name, group) in PEOPLE.items():
            add_user(session, username, PASSWORD, now=clock.now(), display_name=name,
                     groups=[group])
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def _charters(api: Api, iid: int) -> list[dict[str, Any]]:
    return [d for d in api.documents("mgr", iid) if d["doc_type"] == "project_charter"]


def test_the_approved_charter_says_who_confirmed_it_and_when(
    api: Api, scenario_ctx: EngineContext
) -> None:
    iid = start(api, a_owner="zhangsan", b_owner="lisi")
    research(api, iid)
    draft_charter(api, iid, owner="zhangsan")
    (draft,) = _charters(api, iid)
    text = api.check_downloads("zhangsan", iid, draft)
    assert "| 状态 | 待确认 |" in text and "| 策划部经理 | 待确认 |" in text
    assert "| 项目负责人（A角） | 张三 |" in text and "| 备份负责人（B角） | 李四 |" in text
    assert "zhangsan" not in text and "lisi" not in text

    api.clock.set(api.clock.now() + timedelta(hours=2))
    api.do("mgr", iid, "Task_manager_confirm", {
        "manager_charter_decision": "approve", "manager_charter_comment": "同意，注意控制物料成本"
    })
    api.clock.set(api.clock.now() + timedelta(hours=1))
    confirmed_at = api.clock.now()
    api.do("req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})

    draft, approved = _charters(api, iid)
    assert approved["title"] == "《项目立项书》— Q3 旺季促销（已确认）"
    text = api.check_downloads("mgr", iid, approved)
    assert "| 状态 | 已确认 |" in text and "| 版本 | 第 1 版（已确认） |" in text
    manager_at = (confirmed_at - timedelta(hours=1)).astimezone(_shanghai())
    requester_at = confirmed_at.astimezone(_shanghai())
    assert f"| 策划部经理 | 同意 | Mgr | {manager_at:%Y-%m-%d %H:%M} |" in text
    assert f"| 需求部门（销售部） | 同意 | Req | {requester_at:%Y-%m-%d %H:%M} |" in text
    assert "- 策划部经理意见：同意，注意控制物料成本" in text
    assert "| 项目负责人（A角） | 张三 |" in text
    # the plan goes on meanwhile: plan design is open for the A角
    assert api.tasks("zhangsan", iid, "Task_plan_design")


def test_the_confirmation_after_a_send_back_is_the_last_round(
    api: Api, scenario_ctx: EngineContext
) -> None:
    iid = start(api)
    research(api, iid)
    draft_charter(api, iid)
    api.do("mgr", iid, "Task_manager_confirm",
           {"manager_charter_decision": "return", "manager_charter_return_reason": "预算偏高"})
    api.do("req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    assert len(_charters(api, iid)) == 1  # a send-back approves nothing
    draft_charter(api, iid, budget=100000)
    # this round the requester confirms first and the manager's confirmation approves it
    api.do("req", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    api.do("mgr", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    charters = _charters(api, iid)
    assert [c["title"] for c in charters][-1] == "《项目立项书》— Q3 旺季促销（已确认）"
    text = api.check_downloads("mgr", iid, charters[-1])
    assert "| 版本 | 第 2 版（已确认） |" in text and "退回" not in text
    assert "| 策划部经理 | 同意 | Mgr |" in text and "| 需求部门（销售部） | 同意 | Req |" in text


def test_plans_and_reports_name_people(api: Api, scenario_ctx: EngineContext) -> None:
    iid = start(api, a_owner="zhangsan", b_owner="lisi")
    research(api, iid)
    draft_charter(api, iid, owner="zhangsan")
    confirm_charter(api, iid)
    plan = {
        **PLAN,
        "division_of_labour": [
            {"work_item": "预售页面", "owner": "lisi", "department": "策划部"},
            {"work_item": "物料设计", "owner": "外部设计工作室", "department": "外部"},
        ],
        "milestones": [{"milestone": "预售页面上线", "due_date": "2026-04-10", "owner": "lisi"}],
    }
    api.do("zhangsan", iid, "Task_plan_design", plan)
    plan_doc = [d for d in api.documents("mgr", iid) if d["doc_type"] == "execution_plan"][-1]
    text = api.check_downloads("mgr", iid, plan_doc)
    assert "| 1 | 预售页面 | 李四 | 策划部 |" in text
    assert "| 2 | 物料设计 | 外部设计工作室 | 外部 |" in text  # free text stays as written
    assert "| 1 | 预售页面上线 | 2026-04-10 | 李四 |" in text
    assert "| 项目负责人（A角） | 张三 |" in text
    assert "lisi" not in text and "zhangsan" not in text

    # the weekly report too (the data itself keeps the usernames)
    api.do("mgr", iid, "Task_internal_review",
           {"internal_review_comments": "可行", "internal_review_decision": "approve"})
    for user, element, data in (
        ("req", "Task_requester_review", {"requester_review_decision": "approve"}),
        ("fin", "Task_finance_review",
         {"finance_review_decision": "approve", "finance_budget_checked": True}),
        ("law", "Task_legal_review",
         {"legal_review_decision": "approve", "legal_contract_checked": True}),
        ("mgr", "Task_budget_approval", {"budget_approval_decision": "approve"}),
    ):
        api.do(user, iid, element, data)
    api.clock.set(datetime(2026, 4, 8, 0, 0, 1, tzinfo=_shanghai()))
    fire_timers(scenario_ctx)
    api.do("zhangsan", iid, "Task_weekly_report", WEEKLY)
    weekly = [d for d in api.documents("mgr", iid) if d["doc_type"] == "weekly_report"][-1]
    text = api.check_downloads("mgr", iid, weekly)
    assert "| 项目负责人（A角） | 张三 |" in text and "| 预售页面上线 | 2026-04-10 | 李四 |" in text
    assert api.instance("mgr", iid)["data"]["a_owner"] == "zhangsan"


def _shanghai() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")
