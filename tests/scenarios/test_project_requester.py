"""Who speaks for the need (需求方) in 项目策划全流程: the requesting department confirms the
《项目立项书》 and reviews the plan — when the need is the executives' own strategy (需求来源 =
高层战略要求), 公司高层 do, not the 需求部门 group; when 产品部 raised it, 产品部 does."""

from __future__ import annotations

from typing import Any

import pytest

from engine.context import EngineContext
from engine.people.accounts import add_user
from engine.store.db import transaction
from engine.store.tables import GroupRecord
from tests.conftest import PASSWORD
from tests.scenarios import Api, add_extra_staff, deploy_department_models, who_has
from tests.scenarios.project_steps import PLAN, confirm_charter, draft_charter, research, start

USERS = ["alice", "bob", "mgr", "sup", "sup2", "req", "fin", "law", "sales1", "boss"]


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: Any
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def test_strategy_needs_are_confirmed_and_reviewed_by_executives(api: Api) -> None:
    iid = start(
        api,
        requirement_source="strategy",
        requesting_department="公司高层",
        requirement_description="高层战略要求：开拓华东新市场，策划区域渗透三步法。",
    )
    research(api, iid)
    draft_charter(api, iid)
    assert who_has(api, USERS, iid, "Task_requester_confirm") == ["boss"]
    confirm = api.task("boss", iid, "Task_requester_confirm")
    assert confirm["candidate_groups"] == ["executive"]
    # the 需求部门 group has no part in it: the task does not exist for them
    r = api.post("req", f"/tasks/{confirm['id']}/complete",
                 {"data": {"requester_charter_decision": "approve"}})
    assert r.status_code == 404
    confirm_charter(api, iid, requester="boss")

    api.do("sup", iid, "Task_plan_design", PLAN)
    api.do("mgr", iid, "Task_internal_review",
           {"internal_review_comments": "可行", "internal_review_decision": "approve"})
    # the plan is reviewed for the need by whoever raised it: the executives
    assert who_has(api, USERS, iid, "Task_requester_review") == ["boss"]
    assert who_has(api, USERS, iid, "Task_finance_review") == ["fin"]


def test_a_department_need_stays_with_the_requesting_department(api: Api) -> None:
    iid = start(api)  # 业务部门需求 from 销售部
    research(api, iid)
    draft_charter(api, iid)
    assert who_has(api, USERS, iid, "Task_requester_confirm") == ["req"]
    assert api.task("req", iid, "Task_requester_confirm")["candidate_groups"] == ["requester"]


def test_a_need_of_the_product_department_goes_to_产品部(
    api: Api, scenario_ctx: EngineContext
) -> None:
    """产品部 is a standard group (seeded by the migrations like the others): a need it raises
    is confirmed and reviewed by its people, not by the 需求部门 group."""
    with transaction(scenario_ctx.sessions) as session:
        add_user(session, "prod1", PASSWORD, now=scenario_ctx.clock.now(), groups=["product"],
                 display_name="产品部何经理")
        assert session.get(GroupRecord, "product").display_name == "产品部"
    users = [*USERS, "prod1"]
    iid = start(
        api,
        requesting_department="产品部",
        requirement_description="产品部提出新品上市需求：区域渗透三步法（调研-试点-复制）。",
    )
    research(api, iid)
    draft_charter(api, iid)
    assert who_has(api, users, iid, "Task_requester_confirm") == ["prod1"]
    assert api.task("prod1", iid, "Task_requester_confirm")["candidate_groups"] == ["product"]
    confirm_charter(api, iid, requester="prod1")
    api.do("sup", iid, "Task_plan_design", PLAN)
    api.do("mgr", iid, "Task_internal_review",
           {"internal_review_comments": "可行", "internal_review_decision": "approve"})
    assert who_has(api, users, iid, "Task_requester_review") == ["prod1"]
