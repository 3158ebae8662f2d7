from __future__ import annotations

from flask import Response, jsonify

from engine import operations
from engine.read import queries
from web.api import bp
from web.api.params import data_field, int_arg, json_body, str_arg
from web.core import api_actor, engine_ctx, release_writes, unit_of_work


@bp.get("/tasks")
def list_tasks() -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        page = queries.list_tasks(
            ctx,
            session,
            actor,
            status=str_arg("status", ("open", "completed")) or "open",
            process=str_arg("process"),
            page=int_arg("page", 1),
            per_page=int_arg("per_page", 50, 1, 200),
        )
    return jsonify(page.as_dict())


@bp.get("/tasks/<task_id>")
def get_task(task_id: str) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify(queries.get_task(ctx, session, actor, task_id))


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        row = operations.claim(ctx, session, actor, task_id)
        return jsonify(queries.task_dict(row, ctx.clock.now()))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        row = operations.unclaim(ctx, session, actor, task_id)
        return jsonify(queries.task_dict(row, ctx.clock.now()))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        # The same route as the task page (signatures included); `engine.access` inside.
        record = operations.submit(
            ctx, session, actor, task_id, data_field(json_body()), signature_rows=False
        )
        release_writes(session)
        detail = queries.get_instance(ctx, session, actor, record.id)
    return jsonify({"task_id": task_id, "instance": detail})
