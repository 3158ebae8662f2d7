"""The task page's operations as server-side forms: 转办 transfer, 委派 delegate (完成委派
resolve, 收回 recall), 加签 / 减签 add / remove signer, 同意 / 拒绝 sign, 退回 return, 撤回
withdraw, 催办 remind, 抄送 CC, and 终止 terminate by the initiator.

Every rule lives in `engine.operations` (抄送: `engine.operations.cc`); each route runs one of
them in one transaction, so a refusal changes nothing. Forbidden / NotFound answer an error
page; invalid input (e.g. a missing reason) or a conflict re-displays the task page with the
message next to the operation (400 / 409) and the user's input kept. Success flashes and
redirects (303) to the task page, or to the inbox when the task left the user's hands. One
exception: 完成委派 from the task form posts JSON (the delegate's data) and gets
`task_complete`'s JSON contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

from engine import operations
from engine.access import task_access
from engine.context import EngineContext
from engine.errors import (
    Conflict,
    InstanceStateError,
    InvalidInput,
    NotFound,
    PlanflowError,
)
from engine.operations import cc
from engine.people.accounts import Actor, get_user
from engine.read import queries
from web.core import engine_ctx, unit_of_work
from web.i18n import in_language, translate
from web.pages import bp
from web.pages.common import the_actor
from web.pages.inbox import html_error, message_for, safe_next
from web.pages.tasks import render_task, resolve_json
from web.session_auth import login_required

# What an operation answers on success: the flash message and where to go (a URL), or None for
# the task page.
Outcome = tuple[str, str | None]

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    Action = Callable[[EngineContext, Session, Actor], Outcome]
Reply = Response | tuple[str, int]

def localized(exc: PlanflowError) -> str:
    """The engine's message in the page language; a few get a friendlier sentence."""
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    if isinstance(exc, InvalidInput) and field in ("reason", "comment"):
        return translate(f"ops.error.{field}_required")
    if isinstance(exc, InstanceStateError):
        return message_for(exc)
    return in_language(exc.message)


def _run(op: str, task_id: str, action: Action) -> Reply:
    actor = the_actor()
    ctx = engine_ctx()
    try:
        with unit_of_work() as session:
            message, target = action(ctx, session, actor)
    except (InvalidInput, Conflict, InstanceStateError, NotFound) as exc:
        if isinstance(exc, NotFound) and "username" not in exc.details:
            return html_error(exc)  # the task (or signer) is gone; an unknown person is input
        status = 409 if isinstance(exc, Conflict | InstanceStateError) else 400
        return render_task(
            task_id,
            status,
            ops_error={"op": op, "message": localized(exc)},
            ops_form=request.form,
        )
    except PlanflowError as exc:  # Forbidden among others: an error page, nothing changed
        return html_error(exc)
    flash(message)
    back = target or url_for("pages.task", task_id=task_id)
    return redirect(safe_next(request.form.get("next"), back), code=303)


def _field(name: str) -> str:
    return request.form.get(name, "")


def _inbox() -> str:
    return url_for("pages.inbox")


def _step(session: Session, task_id: str) -> str:
    return queries.step_name(session, task_id)


# --- 转办 / 委派 ------------------------------------------------------------------------------


