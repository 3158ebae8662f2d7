"""The UI download route `pages.instance_document` (login, same visibility as the instance)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from docx import Document
from flask import url_for

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.pages import login
from tests.scenarios import Api, add_extra_staff, deploy_department_models


@pytest.fixture
def charter(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> tuple[int, dict[str, Any]]:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    api = Api(client, token_for, clock)
    iid = api.start(
        "alice",
        "project_initiation",
        {
            "project_name": "新品预售",
            "requirement_source": "market_trend",
            "requesting_department": "销售部",
            "requirement_description": "竞品推出直播预售，需要跟进",
            "a_owner": "sup",
            "b_owner": "sup2",
        },
    )["id"]
    api.do(
        "alice",
        iid,
        "Task_internal_research",
        {
            "interview_summary": "访谈销售部，明确目标与资源",
            "measurable_goal": "+20%",
            "estimated_budget": 1,
        },
    )
    api.do(
        "bob", iid, "Task_external_research", {"industry_report_summary": "行业报告摘要十字以上"}
    )
    api.do(
        "sup",
        iid,
        "Task_charter_draft",
        {
            "project_goal": "提升销售额",
            "budget": 80000,
            "cycle_start": "2026-04-01",
            "cycle_end": "2026-05-31",
            "core_strategy": "直播预售",
        },
    )
    return iid, api.documents("sup", iid)[0]


def test_download_from_the_ui(app: Any, client: Any, charter: tuple[int, dict[str, Any]]) -> None:
    iid, doc = charter
    with app.test_request_context():
        path = url_for("pages.instance_document", instance_id=iid, doc_id=doc["id"])
    assert path == f"/instances/{iid}/documents/{doc['id']}"
    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]

    login(client, "sup")
    r = client.get(path)
    assert r.status_code == 200 and r.mimetype == "text/markdown"
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert r.get_data(as_text=True).startswith("# 《项目立项书》")
    r = client.get(path, query_string={"format": "docx"})
    assert r.status_code == 200
    word = Document(io.BytesIO(r.get_data()))
    assert word.paragraphs[0].text == "《项目立项书》"
    assert client.get(path, query_string={"format": "exe"}).status_code == 400
    assert client.get(f"/instances/{iid}/documents/9999").status_code == 404
    # the instance page links the document now that the route exists
    assert path in client.get(f"/instances/{iid}").get_data(as_text=True)


def test_ui_download_does_not_exist_for_outsiders(
    client: Any, charter: tuple[int, dict[str, Any]]
) -> None:
    iid, doc = charter
    login(client, "fin")  # no part in it: the instance and its documents do not exist to him
    assert client.get(f"/instances/{iid}/documents/{doc['id']}").status_code == 404
