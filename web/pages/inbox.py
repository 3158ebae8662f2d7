"""待办 / 已办 / 我发起的 — the staff's lists — and the helpers the staff pages share (tasks.py,
start.py): due-date wording, error pages and JSON errors, paging args (times:
`web.shown_times`; the signed-in actor and status wording: `web.pages.common`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import (
    Conflict,
    Forbidden,
    InstanceStateError,
    InvalidInput,
    NotFound,
    PlanflowError,
    Unauthenticated,
)
from engine.read import inbox as worklist
from engine.read import names
from engine.read.withdrawable import withdrawable
from web.core import engine_ctx, request_reads, unit_of_work
from web.errors import error_page
from web.i18n import current_language, translate
from web.pages import bp
from web.pages.common import the_actor
from web.pages.nav import register_count
from web.redirects import safe_redirect_target
from web.session_auth import login_required
from web.shown_times import iso_time, shown_time

if TYPE_CHECKING:
    from engine.people.accounts import Actor

STARTED_STATUSES = ("active", "running", "waiting", "suspended", "error", "completed", "terminated")

# --- shared helpers ---------------------------------------------------------------------------


@bp.app_template_global("staff_due")
def staff_due(item: dict[str, Any]) -> str:
    """已逾期 / 今天到期 / 剩余 N 天 for an open task with a due date; "" otherwise."""
    if item.get("status") != "open" or item.get("due_at") is None:
        return ""
    if item.get("overdue"):
        return translate("staff.due.overdue")
    left = item.get("days_left")
    if left is None or left <= 0:
        return translate("staff.due.today")
    return translate("staff.due.days_left", n=left)


@bp.app_template_global("staff_instance_url")
def staff_instance_url(instance_id: int) -> str | None:
    """The instance page (built by the managers' pages) if it exists in this app."""
    if "pages.instance_detail" not in current_app.view_functions:
        return None
    return url_for("pages.instance_detail", instance_id=instance_id)


@bp.app_template_global("staff_group")
def staff_group(name: str, groups: dict[str, dict[str, str]] | None = None) -> str:
    entry = (groups or {}).get(name)
    if not entry:
        return name
    return entry.get(current_language()) or entry.get("zh") or name


@bp.app_template_global("staff_page_url")
def staff_page_url(page: int) -> str:
    """This list's URL with the same filters and another page number."""
    args = {k: v for k, v in request.args.items() if v not in ("", None) and k != "page"}
    if page > 1:
        args["page"] = str(page)
    return url_for(request.endpoint or "pages.inbox", **(request.view_args or {}), **args)


def int_arg(name: str, default: int = 1) -> int:
    try:
        return max(1, min(int(request.args.get(name, default)), 100_000))
    except (TypeError, ValueError):
        return default


def safe_next(target: str | None, default: str) -> str:
    """A form's `next`, if it is a path on this site (web.redirects), else `default`."""
    return safe_redirect_target(target, default)


def status_for(exc: PlanflowError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Conflict | InstanceStateError):
        return 409
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, InvalidInput):
        return 400
    return 400


def message_for(exc: PlanflowError) -> str:
    """A message in the page language for a domain error (the engine's own text is zh + en)."""
    status = status_for(exc)
    if isinstance(exc, InstanceStateError) and exc.details.get("status") == "suspended":
        return translate("staff.error.suspended")
    key = {
        403: "staff.error.forbidden_task",
        404: "staff.error.not_found_task",
        409: "staff.error.conflict_task",
        401: "staff.error.login",
    }.get(status)
    return translate(key) if key else exc.message


def html_error(exc: PlanflowError, message: str | None = None) -> tuple[str, int]:
    return error_page(status_for(exc), message or message_for(exc))


def json_error(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    from flask import jsonify

    return jsonify({"error": {"code": code, "message": message, **extra}}), status


# --- the nav counter --------------------------------------------------------------------------


def open_task_count(actor: Actor) -> int:
    known = g.get("staff_open_count")
    if known is not None and known[0] == actor.username:
        return known[1]  # the unfiltered inbox already counted them in this request
    with request_reads() as session:
        return worklist.open_count(session, actor)


def init_app(app: Flask) -> None:
    """Registers the navigation counters this module provides."""
    register_count(app, "inbox", open_task_count)


# --- 待办 -------------------------------------------------------------------------------------


def _shown_tasks(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each 待办 row with its links and wording worked out here, by the same helpers the
    template called: in Jinja every such call costs a few µs more per row."""
    rows = []
    for t in items:
        named = {"title": t["title"], "step": t["step"]}
        rows.append({
            **t,
            "href": url_for("pages.task", task_id=t["id"]),
            "arrived": translate("staff.inbox.arrived", at=shown_time(t["created_at"])),
            # the claim form only for tasks offered to a group
            "claim_href": url_for("pages.task_claim", task_id=t["id"]) if t["claimable"] else "",
            "claim_label": translate("staff.task.claim_named", **named) if t["claimable"] else "",
            "open_label": translate("staff.task.open_named", **named),
        })
    return rows


@bp.get("/tasks")
@login_required
def inbox() -> str:
    actor = the_actor()
    ctx = engine_ctx()
    process = request.args.get("process", "").strip() or None
    overdue = request.args.get("overdue") in ("1", "on", "true")
    q = request.args.get("q", "").strip()
    with unit_of_work() as session:
        listing = worklist.inbox(
            ctx,
            session,
            actor,
            process=process,
            overdue_only=overdue,
            q=q,
            page=int_arg("page"),
        )
        processes = names.process_names(session)
        groups = names.group_labels(session)
    filtered = bool(process or overdue or q)
    if not filtered:
        g.staff_open_count = (actor.username, listing.total)
    return render_template(
        "pages/inbox.html",
        listing=listing,
        rows=_shown_tasks(listing.items),
        processes=processes,
        groups=groups,
        process=process or "",
        overdue=overdue,
        q=q,
        filtered=filtered,
    )


# --- 已办 -------------------------------------------------------------------------------------


@bp.get("/tasks/done")
@login_required
def done() -> str:
    actor = the_actor()
    ctx = engine_ctx()
    process = request.args.get("process", "").strip() or None
    q = request.args.get("q", "").strip()
    with unit_of_work() as session:
        listing = worklist.done(ctx, session, actor, process=process, q=q, page=int_arg("page"))
        processes = names.process_names(session)
        # 撤回 offered per row from one batched check (not available_operations per row).
        can_withdraw = withdrawable(session, actor, [t["id"] for t in listing.items])
    return render_template(
        "pages/done.html",
        listing=listing,
        rows=[
            {
                **t,
                "href": url_for("pages.task", task_id=t["id"]),
                "instance_href": staff_instance_url(t["instance_id"]),
                "completed_iso": iso_time(t["completed_at"]),
                "completed_local": shown_time(t["completed_at"]),
            }
            for t in listing.items
        ],
        processes=processes,
        process=process or "",
        q=q,
        filtered=bool(process or q),
        can_withdraw=can_withdraw,
    )


# --- 我发起的 ---------------------------------------------------------------------------------


@bp.get("/instances/mine")
@login_required
def started() -> str:
    actor = the_actor()
    ctx = engine_ctx()
    status = request.args.get("status", "").strip()
    status = status if status in STARTED_STATUSES else ""
    q = request.args.get("q", "").strip()
    with unit_of_work() as session:
        listing = worklist.started(
            ctx, session, actor, status=status or None, q=q, page=int_arg("page")
        )
    return render_template(
        "pages/started.html",
        listing=listing,
        statuses=STARTED_STATUSES,
        status=status,
        q=q,
        filtered=bool(status or q),
    )
