"""Use cases on instances and tasks (their controls and timers: `engine.usecases.control`).
Each takes the session of the caller's transaction and leaves committing to the edge (request,
CLI command, scheduler job)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.access import TaskAccess, changeable_data, instance_for, require_task
from engine.bpmn.retiming import follow_data
from engine.bpmn.runtime import (
    StepResult,
    apply_external_changes,
    complete_human_task,
    find_task,
    new_workflow,
    run_steps,
)
from engine.errors import (
    Conflict,
    Forbidden,
    InstanceStateError,
    InvalidInput,
    NotFound,
)
from engine.people.accounts import Actor
from engine.store import instance_state as store
from engine.store.audit_log import audit_row
from engine.store.held_audits import HeldAudits
from engine.store.instance_probe import SOMEONE_AWAY
from engine.store.tables import (
    HumanTaskRow,
    InstanceRecord,
    ProcessModelRecord,
    ProcessVersionRecord,
)
from engine.store.timer_rows import Known
from engine.store.versioning import insert_record
from engine.usecases.acting import Action, acting_on
from engine.usecases.submitted import check_data, validated_form_data

if TYPE_CHECKING:
    from engine.context import EngineContext


# The model's live version (id and number) and whether anyone is away (the absence routing of
# the first tasks), in one statement, built once.
_LATEST_VERSION = select(
    ProcessVersionRecord.id, ProcessVersionRecord.version, SOMEONE_AWAY.label("away")
).where(
    ProcessModelRecord.key == bindparam("key"), ProcessVersionRecord.model_key == bindparam("key"),
    ProcessVersionRecord.version == ProcessModelRecord.latest_version)


def start(
    ctx: EngineContext, session: Session, actor: Actor, key: str, data: dict[str, Any]
) -> InstanceRecord:
    check_data(data)
    # Column reads on the connection: the ORM adds nothing here but its per-statement cost.
    now = ctx.clock.now()
    version = session.connection().execute(_LATEST_VERSION, {"key": key, "now": now}).first()
    if version is None:
        raise NotFound(f"流程模型 {key} 不存在 (process model not found)", {"process": key})
    model = store.parsed_model(ctx, session, version.id)
    cleaned = dict(data)
    if model.start_form and model.start_form in model.forms:
        cleaned = validated_form_data(model, model.start_form, data, session=session)
        # Keys the start form does not declare (e.g. set by an API client) are kept as given.
        cleaned = {**data, **cleaned}
    record = InstanceRecord(
        model_key=key,
        version_id=version.id,
        version_number=version.version,
        title=str(data.get("title", ""))[:256],
        status="running",
        started_by=actor.username,
        created_at=now,
        updated_at=now,
        state="",
        data={},
    )
    insert_record(session, record)  # the id is part of the data scripts see
    notes: list[dict[str, Any]] = []
    engine = store.script_engine_for(ctx, session, record, notes)
    seed = {**cleaned, "started_by": actor.username, "instance_id": record.id}
    workflow = new_workflow(model, engine, seed)
    held = HeldAudits(session)
    held.add(audit_row(now, "started", instance_id=record.id, actor=actor.username,
                       details={"process": key, "version": version.version, "data": cleaned}))
    result = run_steps(workflow, ctx.clock)
    store.save(
        ctx,
        session,
        record,
        workflow,
        model,
        incident=result.incident,
        notes=notes,
        actor=actor.username,
        known=Known(to_route=bool(version.away)),
        held=held,
    )
    return record


def complete(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    data: dict[str, Any],
    *,
    task: TaskAccess | None = None,
    known: Known | None = None,
) -> InstanceRecord:
    """Complete a BPMN user task. Every channel completes through `engine.operations.submit`
    (which handles signatures and passes the access it already checked as `task`, and what
    it already read about the instance as `known`)."""
    check_data(data)
    task = task or require_task(session, actor, "submit", task_id)
    row, record = task.row, task.record
    _require_open_row(row)
    require_active(record)
    with acting_on(ctx, session, record, actor.username, known) as act:
        found = ready_task(act.workflow, task_id)
        cleaned = (
            validated_form_data(
                act.model, row.form_file, data, current=found.data, session=session
            )
            if row.form_file
            else dict(data)
        )
        run_ready(ctx, act, record, row, found, cleaned, actor, completed_by=actor.username)
    return record


def ready_task(workflow: Any, task_id: str) -> Any:
    """The engine task of a row being completed; Conflict unless it is ready."""
    found = find_task(workflow, task_id)
    if found is None or found.state != TaskState.READY:
        raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": task_id})
    return found


def run_ready(
    ctx: EngineContext, act: Action, record: InstanceRecord, row: HumanTaskRow, found: Any,
    data: dict[str, Any], actor: Actor, *, completed_by: str, extra: dict[str, Any] | None = None,
) -> None:
    """Complete ``found`` (the ready task of ``row``) with ``data`` inside an action: the
    engine runs on, date timers follow the data, and the completion is recorded for whom it
    counts (``completed_by``: the handler whose data it is, e.g. after signers)."""
    now = ctx.clock.now()
    act.result = complete_human_task(act.workflow, found, data, ctx.clock)
    if act.result.incident is None:
        moved = follow_dates(ctx, act.held, record.id, act.workflow, data, actor, now)
        act.result = moved or act.result
    act.held.add(audit_row(now, "task_completed", instance_id=record.id, actor=completed_by,
                           task_id=row.id, element_id=row.element_id,
                           details={"name": row.name, "data": data, **(extra or {})}))
    act.completed[row.id] = completed_by


def claim(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    *,
    task: TaskAccess | None = None,
) -> HumanTaskRow:
    row = (task or require_task(session, actor, "claim", task_id)).row
    _require_open_row(row)
    if row.assignee and row.assignee != actor.username:
        raise Conflict(
            f"任务已被 {row.assignee} 认领 (already claimed)", {"assignee": row.assignee}
        )
    now = ctx.clock.now()
    row.assignee, row.claimed_at = actor.username, now
    store.audit(
        session,
        now,
        "task_claimed",
        instance_id=row.instance_id,
        actor=actor.username,
        task_id=row.id,
        element_id=row.element_id,
    )
    _touch(session, row.instance_id, now)
    return row


def unclaim(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    *,
    task: TaskAccess | None = None,
) -> HumanTaskRow:
    row = (task or require_task(session, actor, "unclaim", task_id)).row
    _require_open_row(row)
    if row.claimed_at is None:
        raise Conflict(
            "只能取消认领的组任务 (only a claimed group task can be unclaimed)", {"task_id": row.id}
        )
    now = ctx.clock.now()
    row.assignee, row.claimed_at = None, None
    store.audit(
        session,
        now,
        "task_unclaimed",
        instance_id=row.instance_id,
        actor=actor.username,
        task_id=row.id,
        element_id=row.element_id,
    )
    _touch(session, row.instance_id, now)
    return row


def send_message(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    instance_id: int,
    name: str,
    payload: dict[str, Any],
) -> InstanceRecord:
    """Deliver a message the instance waits for (e.g. `raise_risk` during execution)."""
    check_data(payload)
    record = instance_for(session, actor, "message", instance_id)
    require_active(record)
    with acting_on(ctx, session, record, actor.username) as act:
        waiting = waiting_messages(act.workflow)
        if name not in waiting:
            raise Conflict(
                f"流程当前不等待消息 {name} (the instance is not waiting for {name})",
                {"waiting": sorted(waiting)},
            )
        # Event definitions match by class as well as name: reuse the waiting task's own.
        try:
            act.workflow.send_event(BpmnEvent(waiting[name], payload=payload))
        except WorkflowException as exc:
            raise Conflict(str(exc)) from exc
        act.held.add(audit_row(ctx.clock.now(), "message_received", instance_id=record.id,
                               actor=actor.username, details={"message": name, "payload": payload}))
        act.result = run_steps(act.workflow, ctx.clock)
    return record


def update_data(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    instance_id: int,
    changes: dict[str, Any],
) -> InstanceRecord:
    """Change instance variables (e.g. move `event_date`); waiting date timers follow."""
    check_data(changes)
    if not changes:
        raise InvalidInput("没有要修改的数据 (field data: no changes given)",
                           {"field": "data"})
    record = instance_for(session, actor, "update_data", instance_id)
    require_active(record)
    with acting_on(ctx, session, record, actor.username) as act:
        changes = _checked_changes(act, actor, record, changes, session)
        now = ctx.clock.now()
        act.held.add(audit_row(now, "data_updated", instance_id=record.id, actor=actor.username,
                               details={"changes": changes}))
        # Timers first: they compare the new values with the ones they were computed from.
        moved = follow_dates(ctx, act.held, record.id, act.workflow, changes, actor, now)
        apply_external_changes(act.workflow, changes)
        act.result = moved or run_steps(act.workflow, ctx.clock)
    return record


def _checked_changes(
    act: Action, actor: Actor, record: InstanceRecord, changes: dict[str, Any], session: Session
) -> dict[str, Any]:
    """``changes`` as they may be applied: only what the actor may change
    (`engine.access.changeable_data`), and what the start form asked validated by that form
    (a guest list must stay a list the later steps can read); else refused naming the field."""
    start_form = act.model.forms.get(act.model.start_form or "")
    allowed = changeable_data(actor, record, start_form)
    for key in changes:
        if allowed is not None and key not in allowed:
            name = key[:60]
            raise Forbidden(
                f"发起人只能修改发起时填写的内容，{name} 须由流程管理人员修改 "
                f"(the initiator may change only what the start form asked; data.{name} "
                "is for managers)",
                {"field": f"data.{name}"},
            )
    if start_form is None or act.model.start_form is None:
        return changes
    asked = {f.path.split(".")[0].split("[")[0] for f in start_form.fields}
    mine = {k: v for k, v in changes.items() if k in asked}
    if not mine:
        return changes
    current = record.data if isinstance(record.data, dict) else {}
    # the whole start form as it would read after the change (its required fields are set)
    whole = {**{k: current[k] for k in asked if k in current}, **mine}
    checked = validated_form_data(act.model, act.model.start_form, whole, current=current,
                                  session=session)
    return {**changes, **{k: checked[k] for k in mine if k in checked}}


def follow_dates(
    ctx: EngineContext,
    held: HeldAudits,
    instance_id: int,
    workflow: Any,
    changes: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> StepResult | None:
    """Reschedule date timers that read changed data; fire those now in the past (the audit
    entries go to the action's ``held``). A value a timer cannot use is refused (InvalidInput
    naming the field): nothing of the change is saved."""
    moved = follow_data(workflow, changes, ctx.clock)
    if not moved:
        return None
    for m in moved:
        held.add(audit_row(now, "timer_rescheduled", instance_id=instance_id,
                           actor=actor.username, task_id=m.task_id, element_id=m.element_id,
                           details={"old_due": m.old_due, "new_due": m.new_due}))
    result = run_steps(workflow, ctx.clock, refresh=True)
    audit_fired(held, instance_id, result, now)
    return result


def audit_fired(held: HeldAudits, instance_id: int, result: StepResult, now: datetime) -> None:
    """An audit entry per timer that fired in `result` (with how late it fired), in the
    action's ``held``."""
    for timer in result.fired_timers:
        late = (now - timer.due_at).total_seconds()
        held.add(audit_row(now, "timer_fired", instance_id=instance_id, actor="system",
                           task_id=timer.task_id, element_id=timer.element_id,
                           details={"due_at": timer.due_at.isoformat(),
                                    "late_seconds": round(late, 3), "kind": timer.kind}))


def waiting_messages(workflow: Any) -> dict[str, MessageEventDefinition]:
    """Messages the instance can receive now, by name."""
    out: dict[str, MessageEventDefinition] = {}
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        if task.state == TaskState.WAITING and isinstance(definition, MessageEventDefinition):
            out[definition.name] = definition
    return out


def _require_open_row(row: HumanTaskRow) -> None:
    if row.status != "open":
        raise Conflict(
            "任务已处理或已取消 (task already completed or cancelled)",
            {"task_id": row.id, "status": row.status},
        )


def require_active(record: InstanceRecord) -> None:
    if record.suspended:
        raise InstanceStateError("流程已挂起 (instance is suspended)", {"status": "suspended"})
    if record.status in ("completed", "terminated"):
        raise Conflict("流程已结束 (instance already ended)", {"status": record.status})


def _touch(session: Session, instance_id: int, now: datetime) -> None:
    """Bump the instance's version so a concurrent completion of the same task conflicts
    (even when the clock has not moved, e.g. under a fixed clock)."""
    record = store.get_instance(session, instance_id)
    record.updated_at = now
    flag_modified(record, "updated_at")
    session.flush()
