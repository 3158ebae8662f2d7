"""退回 return: the earlier steps a task may be sent back to (each with the open tasks a return
there would also cancel) and the return itself, which rewinds the workflow (`engine.bpmn.rewind`) to
the chosen step, assigned to whoever completed it; parallel branches not on the way back stay.
The reopened step's form opens with what was entered in it last time (`rewind_keeping_form`, also
used by 撤回).
"""

from __future__ import annotations

from copy import deepcopy
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import TaskAccess, require_task, task_access
from engine.bpmn import rewind
from engine.bpmn.runtime import find_task, run_steps
from engine.errors import Conflict
from engine.notify.notifications import publish
from engine.operations.shared import (
    audit_task,
    clean_text,
    require_bpmn_row,
    require_live,
    require_no_vote,
)
from engine.store import instance_state as store
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.usecases import instances
from engine.usecases.acting import acting_on

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.task import Task

    from engine.bpmn.specs import ParsedModel
    from engine.context import EngineContext
    from engine.forms import FormSchema
    from engine.people.accounts import Actor


def _entered(form: FormSchema | None, data: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """The values ``form``'s fields hold in ``data``, by data path: each input field the step
    fills in (not the read-only ones, which show the process's values) and each dynamic list as
    a whole. Fields absent from ``data`` are left out."""
    out: dict[tuple[str, ...], Any] = {}
    for field in form.fields if form else []:
        whole, in_list, _ = field.path.partition("[]")
        if not in_list and any(field.component.get(k) is True for k in ("readonly", "disabled")):
            continue
        segs = tuple(whole.split("."))
        value: Any = data
        for seg in segs:
            if not isinstance(value, dict) or seg not in value:
                break
            value = value[seg]
        else:
            out[segs] = deepcopy(value)
    return out


def _put(data: dict[str, Any], segs: tuple[str, ...], value: Any) -> None:
    at = data
    for seg in segs[:-1]:
        if not isinstance(at.get(seg), dict):
            at[seg] = {}
        at = at[seg]
    at[segs[-1]] = value


def rewind_keeping_form(model: ParsedModel, workflow: BpmnWorkflow, plan: rewind.RewindPlan) -> str:
    """`rewind.rewind` to ``plan.target``, which then opens with its form filled in as it was
    when it was last completed. (SpiffWorkflow's reset gives the task a copy of its parent's
    data, i.e. the data from *before* the step was done: every field would be blank.) Only the
    form's own fields are put back; everything else is the data the step started from."""
    target: Task = plan.target
    entered = _entered(model.form_for(rewind.element_id(target)), target.data)
    new_id = rewind.rewind(workflow, plan)
    for segs, value in entered.items():
        _put(target.data, segs, value)
    return new_id


def _title(row: HumanTaskRow | None, task: Any) -> str:
    """A step as people know it: its task row's title (`task_properties.task_title`, e.g. one
    guest's 嘉宾确认：李记者（科技日报）), the element's name for a task that never had a row."""
    if row is not None and row.name:
        return row.name
    return task.task_spec.bpmn_name or rewind.element_id(task)


def _target_dict(old: HumanTaskRow | None, task: Any) -> dict[str, Any]:
    return {
        "task_id": str(task.id),
        "element_id": rewind.element_id(task),
        "name": _title(old, task),
        "completed_by": old.completed_by if old else None,
        "completed_at": old.completed_at.isoformat() if old and old.completed_at else None,
    }


def return_targets(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    *,
    task: TaskAccess | None = None,
    workflow: BpmnWorkflow | None = None,
    bpmn_row: bool = False,
) -> list[dict[str, Any]]:
    """The earlier steps this task may be sent back to, newest first, each with the open tasks a
    return there would also cancel (`also_cancels`). ``task`` and ``workflow``: the access and
    the restored instance this request already has (the task page's); only read here.
    ``bpmn_row``: this request has found the row is not a signature step."""
    access = task or task_access(session, actor, task_id)
    access.require("return")
    row, record = access.row, access.record
    if not bpmn_row:
        require_bpmn_row(session, row)
    require_live(row)
    if workflow is None:
        workflow, _model = store.restore(ctx, session, record, [])
    found = find_task(workflow, row.id)
    if found is None:
        raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": row.id})
    index = rewind.SpecIndex()  # one walk of the tree for every target's plan
    planned = [
        (target, [t for t in rewind.plan(workflow, target, index).user_tasks(TaskState.READY)
                  if t.id != found.id])
        for target in rewind.predecessors(found, index)
    ]
    # Their task rows in one read (a project's page lists about ten targets).
    ids = {str(t.id) for target, cancels in planned for t in (target, *cancels)}
    rows = {r.id: r for r in session.scalars(
        select(HumanTaskRow).where(HumanTaskRow.id.in_(sorted(ids))))} if ids else {}
    return [
        {
            **_target_dict(rows.get(str(target.id)), target),
            "also_cancels": [
                {"task_id": str(t.id), "element_id": rewind.element_id(t),
                 "name": _title(rows.get(str(t.id)), t)}
                for t in cancels
            ],
        }
        for target, cancels in planned
    ]


def return_to(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    target: str,
    reason: str,
) -> InstanceRecord:
    """Send the instance back to an earlier step on this task's path (by element id or by the
    old task id), with a reason. Branches not on the way back are kept."""
    task = require_task(session, actor, "return", task_id)
    row, record = task.row, task.record
    require_bpmn_row(session, row)
    require_no_vote(session, row)
    require_live(row)
    instances.require_active(record)
    reason = clean_text(reason, "reason", required=True)
    now = ctx.clock.now()
    with acting_on(ctx, session, record, actor.username) as act:
        task = find_task(act.workflow, row.id)
        if task is None or task.state != TaskState.READY:
            raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": row.id})
        choices = rewind.predecessors(task)
        chosen = next(
            (t for t in choices if str(t.id) == target or rewind.element_id(t) == target), None
        )
        if chosen is None:
            raise Conflict(
                "不能退回到该步骤 (not an earlier step on this path)",
                {"target": target, "valid": [rewind.element_id(t) for t in choices]},
            )
        before = _target_dict(session.get(HumanTaskRow, str(chosen.id)), chosen)
        plan = rewind.plan(act.workflow, chosen)
        cancelled = [
            {"task_id": str(t.id), "element_id": rewind.element_id(t)}
            for t in plan.user_tasks(TaskState.READY)
        ]
        redone = [
            {"task_id": str(t.id), "element_id": rewind.element_id(t)}
            for t in plan.user_tasks(TaskState.COMPLETED)
        ]
        new_id = rewind_keeping_form(act.model, act.workflow, plan)
        previous = before["completed_by"]
        if previous:
            act.assign[new_id] = previous
        audit_task(
            session,
            now,
            "task_returned",
            actor,
            row,
            {
                "reason": reason,
                "to_element": before["element_id"],
                "to_name": before["name"],
                "to_old_task_id": before["task_id"],
                "to_task_id": new_id,
                "assigned_to": previous,
                "cancelled": cancelled,
                "redone": redone,
            },
        )
        act.result = run_steps(act.workflow, ctx.clock)
    new_row = session.get(HumanTaskRow, new_id)
    publish(
        ctx,
        session,
        "returned",
        {
            "task_id": new_id,
            "instance_id": record.id,
            "name": before["name"],
            "users": [previous] if previous else [],
            "assignee": new_row.assignee if new_row else None,
            "groups": [c.group_name for c in new_row.candidate_groups] if new_row else [],
            "reason": reason,
            "by": actor.username,
        },
    )
    return record

