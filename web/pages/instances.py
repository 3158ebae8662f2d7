"""流程实例: the filtered list, the detail page (diagram, timeline, data, documents) and the
operator actions (retry, terminate, suspend, resume).

The helpers the pages share (`manage_page`, error pages, labels) are in `web.pages.common`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from engine import operations
from engine.access import instance_for, instance_permissions
from engine.bpmn.layout import with_diagram
from engine.errors import Forbidden, NotFound, PlanflowError
from engine.read import data_view, instance_view, queries, version_files
from engine.read import names as naming
from engine.read.instance_detail import ACTION_AUDIT
from engine.usecases import control
from web.core import engine_ctx, unit_of_work
from web.errors import error_page
from web.i18n import current_language, in_language, status_name, term, translate
from web.pages import bp
from web.pages.common import manage_page, the_actor
from web.pages.instance_messages import message_actions
from web.shown_times import iso_time, shown_time

ENDED = ("completed", "terminated")

# --- the list -----------------------------------------------------------------------------------


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filter_from_args() -> instance_view.InstanceFilter:
    status = request.args.get("status") or None
    if status not in instance_view.STATUSES:
        status = None
    return instance_view.InstanceFilter(
        process=(request.args.get("process") or "").strip()[:128] or None,
        status=status,
        stage=(request.args.get("stage") or "").strip()[:256] or None,
        started_by=(request.args.get("started_by") or "").strip()[:64] or None,
        overdue=request.args.get("overdue") in ("1", "on", "true"),
        created_from=_date_arg("from"),
        created_to=_date_arg("to"),
    )


def _shown_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with what it shows worked out here, by the same helpers the templates call: in
    Jinja every such call costs a few µs more per row, and the list has 50 rows."""
    labels = {status: status_name(status) for status in {r["status"] for r in items}}
    return [
        {
            **r,
            "href": url_for("pages.instance_detail", instance_id=r["id"]),
            "status_label": labels[r["status"]],
            "created_iso": iso_time(r["created_at"]),
            "created_local": shown_time(r["created_at"]),
        }
        for r in items
    ]


@bp.get("/instances")
@manage_page()
def instances() -> str:
    actor = the_actor()
    flt = _filter_from_args()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    ctx = engine_ctx()
    with unit_of_work() as session:
        result = instance_view.list_instances(
            session, actor, flt, now=ctx.clock.now(), tz=ctx.settings.zone, page=page
        )
        processes = naming.process_names(session)
        stages = instance_view.stage_options(session, flt.process)
        sees_all = instance_view.sees_all(actor)
        starters = instance_view.starter_options(session) if sees_all else []
    if flt.stage and flt.stage not in stages:
        stages.append(flt.stage)
    return render_template(
        "pages/manage_instances.html",
        result=result,
        rows=_shown_rows(result.items),
        flt=flt,
        processes=sorted(processes.items(), key=lambda kv: kv[1]),
        stages=stages,
        starters=starters,
        statuses=instance_view.STATUSES,
        sees_all=sees_all,
    )


# --- the detail page ----------------------------------------------------------------------------


def _document_links(instance_id: int, docs: list[dict[str, Any]]) -> dict[int, str]:
    """Download links only where the app has a route for them (the documents issue adds it)."""
    adapter = current_app.url_map.bind("localhost")
    links = {}
    for doc in docs:
        path = f"/instances/{instance_id}/documents/{doc['id']}"
        try:
            adapter.match(path, method="GET")
        except (RouteNotFound, MethodNotAllowed, RequestRedirect):
            continue
        links[doc["id"]] = path
    return links


def _message_label(name: str) -> str:
    return term(name, "manage.message.")


def _summary(
    entry: dict[str, Any], names: dict[str, str], groups: Mapping[str, str],
    people: dict[str, str],
) -> str:
    """The audit entry's details in a few words: step names, people and groups by name."""
    d = entry.get("details") or {}
    element = names.get(entry.get("element_id") or "", entry.get("element_id") or "")
    action = entry["action"]
    if action == "started":
        return f"v{d.get('version', '')}"
    if action == "task_created":
        assignee = d.get("assignee")
        who = people.get(assignee, assignee) if assignee else "、".join(
            groups.get(g, g) for g in d.get("groups") or []
        )
        return f"{d.get('name') or element} → {who}" if who else str(d.get("name") or element)
    if action in ("task_completed", "task_claimed", "task_unclaimed"):
        return str(d.get("name") or element)
    if action in ("timer_fired", "service_called"):
        return element
    if action == "service_failed":
        return f"{element}: {d.get('error', '')}"
    if action == "handler_note":
        return str(d.get("note") or d.get("message") or "")
    if action == "error":
        return f"{element}: {d.get('message', '')}" if element else str(d.get("message", ""))
    if action == "terminated":
        return str(d.get("reason") or "")
    if action == "message_received":
        return _message_label(str(d.get("message") or ""))
    return element


def _permissions(may: dict[str, bool], detail: dict[str, Any]) -> dict[str, bool]:
    """`engine.access`'s answer, combined with the instance's state."""
    live = detail["status"] not in ENDED
    return {
        "retry": may["retry"] and detail["status"] == "error",
        "suspend": may["suspend"] and live and not detail["suspended"],
        "resume": may["suspend"] and live and detail["suspended"],
        "terminate": may["terminate"] and live,
    }


