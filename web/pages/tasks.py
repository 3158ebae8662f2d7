"""The task page (/tasks/<id>): instance context, instructions, the form (form-js), submit,
claim and unclaim. The operations panel (转办, 委派, 加签, 退回, ...) posts to `task_ops`.

Submitting goes through fetch (JSON, CSRF in the X-CSRF-Token header) to `task_complete`, which
answers JSON: `{"ok": true, "redirect": ...}`, or an error with the HTTP status of the domain
error (422 with per-field errors, 409 when the task is no longer open, 403, 404, 400).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import operations
from engine.access import task_access
from engine.context import EngineContext
from engine.errors import FormInvalid, InvalidInput, PlanflowError
from engine.forms import Person, has_person_fields, with_people
from engine.people import directory
from engine.people.accounts import Actor
from engine.read import form_view, names, task_page
from web.core import engine_ctx, unit_of_work
from web.errors import error_page
from web.i18n import current_language, translate
from web.pages import bp
from web.pages.inbox import (
    html_error,
    json_error,
    message_for,
    safe_next,
    status_for,
    the_actor,
)
from web.pages.task_ops_view import operations_context
from web.session_auth import current_actor, login_required

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.store.tables import HumanTaskRow

    FormAction = Callable[
        [EngineContext, Session, Actor, HumanTaskRow, dict[str, Any], dict[str, Any]], str
    ]

FORM_MESSAGES = (
    "required",
    "min",
    "max",
    "minLength",
    "maxLength",
    "email",
    "phone",
    "pattern",
    "number",
    "integer",
    "decimals",
    "step",
)


def form_texts() -> dict[str, Any]:
    """The words task-form.js needs, in the page language."""
    keys = (
        "submit",
        "submitting",
        "fix_errors",
        "fix_errors_count",
        "network",
        "expired",
        "login",
        "conflict",
        "forbidden",
        "not_found",
        "server",
        "load_failed",
        "go_inbox",
        "go_login",
        "restored",
    )
    return {
        "lang": current_language(),
        "inboxUrl": url_for("pages.inbox"),
        "loginUrl": url_for("pages.login"),
        "text": {k: translate(f"staff.form.{k}") for k in keys},
        # form-js validates in the browser with English messages; these replace them in zh.
        "validation": {k: translate(f"staff.validation.{k}") for k in FORM_MESSAGES},
    }


def field_errors_json(form: Any, exc: FormInvalid) -> list[dict[str, Any]]:
    lang = current_language()
    out = []
    for item in form_view.field_errors(form, exc.details.get("fields") or {}):
        message = item["message_en"] if lang == "en" else item["message"]
        out.append(
            {
                "path": item["path"],
                "id": item["id"],
                "indexes": item["indexes"],
                "label": item["label"],
                "message": message,
            }
        )
    return out


def shown_schema(
    schema: dict[str, Any] | None,
    session: Session,
    people: Callable[[], list[Person]] | None = None,
) -> dict[str, Any] | None:
    """The form as the browser gets it: its person fields (A角, B角, …) list the people they
    allow, by pinyin, as 姓名 · 部门（用户名）. ``people``: the directory, if the page reads
    it once for several uses."""
    if schema is None or not has_person_fields(schema):
        return schema
    english = current_language() == "en"
    found = people() if people is not None else directory.people(session)
    return with_people(schema, found, english=english)


def submitted_data() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data", {}), dict):
        raise InvalidInput('请求格式错误 (expected {"data": {...}})')
    return body.get("data") or {}


# --- the page ---------------------------------------------------------------------------------


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str) -> str | tuple[str, int]:
    return render_task(task_id)


def render_task(task_id: str, status: int = 200, **extra: Any) -> tuple[str, int]:
    """The task page; `extra` (an operation's error and its inputs) goes to the template.
    ``?history=all``: every step of the history, not only the latest."""
    actor = the_actor()
    all_steps = request.args.get("history") == "all"
    ctx = engine_ctx()
    try:
        with unit_of_work() as session:
            page = operations.task_page(ctx, session, actor, task_id, all_steps)
            view = page["view"]
            groups = names.group_labels(session)
            # the form's person fields and the operations' pickers list the same people
            people = cache(partial(directory.people, session, groups))
            schema = shown_schema(view["form"], session, people)
            ops = operations_context(ctx, session, actor, page, people)
    except PlanflowError as exc:
        return html_error(exc)
    if ops["ops"] is not None:  # e.g. a delegate may not unclaim the owner's task
        view["can_claim"] = view["can_claim"] and ops["ops_allowed"]["claim"]
        view["can_unclaim"] = view["can_unclaim"] and ops["ops_allowed"]["unclaim"]
    # The delegate (委派) fills in their part of the form and hands it back (resolve) with it.
    resolving = bool(ops["ops_allowed"].get("resolve")) and bool(view["form"])
    config = {
        "schema": schema,
        "data": view["form_data"],
        # a signer signs, a held task waits, an onlooker looks: none of them submits the form
        "readonly": not resolving
        and not (view["can_submit"] and ops["ops_allowed"].get("submit", True)),
        "submitUrl": url_for(
            "pages.task_resolve" if resolving else "pages.task_complete", task_id=task_id
        ),
        # the delegate sends only what they filled in; the owner completes the rest
        "partial": resolving,
        "commentInput": "ops-resolve-comment" if resolving else None,
        **form_texts(),
    }
    page = render_template(
        "pages/task.html",
        v=view,
        t=view["task"],
        inst=view["instance"],
        groups=groups,
        form_config=config,
        all_steps=all_steps,
        **ops,
        **extra,
    )
    return page, status


# --- completing -------------------------------------------------------------------------------




def _form_json(task_id: str, act: FormAction) -> Response | tuple[Response, int]:
    """The JSON contract task-form.js relies on, shared by completing and 完成委派: 401/404/403,
    422 with per-field errors and the typed data, the domain error's status, or ok + redirect.
    `act(ctx, session, actor, row, data, body)` does the engine work and answers the flash
    message."""
    actor = current_actor()
    if actor is None:
        return json_error(401, "unauthenticated", translate("staff.error.login"))
    ctx = engine_ctx()
    form = None
    data: dict[str, Any] = {}
    try:
        data = submitted_data()
        body = request.get_json(silent=True) or {}
        with unit_of_work() as session:
            row = task_access(session, actor, task_id).row  # 404 for a task they may not see
            form = task_page.form_for_task(ctx, session, task_id)
            message = act(ctx, session, actor, row, data, body)
    except FormInvalid as exc:
        return json_error(
            422,
            exc.code,
            translate("staff.form.fix_errors"),
            fields=field_errors_json(form, exc),
            data=data,
        )
    except PlanflowError as exc:
        return json_error(status_for(exc), exc.code, message_for(exc), details=exc.details)
    flash(message)
    return jsonify({"ok": True, "redirect": url_for("pages.inbox")})


@bp.post("/tasks/<task_id>/complete")
def task_complete(task_id: str) -> Response | tuple[Response, int]:
    def act(
        ctx: EngineContext, session: Session, actor: Actor, row: HumanTaskRow,
        data: dict[str, Any], body: dict[str, Any],
    ) -> str:
        name = row.name
        # submit = complete, unless signers (加签) still have to sign after the handler
        operations.submit(ctx, session, actor, task_id, data)
        held = row.status == operations.ON_HOLD
        return translate("ops.flash.submitted_held" if held else "staff.flash.completed", step=name)

    return _form_json(task_id, act)


def resolve_json(task_id: str) -> Response | tuple[Response, int]:
    """完成委派 from the form: the delegate's data (only the fields they filled in) and comment
    go back to the owner with the task. Same JSON contract as `task_complete`."""

    def act(
        ctx: EngineContext, session: Session, actor: Actor, row: HumanTaskRow,
        data: dict[str, Any], body: dict[str, Any],
    ) -> str:
        name = row.name
        comment = body.get("comment") or ""
        operations.resolve(ctx, session, actor, task_id, data, comment)
        return translate("ops.flash.resolved", step=name)

    return _form_json(task_id, act)


# --- claiming ---------------------------------------------------------------------------------


def _claim_action(task_id: str, claim: bool) -> Response | tuple[str, int]:
    actor = the_actor()
    ctx = engine_ctx()
    back = safe_next(request.form.get("next"), url_for("pages.task", task_id=task_id))
    try:
        with unit_of_work() as session:
            # `engine.access` via the operations: 404, then 403 (e.g. a delegated task
            # cannot be unclaimed), then 409
            if claim:
                row = operations.claim(ctx, session, actor, task_id)
            else:
                row = operations.unclaim(ctx, session, actor, task_id)
            name = row.name
    except PlanflowError as exc:
        if claim and exc.details.get("assignee"):
            return error_page(409, translate("staff.error.already_claimed"))
        if claim and exc.details.get("reason") == "claimed_by_other":  # the race, lost
            return error_page(403, translate("staff.error.already_claimed"))
        if not claim and status_for(exc) == 403:
            return error_page(403, translate("staff.error.unclaim_forbidden"))
        return html_error(exc)
    flash(translate("staff.flash.claimed" if claim else "staff.flash.unclaimed", step=name))
    return redirect(back, code=303)


@bp.post("/tasks/<task_id>/claim")
@login_required
def task_claim(task_id: str) -> Response | tuple[str, int]:
    return _claim_action(task_id, claim=True)


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def task_unclaim(task_id: str) -> Response | tuple[str, int]:
    return _claim_action(task_id, claim=False)
