"""考核数据 (managers and process owners): the period's numbers per person and per project with
a chart, the .xlsx export, and the award nominations (月度创意之星 for a month, 季度项目标杆奖
for a quarter) made from them — the API's read models and use case (`web/api/kpis.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.access import may_open
from engine.errors import Conflict, InvalidInput
from engine.read import awards, kpis
from engine.usecases.awards import nominate
from engine.wall_clock import local
from web.api.kpis import xlsx_response
from web.core import engine_ctx, unit_of_work
from web.errors import error_page
from web.i18n import current_language, translate
from web.pages import bp
from web.pages.common import manage_page, the_actor


def _allowed(actor: Any) -> bool:
    return may_open(actor, "kpis")


def period_choices(today: date) -> list[tuple[str, str]]:
    """(key, label): the last 12 months, the last 4 quarters, this year and last year."""
    out = []
    for back in range(12):
        m = today.year * 12 + today.month - 1 - back
        out.append((f"{m // 12}-{m % 12 + 1:02d}",
                    translate("reports.kpis.month", year=m // 12, month=m % 12 + 1)))
    q = today.year * 4 + (today.month - 1) // 3
    for back in range(4):
        year, quarter = divmod(q - back, 4)
        out.append((f"{year}-Q{quarter + 1}",
                    translate("reports.kpis.quarter", year=year, quarter=quarter + 1)))
    out += [(str(y), translate("reports.kpis.year", year=y)) for y in (today.year,
                                                                        today.year - 1)]
    return out


def _found(period: str) -> dict[str, Any]:
    ctx = engine_ctx()
    with unit_of_work() as session:
        found = kpis.kpis(session, the_actor(), period, ctx.settings.zone, ctx.clock.now(),
                          english=current_language() == "en")
        found["nominations"] = awards.list_nominations(session, the_actor(),
                                                       found["period"]["key"])
    return found


def _chart(found: dict[str, Any]) -> dict[str, Any]:
    people = found["people"]
    return {
        "labels": [p["name"] for p in people],
        "series": [
            {"label": translate("reports.kpis.completion_rate"),
             "data": [p["completion_rate"] for p in people], "kind": "completion"},
            {"label": translate("reports.kpis.on_time_rate"),
             "data": [p["on_time_rate"] for p in people], "kind": "on_time"},
        ],
        "ideas": {"label": translate("reports.kpis.ideas"),
                  "data": [p["ideas_adopted"] for p in people]},
    }


@bp.get("/kpis")
@manage_page(_allowed)
def kpi_page() -> str | tuple[str, int]:
    try:
        found = _found(request.args.get("period", ""))
    except InvalidInput:
        return error_page(400, translate("reports.kpis.bad_period"))
    today = local(engine_ctx().clock.now(), engine_ctx().settings.zone).date()
    return render_template("pages/kpis.html", found=found, chart=_chart(found),
                           choices=period_choices(today), period=found["period"])


@bp.get("/kpis/export")
@manage_page(_allowed)
def kpi_export() -> Response | tuple[str, int]:
    try:
        found = _found(request.args.get("period", ""))
    except InvalidInput:
        return error_page(400, translate("reports.kpis.bad_period"))
    return xlsx_response(found, found["nominations"], en=current_language() == "en")


@bp.post("/kpis/nominations")
@manage_page(_allowed)
def kpi_nominate() -> Response:
    form = request.form
    period = form.get("period", "")
    award = form.get("award", "")
    ctx = engine_ctx()
    try:
        instance_id = int(form["instance_id"]) if form.get("instance_id") else None
        with unit_of_work() as session:
            subject = awards.nominee_figures(session, the_actor(), award, period, ctx.settings.zone,
                                             ctx.clock.now(), nominee=form.get("nominee", ""),
                                             instance_id=instance_id)
            record = nominate(ctx, session, the_actor(), award=award,
                              reason=form.get("reason", ""), **subject)
            name = record.subject_name
    except Conflict:
        flash(translate("reports.kpis.already_nominated"))
    except (InvalidInput, ValueError) as exc:
        field = exc.details.get("field") if isinstance(exc, InvalidInput) else ""
        flash(translate("reports.kpis.need_reason" if field == "reason"
                        else "reports.kpis.cannot_nominate"))
    else:
        flash(translate("reports.kpis.nominated", name=name,
                        award=translate(f"reports.award.{award}")))
    return redirect(url_for("pages.kpi_page", period=period) + "#nominations", 303)
