"""The bell: in-app notifications of the calling user, with the unread count."""

from __future__ import annotations

from flask import Response, jsonify, request

from engine.errors import InvalidInput
from engine.notify import notifications
from engine.usecases import cc
from web.api import bp
from web.api.params import int_arg, json_body
from web.core import api_actor, engine_ctx, unit_of_work


@bp.get("/notifications")
def list_notifications() -> Response:
    with unit_of_work() as session:
        actor = api_actor(session)
        page = notifications.list_notifications(
            session,
            actor,
            unread_only=request.args.get("unread") in ("1", "true"),
            page=int_arg("page", 1),
            per_page=int_arg("per_page", 20, 1, 200),
        )
    return jsonify(page)


@bp.get("/notifications/unread-count")
def unread_count() -> Response:
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify(
            {
                "unread": notifications.unread_count(session, actor),
                "cc_unread": cc.unread_cc_count(session, actor),
            }
        )


@bp.post("/notifications/read")
def mark_read() -> Response:
    """Body `{"ids": [..]}` marks those; no ids marks all of the caller's notifications."""
    ctx = engine_ctx()
    body = json_body()
    ids = body.get("ids")
    if ids is not None and (
        not isinstance(ids, list) or not all(isinstance(i, int) and i > 0 for i in ids)
    ):
        raise InvalidInput("ids 必须是正整数列表 (ids must be a list of positive integers)")
    with unit_of_work() as session:
        actor = api_actor(session)
        marked = notifications.mark_read(ctx, session, actor, ids)
        return jsonify({"marked": marked, "unread": notifications.unread_count(session, actor)})