@bp.get("/instances/<int:instance_id>")
@manage_page()
def instance_detail(instance_id: int) -> str:
    actor = the_actor()
    ctx = engine_ctx()
    everything = request.args.get("timeline") == "all"
    with unit_of_work() as session:
        record = instance_for(session, actor, "view", instance_id)
        detail = queries.monitored(ctx, session, record, everything)
        may = instance_permissions(session, actor, record, ("retry", "suspend", "terminate"))
        tag = version_files.version_tag(session, record.version_id)
        names = version_files.element_names(session, record.version_id, tag)
        passed = list(record.passed_elements or ())
        process_name = naming.process_names(session).get(record.model_key, record.model_key)
        # the people its data, timeline and tasks mention, by name (not every account)
        data = data_view.reader(
            ctx, session, record.version_id, current_language() == "en",
            people=naming.names_mentioned(session, detail),
        )
        groups = data.groups  # the names the data shows are the timeline's (read once)
        actions = message_actions(session, actor, record)
    people = dict(data.people)
    highlights = instance_view.highlights(detail, passed).as_dict()
    now = ctx.clock.now()
    timeline = [
        {
            **a,
            "summary": _summary(a, names, groups, people),
            # the built-in system actor reads as 系统, like an empty one
            "actor_name": None if a["actor"] in (None, "system") else people.get(
                a["actor"], a["actor"]
            ),
            "submitted": data.rows((a.get("details") or {}).get("data") or {})[0],
        }
        for a in detail["audit"]
    ]
    data_fields, data_other = data.rows(detail["data"] or {})
    timeline.reverse()  # newest first
    return render_template(
        "pages/manage_instance.html",
        i=detail,
        process_name=process_name,
        people=people,
        groups=groups,
        names=names,
        timeline=timeline,
        timeline_all=everything,
        timeline_latest=ACTION_AUDIT,
        data_fields=data_fields,
        data_other=data_other,
        open_incidents=[x for x in detail["incidents"] if x["resolved_at"] is None],
        doc_links=_document_links(instance_id, detail["documents"]),
        can=_permissions(may, detail),
        message_actions=actions,
        now=now,
        diagram={
            # fetched by the viewer (instance_diagram): a diagram is often most of the page
            "src": url_for("pages.instance_diagram", instance_id=instance_id) if tag else None,
            "highlights": highlights,
            "labels": {
                "due": translate("manage.diagram.due"),
                "failed": translate("manage.diagram.failed"),
            },
            "timeZone": engine_ctx().settings.timezone,
            "lang": "zh-CN" if current_language() == "zh" else "en",
        },
    )


@bp.get("/instances/<int:instance_id>/diagram.bpmn")
@manage_page()
def instance_diagram(instance_id: int) -> Response:
    """The diagram the instance page draws: its version's BPMN, laid out when it has none.
    Sent apart from the page (142 KB for project_initiation, every time the page was opened)
    and revalidated by its ETag, the version's content hash: a page opened again gets a 304
    with no body, without reading or laying out the file. The access rule is the page's own,
    asked on every request (no-cache: a viewer who lost access gets nothing from the cache).
    A release that lays out DI-less files differently shows once the browser's copy is gone."""
    with unit_of_work() as session:
        record = instance_for(session, the_actor(), "view", instance_id)
        tag = version_files.version_tag(session, record.version_id)
        known = tag is not None and request.if_none_match.contains(tag)
        found = None if known else version_files.version_bpmn(session, record.version_id)
    if known:
        response = Response(status=304)
    elif tag is not None and found is not None:
        response = Response(_laid_out(found[1]), mimetype="application/xml")
    else:
        return error_page(404)
    response.set_etag(tag)
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


@lru_cache(maxsize=16)
def _laid_out(bpmn: str) -> str:
    """Cached by content: parsing and laying out a large file costs milliseconds."""
    return with_diagram(bpmn)


def _act(instance_id: int, action: str) -> Response | tuple[str, int]:
    actor = the_actor()
    ctx = engine_ctx()
    reason = request.form.get("reason", "").strip()
    if action == "terminate" and not reason:
        flash(translate("manage.instance.reason_required"))
        return redirect(url_for("pages.instance_detail", instance_id=instance_id), 303)
    try:
        with unit_of_work() as session:
            if action == "retry":
                control.retry(ctx, session, actor, instance_id)
            elif action == "terminate":
                operations.terminate(ctx, session, actor, instance_id, reason)
            else:
                control.set_suspended(ctx, session, actor, instance_id, action == "suspend")
    except NotFound:
        return error_page(404)
    except Forbidden:
        return error_page(403)
    except PlanflowError as exc:  # wrong state, concurrent change...
        flash(translate("manage.instance.action_failed", message=in_language(exc.message)))
        return redirect(url_for("pages.instance_detail", instance_id=instance_id), 303)
    flash(translate(f"manage.instance.done.{action}"))
    return redirect(url_for("pages.instance_detail", instance_id=instance_id), 303)


@bp.post("/instances/<int:instance_id>/retry")
@manage_page()
def instance_retry(instance_id: int) -> Response | tuple[str, int]:
    return _act(instance_id, "retry")


@bp.post("/instances/<int:instance_id>/terminate")
@manage_page()
def instance_terminate(instance_id: int) -> Response | tuple[str, int]:
    return _act(instance_id, "terminate")


@bp.post("/instances/<int:instance_id>/suspend")
@manage_page()
def instance_suspend(instance_id: int) -> Response | tuple[str, int]:
    return _act(instance_id, "suspend")


@bp.post("/instances/<int:instance_id>/resume")
@manage_page()
def instance_resume(instance_id: int) -> Response | tuple[str, int]:
    return _act(instance_id, "resume")
