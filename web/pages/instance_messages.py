"""The instance page's 执行中操作: 上报风险 and 申请追加预算 while a project executes, for
whoever `engine.access` lets send them (the A角 and B角, managers, the initiator, who works on
it). The forms are in partials/instance_messages.html; the message goes through
`engine.usecases.instances.send_message` like the API's and the CLI's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

from engine.errors import Forbidden, NotFound, PlanflowError
from engine.usecases import instances
from engine.usecases.messages import open_messages
from web.core import engine_ctx, unit_of_work
from web.errors import error_page
from web.i18n import in_language, translate
from web.pages import bp
from web.pages.common import manage_page, the_actor
from web.project_messages import SENDER_KEYS, from_form, with_sender

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.people.accounts import Actor
    from engine.store.tables import InstanceRecord


def message_actions(session: Session, actor: Actor, record: InstanceRecord) -> list[str]:
    """The page's forms to show: the messages the instance waits for now that the actor may
    send and that have a form here."""
    found = open_messages(engine_ctx(), session, actor, record)
    return [name for name in found if name in SENDER_KEYS]


@bp.post("/instances/<int:instance_id>/messages/<name>")
@manage_page()
def instance_message(instance_id: int, name: str) -> Response | tuple[str, int]:
    back = redirect(url_for("pages.instance_detail", instance_id=instance_id), 303)
    payload, problem = from_form(name, request.form)
    if payload is None:
        flash(translate(problem or "messages.invalid.unknown"))
        return back
    actor = the_actor()
    try:
        with unit_of_work() as session:
            instances.send_message(
                engine_ctx(), session, actor, instance_id, name,
                with_sender(name, payload, actor.username),
            )
    except NotFound:
        return error_page(404)
    except Forbidden:
        return error_page(403)
    except PlanflowError as exc:  # no longer waiting (execution ended), suspended ...
        flash(translate("manage.instance.action_failed", message=in_language(exc.message)))
        return back
    flash(translate(f"messages.done.{name}"))
    return back
