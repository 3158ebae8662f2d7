"""Loading and saving instances: state, task projection, timers, incidents and audit entries,
all in the caller's transaction. Optimistic locking via the instance's version counter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.bpmn.runtime import (
    STALLED,
    Incident,
    PlanflowScriptEngine,
    ServiceTaskFailed,
    element_id,
    merged_data,
    stall_point,
)
from engine.bpmn.specs import ParsedModel, SourceFile, parse_model
from engine.bpmn.tree_scan import TreeScan, scan
from engine.errors import NotFound
from engine.store import timer_rows
from engine.store.audit_log import audit, audit_row, jsonable
from engine.store.held_audits import HeldAudits
from engine.store.instance_row import row_values
from engine.store.start_warnings import warning_notes
from engine.store.tables import (
    IncidentRecord,
    InstanceRecord,
    ProcessVersionRecord,
    VersionFileRecord,
)
from engine.store.task_projection import record_expression_problems, sync_tasks
from engine.store.versioning import write_checked
from handlers import HandlerContext, UnknownHandler

if TYPE_CHECKING:
    from engine.context import EngineContext


def parsed_model(ctx: EngineContext, session: Session, version_id: int) -> ParsedModel:
    def load() -> ParsedModel:
        version = session.get(ProcessVersionRecord, version_id)
        if version is None:
            raise NotFound(f"流程版本 {version_id} 不存在 (version not found)")
        rows = session.scalars(
            select(VersionFileRecord).where(VersionFileRecord.version_id == version_id)
        ).all()
        files = {r.name: SourceFile(r.name, r.kind, r.content) for r in rows}
        return parse_model(version.bpmn_file, files, validate_xsd=False)

    return ctx.specs.get(version_id, load)


def get_instance(session: Session, instance_id: int) -> InstanceRecord:
    record = session.get(InstanceRecord, instance_id)
    if record is None:
        raise NotFound(f"流程实例 {instance_id} 不存在 (instance not found)", {"id": instance_id})
    return record


def script_engine_for(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    notes: list[dict[str, Any]],
    actor: str | None = None,
) -> PlanflowScriptEngine:
    """A script engine whose service calls reach our handlers with this instance's context
    (`actor`: who acts, as `HandlerContext.actor`)."""

    def dispatch(task: Task, name: str, params: dict[str, Any]) -> Any:
        try:
            handler = ctx.handlers.get(name)
        except UnknownHandler:
            raise ServiceTaskFailed(
                f"未知的服务操作 (unknown service operation) {name!r}"
            ) from None
        hctx = HandlerContext(
            instance_id=record.id,
            process_key=record.model_key,
            element_id=element_id(task),
            clock=ctx.clock,
            session=session,
            started_by=record.started_by,
            data=task.data,
            zone=ctx.settings.zone,
            instance_view=lambda: merged_data(task.workflow.top_workflow),
            actor=actor,
        )
        try:
            result = handler(params, hctx)
        except Exception as exc:
            notes.append(
                {
                    "action": "service_failed",
                    "element_id": element_id(task),
                    "details": {"operation": name, "error": str(exc)[:1000]},
                }
            )
            raise ServiceTaskFailed(f"服务任务 {name} 失败 (service task failed): {exc}") from exc
        notes.append(
            {
                "action": "service_called",
                "element_id": element_id(task),
                "details": {"operation": name, "params": jsonable(params)},
            }
        )
        for note in hctx.notes:
            notes.append(
                {"action": "handler_note", "element_id": element_id(task), "details": note}
            )
        return result

    return PlanflowScriptEngine(ctx.environment, dispatch, ctx.settings.zone)


def restore(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    notes: list[dict[str, Any]],
    actor: str | None = None,
) -> tuple[BpmnWorkflow, ParsedModel]:
    model = parsed_model(ctx, session, record.version_id)
    workflow = ctx.serializer.loads(record.state, model.spec, model.subprocess_specs)
    # The script engine is not serialized: attach it after every restore.
    workflow.script_engine = script_engine_for(ctx, session, record, notes, actor)
    return workflow, model


def save(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    model: ParsedModel,
    *,
    incident: Incident | None = None,
    completed: Mapping[str, str] | None = None,
    notes: list[dict[str, Any]] | None = None,
    actor: str | None = None,
    assign: Mapping[str, str] | None = None,
    known: timer_rows.Known | None = None,
    held: HeldAudits | None = None,
) -> None:
    """Write the instance and everything derived from it, in the caller's transaction.
    ``completed``: human task id -> who completed it in this action; ``assign``: task id ->
    who a task this save creates goes to (退回/撤回 reopen a step for its previous person);
    ``known``: what the caller already read for this instance (a timer batch); ``held``: the
    action's audit entries so far, if the caller keeps them as rows (`acting_on`, a start).

    The instance row is written (and version-checked) first: a concurrent writer that saved
    the same instance makes this fail with Conflict before any derived row is touched, so the
    caller's rollback leaves nothing half-applied. Audit entries pending in the session, and
    those the save adds, go out last, in one INSERT (engine.store.held_audits.HeldAudits)."""
    now = ctx.clock.now()
    tree = scan(workflow)  # one walk: the ready tasks here, the row's data and elements later
    ready = [] if record.status == "terminated" else tree.ready_human
    if incident is None and not ready and record.status != "terminated":
        incident = _stalled(workflow, tree)
    # Not saved before (`instances.start` creates the row with an empty state): it has no
    # incidents, task rows, timers or task operations yet, so nothing needs reading.
    first_save = not record.state
    # The last save had no ready user task (its stage is their names): it closed every
    # engine task row, so only planflow's own rows (task operations) can be live now.
    had_ready = first_save or record.stage is not None
    known = known or timer_rows.Known()
    held = held or HeldAudits(session)
    _save(ctx, session, record, workflow, model, tree, ready, first_save, had_ready, now,
          incident, completed or {}, notes or [], actor, assign or {}, known, held)
    held.write(known.batch.audits if known.batch is not None else None)


def _save(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    model: ParsedModel,
    tree: TreeScan,
    ready: list[Task],
    first_save: bool,
    had_ready: bool,
    now: datetime,
    incident: Incident | None,
    completed: Mapping[str, str],
    notes: list[dict[str, Any]],
    actor: str | None,
    assign: Mapping[str, str],
    known: timer_rows.Known,
    held: HeldAudits,
) -> None:
    with session.no_autoflush:
        attempts, retry_at = (
            _retry_plan(ctx, session, record.id, incident, now) if incident else (0, None)
        )
        # One read serves the status (an incident waiting for a person) and the timer rows
        # (the current ones, and those scheduled retries need) below.
        timers, unresolved = (
            ([], [])
            if first_save
            else known.timers or timer_rows.timers_and_incidents(session, record.id)
        )
        needs_human = (incident is not None and retry_at is None) or any(
            i.retry_at is None for i in unresolved
        )
        values = row_values(ctx, record, workflow, model, tree, ready, needs_human, now)
        if first_save:  # the model's warnings to its starter
            notes = [*notes, *warning_notes(values["data"])]
    # The instance row first (version-checked): a concurrent save fails here, before any
    # derived row is written.
    write_checked(session, record, values)
    held.flush(record)
    with session.no_autoflush:
        for note in notes:
            held.add(audit_row(
                now, note["action"], instance_id=record.id, actor=actor,
                element_id=note.get("element_id"), details=note.get("details"),
            ))
        if incident is not None:
            _write_incident(ctx, session, record, incident, attempts, retry_at, actor, now)
            unresolved.append(timer_rows.Pending(incident.task_id, incident.element_id, retry_at))
        sync_tasks(
            ctx, session, record, workflow, model, ready, completed, now, first_save, had_ready,
            assign, known, held,
        )
        timer_rows.sync_timers(session, record, workflow, timers, unresolved, known.batch)
        if record.status == "completed" and record.completed_at == now:
            held.add(audit_row(now, "completed", instance_id=record.id))
    held.flush(record)


def _write_incident(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    incident: Incident,
    attempts: int,
    retry_at: datetime | None,
    actor: str | None,
    now: datetime,
) -> None:
    """The incident row and its audit entry; without a retry to come, people are told."""
    session.add(IncidentRecord(
        attempts=attempts,
        retry_at=retry_at,
        instance_id=record.id,
        task_id=incident.task_id,
        element_id=incident.element_id,
        message=incident.message,
        created_at=now,
    ))
    audit(
        session,
        now,
        "error" if retry_at is None else "retry_scheduled",
        instance_id=record.id,
        actor=actor,
        task_id=incident.task_id,
        element_id=incident.element_id,
        details={
            "message": incident.message,
            "attempts": attempts,
            "retry_at": retry_at.isoformat() if retry_at else None,
        },
    )
    if retry_at is None:
        ctx.notifier.notify(
            session,
            "incident",
            {"instance_id": record.id, "element_id": incident.element_id,
             "message": incident.message},
        )


def _stalled(workflow: BpmnWorkflow, tree: TreeScan) -> Incident | None:
    """A silent stop becomes an incident naming where it stopped (never a quietly dead
    instance). Only checked when no user task is ready, so the common save pays nothing."""
    stuck = stall_point(workflow, tree)
    if stuck is None:
        return None
    return Incident(task_id=str(stuck.id), element_id=element_id(stuck), message=STALLED)


def has_open_incident(session: Session, instance_id: int) -> bool:
    """An unresolved incident that waits for a person (not one the scheduler will retry)."""
    return (
        session.scalar(
            select(IncidentRecord.id)
            .where(
                IncidentRecord.instance_id == instance_id,
                IncidentRecord.resolved_at.is_(None),
                IncidentRecord.retry_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _retry_plan(
    ctx: EngineContext, session: Session, instance_id: int, incident: Incident, now: datetime
) -> tuple[int, datetime | None]:
    """Attempt number and, while retries remain, when to try again (exponential back-off)."""
    earlier = (
        session.scalar(
            select(func.count(IncidentRecord.id)).where(
                IncidentRecord.instance_id == instance_id,
                IncidentRecord.task_id == incident.task_id,
            )
        )
        or 0
    )
    attempts = earlier + 1
    if not incident.retryable:
        return attempts, None
    limit = (
        incident.retry_limit
        if incident.retry_limit is not None
        else ctx.settings.service_retry_limit
    )
    if attempts > limit:
        return attempts, None
    delay = ctx.settings.service_retry_base_seconds * 2 ** (attempts - 1)
    return attempts, now + timedelta(seconds=delay)


def due_retries(session: Session, instance_id: int, now: datetime) -> list[IncidentRecord]:
    return list(
        session.scalars(
            select(IncidentRecord).where(
                IncidentRecord.instance_id == instance_id,
                IncidentRecord.resolved_at.is_(None),
                IncidentRecord.retry_at <= now,
            )
        )
    )


def resolve_incidents(session: Session, instance_id: int, at: datetime) -> None:
    session.execute(
        update(IncidentRecord)
        .where(IncidentRecord.instance_id == instance_id, IncidentRecord.resolved_at.is_(None))
        .values(resolved_at=at)
    )


__all__ = [
    "audit",
    "jsonable",
    "record_expression_problems",
]
