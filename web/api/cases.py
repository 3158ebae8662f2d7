"""案例库: `GET /api/v1/cases?q=&category=&outcome=&tag=` and `GET /api/v1/cases/{id}` (everyone;
the rule is `engine.access.may_open(actor, "cases")`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from engine.read import cases
from web.api.endpoint import Call, endpoint
from web.api.schemas.cases import Case, CasePage, CaseQuery


def _iso(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "created_at": item["created_at"].isoformat()}


@endpoint("GET", "/cases", summary="案例库: search the case library (newest first)",
          query=CaseQuery, ok=CasePage, errors=(403,))
def list_cases(call: Call, query: CaseQuery) -> dict[str, Any]:
    wanted = cases.CaseQuery(q=query.q, category=query.category or "",
                             outcome=query.outcome or "", tag=query.tag, page=query.page,
                             per_page=query.per_page)
    found = cases.list_cases(call.ctx, call.session, call.actor, wanted)
    page = asdict(found)
    page["items"] = [_iso(i) for i in found.items]
    return page


@endpoint("GET", "/cases/<int:case_id>", summary="One case: project, results, report and the "
          "start-form template", ok=Case, errors=(403, 404))
def get_case(call: Call, case_id: int) -> dict[str, Any]:
    return _iso(cases.get_case(call.ctx, call.session, call.actor, case_id))