@bp.post("/tasks/<task_id>/transfer")
@login_required
def task_transfer(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        row = operations.transfer(ctx, session, actor, task_id, _field("to"), _field("comment"))
        name = get_user(session, row.assignee or "").display_name
        return translate("ops.flash.transferred", step=row.name, name=name), _inbox()

    return _run("transfer", task_id, act)


@bp.post("/tasks/<task_id>/delegate")
@login_required
def task_delegate(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        d = operations.delegate(ctx, session, actor, task_id, _field("to"), _field("comment"))
        name = get_user(session, d.delegate).display_name
        # the owner keeps following it: the page shows 收回 (recall) to them
        return translate("ops.flash.delegated", step=_step(session, task_id), name=name), None

    return _run("delegate", task_id, act)


@bp.post("/tasks/<task_id>/resolve")
def task_resolve(task_id: str) -> Reply | tuple[Response, int]:
    if request.is_json:  # the form's 完成委派 button (task-form.js), with the delegate's data
        return resolve_json(task_id)
    return _resolve_form(task_id)


@login_required
def _resolve_form(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        operations.resolve(ctx, session, actor, task_id, None, _field("comment"))
        return translate("ops.flash.resolved", step=_step(session, task_id)), _inbox()

    return _run("resolve", task_id, act)


@bp.post("/tasks/<task_id>/recall")
@login_required
def task_recall(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        operations.recall(ctx, session, actor, task_id)
        return translate("ops.flash.recalled", step=_step(session, task_id)), None

    return _run("recall", task_id, act)


# --- 加签 / 减签 / 签署 -----------------------------------------------------------------------


@bp.post("/tasks/<task_id>/signers")
@login_required
def task_add_signer(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        users = [u for u in request.form.getlist("users") if u.strip()]
        added = operations.add_signers(
            ctx, session, actor, task_id, users, _field("mode"), _field("comment")
        )
        return translate("ops.flash.signers_added", n=len(added)), None

    return _run("add_signer", task_id, act)


@bp.post("/signers/<int:signer_id>/remove")
@login_required
def task_remove_signer(signer_id: int) -> Reply:
    task_id = _field("task_id")

    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        entry = operations.remove_signer(ctx, session, actor, signer_id, _field("comment"))
        back = url_for("pages.task", task_id=entry.parent_task_id)
        name = get_user(session, entry.signer).display_name
        return translate("ops.flash.signer_removed", name=name), back

    if not task_id:
        # the parent task's page is where an error is shown; find it without acting
        with unit_of_work() as session:
            task_id = operations.signer_parent_task(session, signer_id) or ""
    if not task_id:
        return html_error(NotFound("加签记录不存在 (signer not found)"))
    return _run("remove_signer", task_id, act)


@bp.post("/tasks/<task_id>/sign")
@login_required
def task_sign(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        decision = _field("decision")
        operations.sign(ctx, session, actor, task_id, decision, _field("comment"))
        key = "ops.flash.approved" if decision == "approve" else "ops.flash.rejected"
        return translate(key, step=_step(session, task_id)), _inbox()

    return _run("sign", task_id, act)


# --- 退回 / 撤回 ------------------------------------------------------------------------------


@bp.post("/tasks/<task_id>/return")
@login_required
def task_return(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        operations.return_to(ctx, session, actor, task_id, _field("target"), _field("reason"))
        return translate("ops.flash.returned", step=_step(session, task_id)), _inbox()

    return _run("return", task_id, act)


@bp.post("/tasks/<task_id>/withdraw")
@login_required
def task_withdraw(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        operations.withdraw(ctx, session, actor, task_id, _field("reason"))
        # the step opens again as a new task: go there
        new_id = operations.reopened_step(session, task_id)
        target = url_for("pages.task", task_id=new_id) if new_id else _inbox()
        return translate("ops.flash.withdrawn", step=_step(session, task_id)), target

    return _run("withdraw", task_id, act)


# --- 催办 / 抄送 / 终止 -----------------------------------------------------------------------


@bp.post("/tasks/<task_id>/remind")
@login_required
def task_remind(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        users = operations.remind(ctx, session, actor, task_id, _field("message"))
        return translate("ops.flash.reminded", n=len(users)), None

    return _run("remind", task_id, act)


@bp.post("/tasks/<task_id>/cc")
@login_required
def task_cc(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        row = task_access(session, actor, task_id).row
        users = [u for u in request.form.getlist("users") if u.strip()]
        added = cc.cc(
            ctx, session, actor, row.instance_id, users, task_id=task_id, note=_field("note")
        )
        return translate("ops.flash.cc", n=len(added)), None

    return _run("cc", task_id, act)


@bp.post("/tasks/<task_id>/terminate-instance")
@login_required
def task_terminate_instance(task_id: str) -> Reply:
    def act(ctx: EngineContext, session: Session, actor: Actor) -> Outcome:
        row = task_access(session, actor, task_id).row
        operations.terminate(ctx, session, actor, row.instance_id, _field("reason"))
        return translate("ops.flash.terminated"), url_for("pages.started")

    return _run("terminate", task_id, act)
