from __future__ import annotations

from typing import Any

from engine import operations
from engine.read import queries
from engine.usecases import control, instances
from web.api.endpoint import Call, endpoint
from web.api.schemas.requests import DataBody, InstanceQuery, NoFields, StartInstance, Terminate
from web.api.schemas.responses import Instance, InstanceDetail, Page, StartedInstance
from web.core import release_writes

Json = dict[str, Any]
ACTED = (403, 404, 409)


@endpoint("POST", "/process-instances", summary="Start an instance", body=StartInstance,
          ok={201: StartedInstance}, errors=(404, 422))
def start_instance(call: Call, body: StartInstance) -> Json:
    record = instances.start(call.ctx, call.session, call.actor, body.process, body.data)
    head = queries.acted_on(record)
    release_writes(call.session)
    detail = queries.detail_of(call.session, head, call.ctx.clock.now(), latest=True)
    return {**detail, "warnings": queries.start_warnings_of(record)}


@endpoint("GET", "/process-instances", summary="List instances (staff: their own and those they "
          "take part in; managers and process owners: all)", query=InstanceQuery,
          ok=Page[Instance])
def list_instances(call: Call, query: InstanceQuery) -> Json:
    return queries.list_instances(
        call.ctx,
        call.session,
        call.actor,
        status=query.status,
        process=query.process,
        started_by=query.started_by,
        page=query.page,
        per_page=query.per_page,
    ).as_dict()


@endpoint("GET", "/process-instances/<int:instance_id>",
          summary="Instance detail: status, version, data, open tasks, audit log",
          ok=InstanceDetail, errors=(403, 404))
def get_instance(call: Call, instance_id: int) -> Json:
    return queries.get_instance(call.ctx, call.session, call.actor, instance_id)


@endpoint("POST", "/process-instances/<int:instance_id>/retry",
          summary="Retry after an incident", body=NoFields, ok=InstanceDetail, errors=ACTED)
def retry_instance(call: Call, instance_id: int, body: NoFields) -> Json:
    control.retry(call.ctx, call.session, call.actor, instance_id)
    return _acted(call, instance_id)


@endpoint("POST", "/process-instances/<int:instance_id>/terminate",
          summary="Terminate (initiator or admin), with a reason", body=Terminate,
          ok=InstanceDetail, errors=ACTED)
def terminate_instance(call: Call, instance_id: int, body: Terminate) -> Json:
    operations.terminate(call.ctx, call.session, call.actor, instance_id, body.reason)
    return _acted(call, instance_id)


@endpoint("POST", "/process-instances/<int:instance_id>/suspend", summary="Suspend",
          body=NoFields, ok=InstanceDetail, errors=ACTED)
def suspend_instance(call: Call, instance_id: int, body: NoFields) -> Json:
    control.set_suspended(call.ctx, call.session, call.actor, instance_id, True)
    return _acted(call, instance_id)


@endpoint("POST", "/process-instances/<int:instance_id>/resume", summary="Resume",
          body=NoFields, ok=InstanceDetail, errors=ACTED)
def resume_instance(call: Call, instance_id: int, body: NoFields) -> Json:
    control.set_suspended(call.ctx, call.session, call.actor, instance_id, False)
    return _acted(call, instance_id)


@endpoint("POST", "/process-instances/<int:instance_id>/messages/<name>",
          summary="Deliver a message the instance waits for (e.g. raise_risk)", body=DataBody,
          ok=InstanceDetail, errors=ACTED)
def send_message(call: Call, instance_id: int, name: str, body: DataBody) -> Json:
    instances.send_message(call.ctx, call.session, call.actor, instance_id, name, body.data)
    return _acted(call, instance_id)


@endpoint("PATCH", "/process-instances/<int:instance_id>/data",
          summary="Change instance variables; waiting date-relative timers (e.g. on "
          "`event_date`) are recomputed", body=DataBody, ok=InstanceDetail, errors=ACTED)
def update_instance_data(call: Call, instance_id: int, body: DataBody) -> Json:
    instances.update_data(call.ctx, call.session, call.actor, instance_id, body.data)
    return _acted(call, instance_id)


def _acted(call: Call, instance_id: int) -> Json:
    """An action's answer: the instance with only the latest of its history."""
    return queries.get_instance(call.ctx, call.session, call.actor, instance_id, latest=True)
