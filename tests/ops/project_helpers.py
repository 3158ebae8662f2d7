"""Shared by the A角/B角 absence tests (tests/ops/test_absence.py, test_absence_elsewhere.py,
test_instance_probe.py): the real project_initiation model started with li as A角 and zhao as
B角 (the `project` fixture, the instance id), and the two research steps that lead to the
charter draft. A test module that uses the fixture imports `project_fixture`."""

from __future__ import annotations

import pytest

from engine.settings import PROJECT_ROOT
from engine.store.db import transaction
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.ops.helpers import by_element, complete, start

PROJECT = {
    "project_name": "Q3 旺季促销",
    "requirement_source": "business_department",
    "requesting_department": "销售部",
    "requirement_description": "销售部希望在三季度做一次旺季促销活动。",
    "a_owner": "li",
    "b_owner": "zhao",
}


@pytest.fixture(name="project")
def project_fixture(ctx, people):
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([PROJECT_ROOT / "bpmn"]), "owner")
    iid = start(ctx, people["req"], "project_initiation", PROJECT)
    return iid


def research(ctx, people, iid):
    complete(
        ctx,
        people["alice"],
        by_element(ctx, iid, "Task_internal_research").id,
        {
            "interview_summary": "访谈销售部，目标明确。",
            "measurable_goal": "Q3 销售额 +20%",
            "estimated_budget": 80000,
        },
    )
    complete(
        ctx,
        people["alice"],
        by_element(ctx, iid, "Task_external_research").id,
        {
            "industry_report_summary": "行业报告显示促销季竞争激烈。",
        },
    )
