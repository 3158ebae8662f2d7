"""数据看板 (managers): running work, overdue tasks, timers due this week, throughput and the
retrospective KPI 目标完成率. Every chart has its numbers in a table beside it."""

from __future__ import annotations

from typing import Any

from flask import render_template

from engine.access import may_open
from engine.read import dashboard as board
from engine.read.instance_view import ACTIVE_STATUSES
from web.core import engine_ctx, unit_of_work
from web.i18n import current_language, status_name, translate
from web.pages import bp
from web.pages.common import manage_page
from web.shown_times import shown_time


def _chart_data(d: board.Dashboard) -> dict[str, Any]:
    en = current_language() == "en"
    return {
        "process": {
            "labels": [r["name"] for r in d.running_by_process],
            "series": [
                {"status": s, "label": status_name(s),
                 "data": [r["counts"][s] for r in d.running_by_process]}
                for s in ACTIVE_STATUSES
            ],
        },
        "stage": {
            "labels": [f"{r['name']} · {r['stage']}" for r in d.running_by_stage[:15]],
            "data": [r["instances"] for r in d.running_by_stage[:15]],
            "label": translate("manage.dash.instances"),
        },
        "overdue": {
            "labels": [r["name"] for r in d.overdue_by_person]
            + [(r["name_en"] if en else r["name"]) + translate("manage.dash.group_suffix")
               for r in d.overdue_by_group],
            "data": [r["tasks"] for r in d.overdue_by_person]
            + [r["tasks"] for r in d.overdue_by_group],
            "kinds": ["person"] * len(d.overdue_by_person) + ["group"] * len(d.overdue_by_group),
            "label": translate("manage.dash.tasks"),
        },
        "timers": {
            "labels": [shown_time(day, "day") for day, _ in d.timers_per_day],
            "data": [n for _, n in d.timers_per_day],
            "label": translate("manage.dash.timers_count"),
        },
        "throughput": {
            "labels": [shown_time(day, "day") for day, _ in d.throughput],
            "data": [n for _, n in d.throughput],
            "label": translate("manage.dash.completed"),
        },
        "kpi": {
            "labels": [r["title"] for r in d.kpi],
            "data": [r["completion_rate"] for r in d.kpi],
            "label": translate("manage.dash.kpi"),
        },
    }


@bp.get("/dashboard")
@manage_page(lambda actor: may_open(actor, "dashboard"))
def dashboard() -> str:
    ctx = engine_ctx()
    with unit_of_work() as session:
        d = board.build(session, ctx.clock.now(), ctx.settings.zone)
    running_total = sum(r["total"] for r in d.running_by_process)
    kpi_avg = round(sum(r["completion_rate"] for r in d.kpi) / len(d.kpi), 1) if d.kpi else None
    return render_template(
        "pages/manage_dashboard.html",
        d=d,
        statuses=ACTIVE_STATUSES,
        running_total=running_total,
        throughput_total=sum(n for _, n in d.throughput),
        kpi_avg=kpi_avg,
        chart=_chart_data(d),
        en=current_language() == "en",
        now_iso=ctx.clock.now().isoformat(),
    )
