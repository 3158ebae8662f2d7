"""通知 (the bell): the unread count in the top bar, the page of latest in-app notifications,
"mark all read", and opening one (marks it read, then goes to its task or instance).

Also the template global `view_exists(endpoint)`: pages offer links and buttons to routes other
modules may add later (e.g. 撤回 → `pages.task_withdraw`) only once those routes exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.notify import bell
from engine.read.inbox import Listing
from web.core import engine_ctx, request_reads, unit_of_work
from web.i18n import current_language, translate
from web.pages import bp
from web.pages.common import the_actor
from web.pages.inbox import int_arg, safe_next, staff_instance_url
from web.session_auth import current_actor, login_required

if TYPE_CHECKING:
    from engine.people.accounts import Actor

PER_PAGE = 20
# Events about a step the recipient now has to act on: open the task; the rest open the instance.
TASK_EVENTS = ("task_assigned", "reminder", "returned", "task_overdue")


def view_exists(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def bell_count() -> int | None:
    """Unread notifications of the signed-in user (one indexed COUNT, once per request)."""
    actor: Actor | None = current_actor()
    if actor is None:
        return None
    if "bell_count" not in g:
        with request_reads() as session:
            g.bell_count = bell.unread_count(session, actor)
    return int(g.bell_count)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["view_exists"] = view_exists
    app.jinja_env.globals["bell_count"] = bell_count


def target(item: dict[str, Any]) -> str:
    """Where a notification leads."""
    if item["event"] == "cc" and view_exists("pages.cc"):
        return url_for("pages.cc")  # the copy opens read-only there
    if item["task_id"] and item["event"] in TASK_EVENTS:
        return url_for("pages.task", task_id=item["task_id"])
    if item["instance_id"]:
        return staff_instance_url(item["instance_id"]) or url_for("pages.notifications")
    return url_for("pages.notifications")


@bp.get("/notifications")
@login_required
def notifications() -> str:
    actor = the_actor()
    unread_only = request.args.get("show") == "unread"
    with unit_of_work() as session:
        found = bell.list_notifications(
            session, actor, unread_only=unread_only, page=int_arg("page"), per_page=PER_PAGE,
            english=current_language() == "en",
        )
    g.bell_count = found["unread"]
    items = [
        {**item, "href": target(item), "at": datetime.fromisoformat(item["created_at"])}
        for item in found["items"]
    ]
    listing = Listing(items, found["total"], found["page"], found["per_page"])
    # One card per instance on this page, in the order its newest notification came.
    groups: dict[int | None, dict[str, Any]] = {}
    for item in items:
        group = groups.setdefault(
            item["instance_id"],
            {"instance_id": item["instance_id"], "title": item["instance_title"], "items": []},
        )
        group["items"].append(item)
    return render_template(
        "pages/me_notifications.html",
        listing=listing,
        groups=list(groups.values()),
        unread=found["unread"],
        show="unread" if unread_only else "all",
    )


@bp.post("/notifications/read-all")
@login_required
def notifications_read_all() -> Response:
    actor = the_actor()
    with unit_of_work() as session:
        n = bell.mark_read(engine_ctx(), session, actor)
    flash(translate("notif.marked_read", n=n))
    return redirect(safe_next(request.form.get("next"), url_for("pages.notifications")), 303)


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def notification_open(notification_id: int) -> Response:
    """Mark one read (only the caller's own: the engine filters by user) and follow it."""
    actor = the_actor()
    with unit_of_work() as session:
        bell.mark_read(engine_ctx(), session, actor, [notification_id])
    return redirect(safe_next(request.form.get("next"), url_for("pages.notifications")), 303)
