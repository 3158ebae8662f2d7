from __future__ import annotations

from typing import Any

from engine import operations
from engine.read import queries, task_page
from web.api.endpoint import Call, endpoint
from web.api.schemas.requests import DataBody, TaskQuery
from web.api.schemas.responses import Completed, Page, Task, TaskDetail
from web.core import release_writes

Json = dict[str, Any]


@endpoint("GET", "/tasks", summary="The caller's tasks (assigned to them or offered to their "
          "groups; completed: the ones they completed)", query=TaskQuery, ok=Page[Task])
def list_tasks(call: Call, query: TaskQuery) -> Json:
    return queries.list_tasks(
        call.ctx,
        call.session,
        call.actor,
        status=query.status,
        process=query.process,
        page=query.page,
        per_page=query.per_page,
    ).as_dict()


@endpoint("GET", "/tasks/<task_id>", summary="A task with its form, the data it works on and "
          "why it was reopened (退回/撤回), if it was", ok=TaskDetail, errors=(403, 404))
def get_task(call: Call, task_id: str) -> Json:
    return task_page.task_detail(call.ctx, call.session, call.actor, task_id)


@endpoint("POST", "/tasks/<task_id>/claim", summary="Claim", ok=Task, errors=(403, 404, 409))
def claim_task(call: Call, task_id: str) -> Json:
    row = operations.claim(call.ctx, call.session, call.actor, task_id)
    return queries.task_dict(row, call.ctx.clock.now())


@endpoint("POST", "/tasks/<task_id>/unclaim", summary="Unclaim", ok=Task, errors=(403, 404, 409))
def unclaim_task(call: Call, task_id: str) -> Json:
    row = operations.unclaim(call.ctx, call.session, call.actor, task_id)
    return queries.task_dict(row, call.ctx.clock.now())


@endpoint("POST", "/tasks/<task_id>/complete", summary="Complete a task with form data",
          body=DataBody, ok=Completed, errors=(403, 404, 409, 422))
def complete_task(call: Call, task_id: str, body: DataBody) -> Json:
    # The same route as the task page (signatures included); `engine.access` inside.
    record = operations.submit(
        call.ctx, call.session, call.actor, task_id, body.data, signature_rows=False
    )
    head = queries.acted_on(record)
    release_writes(call.session)
    detail = queries.detail_of(call.session, head, call.ctx.clock.now(), latest=True)
    return {"task_id": task_id, "instance": detail}
