from __future__ import annotations

from flask import Response, jsonify

from engine.errors import InvalidInput
from engine.read import queries
from engine.usecases import instances
from web.api import bp
from web.api.params import data_field, int_arg, json_body, str_arg
from web.core import api_actor, engine_ctx, release_writes, unit_of_work

STATUSES = ("running", "waiting", "completed", "error", "terminated", "suspended")


@bp.post("/process-instances")
def start_instance() -> tuple[Response, int]:
    body = json_body()
    key = body.get("process")
    if not isinstance(key, str) or not key:
        raise InvalidInput("需要 process (process model key is required)")
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        record = instances.start(ctx, session, actor, key, data_field(body))
        release_writes(session)
        detail = queries.get_instance(ctx, session, actor, record.id)
    return jsonify(detail), 201


@bp.get("/process-instances")
def list_instances() -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        page = queries.list_instances(
            ctx,
            session,
            actor,
            status=str_arg("status", STATUSES),
            process=str_arg("process"),
            started_by=str_arg("started_by"),
            page=int_arg("page", 1),
            per_page=int_arg("per_page", 50, 1, 200),
        )
    return jsonify(page.as_dict())


@bp.get("/process-instances/<int:instance_id>")
def get_instance(instance_id: int) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify(queries.get_instance(ctx, session, actor, instance_id))


def _act(instance_id: int, action: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    reason = body.get("reason") if action == "terminate" else None
    if action == "terminate" and (not isinstance(reason, str) or not reason.strip()):
        raise InvalidInput(
            "终止流程需要填写原因 (a reason is required to terminate)", {"field": "reason"}
        )
    with unit_of_work() as session:
        actor = api_actor(session)
        if action == "retry":
            instances.retry(ctx, session, actor, instance_id)
        elif action == "terminate":
            instances.terminate(ctx, session, actor, instance_id, str(reason)[:1000])
        elif action in ("suspend", "resume"):
            instances.set_suspended(ctx, session, actor, instance_id, action == "suspend")
        detail = queries.get_instance(ctx, session, actor, instance_id)
    return jsonify(detail)


@bp.post("/process-instances/<int:instance_id>/retry")
def retry_instance(instance_id: int) -> Response:
    return _act(instance_id, "retry")


@bp.post("/process-instances/<int:instance_id>/terminate")
def terminate_instance(instance_id: int) -> Response:
    return _act(instance_id, "terminate")


@bp.post("/process-instances/<int:instance_id>/suspend")
def suspend_instance(instance_id: int) -> Response:
    return _act(instance_id, "suspend")


@bp.post("/process-instances/<int:instance_id>/resume")
def resume_instance(instance_id: int) -> Response:
    return _act(instance_id, "resume")


@bp.post("/process-instances/<int:instance_id>/messages/<name>")
def send_message(instance_id: int, name: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        instances.send_message(ctx, session, actor, instance_id, name, data_field(body))
        detail = queries.get_instance(ctx, session, actor, instance_id)
    return jsonify(detail)


@bp.patch("/process-instances/<int:instance_id>/data")
def update_instance_data(instance_id: int) -> Response:
    """Change instance variables; waiting date-relative timers follow (e.g. `event_date`)."""
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        instances.update_data(ctx, session, actor, instance_id, data_field(body))
        detail = queries.get_instance(ctx, session, actor, instance_id)
    return jsonify(detail)
