"""考核数据 (managers and process owners: `engine.access.may_open(actor, "kpis")`):
`GET /api/v1/kpis/people?period=`, `GET /api/v1/kpis/projects?period=`, the same as .xlsx
(`GET /api/v1/kpis/export?period=`), and the award nominations made from them
(`GET|POST /api/v1/awards/nominations`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response

from engine.read import awards, kpis
from engine.usecases.awards import nominate
from web.api.endpoint import Call, Media, endpoint
from web.api.schemas.kpis import (
    KpiQuery,
    Nominate,
    Nomination,
    NominationQuery,
    PeopleKpis,
    ProjectKpis,
)
from web.api.schemas.responses import Items
from web.kpi_xlsx import XLSX_MIME, file_name, kpi_workbook


def period_kpis(call: Call, period: str, english: bool = False) -> dict[str, Any]:
    tz = call.ctx.settings.zone
    return kpis.kpis(call.session, call.actor, period, tz, call.ctx.clock.now(), english)


def xlsx_response(found: dict[str, Any], nominations: list[dict[str, Any]], en: bool) -> Response:
    response = Response(kpi_workbook(found, nominations, en), mimetype=XLSX_MIME)
    name = file_name(found["period"]["key"], en)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"kpis-{found['period']['key']}.xlsx\"; "
        f"filename*=UTF-8''{quote(name)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@endpoint("GET", "/kpis/people", summary="考核数据 per person: 目标完成率, 按时完成率, "
          "创意贡献度, 协作满意度", query=KpiQuery, ok=PeopleKpis, errors=(400, 403))
def people_kpis(call: Call, query: KpiQuery) -> dict[str, Any]:
    found = period_kpis(call, query.period)
    return {"period": found["period"], "people": found["people"], "recorded": found["recorded"]}


@endpoint("GET", "/kpis/projects", summary="考核数据 per project", query=KpiQuery,
          ok=ProjectKpis, errors=(400, 403))
def project_kpis(call: Call, query: KpiQuery) -> dict[str, Any]:
    found = period_kpis(call, query.period)
    return {"period": found["period"], "projects": found["projects"],
            "recorded": found["recorded"]}


@endpoint("GET", "/kpis/export", summary="考核数据 as an Excel workbook (people, projects, "
          "nominations)", query=KpiQuery,
          ok=Media({XLSX_MIME: {"type": "string", "format": "binary"}}, "The workbook"),
          errors=(400, 403))
def export_kpis(call: Call, query: KpiQuery) -> Response:
    found = period_kpis(call, query.period)
    listed = awards.list_nominations(call.session, call.actor, found["period"]["key"])
    return xlsx_response(found, listed, en=False)


@endpoint("GET", "/awards/nominations", summary="Award nominations (newest first)",
          query=NominationQuery, ok=Items[Nomination], errors=(403,))
def list_nominations(call: Call, query: NominationQuery) -> dict[str, Any]:
    return {"items": awards.list_nominations(call.session, call.actor, query.period)}


@endpoint("POST", "/awards/nominations", summary="Nominate for 月度创意之星 (a person, a month) "
          "or 季度项目标杆奖 (a project, a quarter), from the period's numbers", body=Nominate,
          ok={201: Nomination}, errors=(400, 403, 409))
def add_nomination(call: Call, body: Nominate) -> dict[str, Any]:
    tz = call.ctx.settings.zone
    subject = awards.nominee_figures(call.session, call.actor, body.award, body.period, tz,
                                     call.ctx.clock.now(), nominee=body.nominee,
                                     instance_id=body.instance_id)
    record = nominate(call.ctx, call.session, call.actor, award=body.award,
                      reason=body.reason, **subject)
    found = awards.list_nominations(call.session, call.actor, record.period)
    return next(n for n in found if n["id"] == record.id)
