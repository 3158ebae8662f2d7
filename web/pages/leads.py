"""意向客户 (销售部 and managers): the leads events handed to sales, filtered by status, event
and words, each with its latest update and a small form to set 跟进中 / 已转化 / 无效 with a
note — the same use case as `POST /api/v1/leads/{id}/status`, noted on the event's instance."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.access import instance_for, may_open
from engine.errors import Conflict, InvalidInput, NotFound, PlanflowError
from engine.read import leads
from engine.usecases.leads import update_lead
from web.core import engine_ctx, unit_of_work
from web.errors import error_page
from web.i18n import translate
from web.pages import bp
from web.pages.common import manage_page, the_actor
from web.redirects import safe_redirect_target

PER_PAGE = 50


def _query() -> leads.LeadQuery:
    args = request.args
    status = args.get("status", "")
    try:
        instance_id = int(args["event"]) if args.get("event") else None
        page = max(1, min(10_000, int(args.get("page") or 1)))
    except ValueError:
        instance_id, page = None, 1
    return leads.LeadQuery(status=status if status in leads.LEAD_STATUSES else "",
                           instance_id=instance_id, q=args.get("q", "").strip()[:100],
                           page=page, per_page=PER_PAGE)


@bp.get("/leads")
@manage_page(lambda actor: may_open(actor, "leads"))
def leads_list() -> str:
    actor = the_actor()
    query = _query()
    with unit_of_work() as session:
        found = leads.list_leads(session, actor, query)
        events = leads.lead_events(session, actor)
        visible = set()
        for event in events:  # link the events the reader may open (engine.access)
            try:
                instance_for(session, actor, "view", event["instance_id"])
                visible.add(event["instance_id"])
            except NotFound:
                pass
    pages = max(1, -(-found["total"] // PER_PAGE))
    return render_template(
        "pages/leads.html", found=found, query=query, events=events, visible=visible,
        pages=pages, statuses=leads.LEAD_STATUSES, updates=leads.LEAD_UPDATES,
        filtered=bool(query.status or query.instance_id or query.q),
        here=request.full_path.rstrip("?"),
    )


@bp.app_template_global("lead_page_url")
def lead_page_url(**changes: Any) -> str:
    args = {k: v for k, v in request.args.items() if v}
    args.update(changes)
    return url_for("pages.leads_list", **{k: v for k, v in args.items() if v})


@bp.post("/leads/<int:lead_id>/status")
@manage_page(lambda actor: may_open(actor, "leads"))
def lead_status(lead_id: int) -> Response | tuple[str, int]:
    status = request.form.get("status", "")
    note = request.form.get("note", "")
    back = safe_redirect_target(request.form.get("next"), url_for("pages.leads_list"))
    try:
        with unit_of_work() as session:
            lead = update_lead(engine_ctx(), session, the_actor(), lead_id, status, note)
            name = lead.customer_name
    except Conflict:
        flash(translate("reports.leads.unchanged"))
        return redirect(back, 303)
    except InvalidInput as exc:
        key = "reports.leads.bad_note" if exc.details.get("field") == "note" else \
            "reports.leads.bad_status"
        flash(translate(key))
        return redirect(back, 303)
    except PlanflowError as exc:
        return error_page(404 if isinstance(exc, NotFound) else 403)
    flash(translate("reports.leads.saved", name=name,
                    status=translate(f"reports.lead_status.{status}")))
    return redirect(back, 303)
