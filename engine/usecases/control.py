"""An instance's controls and its timers: retry after an incident, suspend/resume, terminate
(the administrator's and initiator's levers) and waking an instance whose timers are due (the
timer worker and `planflow tick`). Like every use case: the caller's session, committed at the
edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine.access import instance_for
from engine.bpmn.runtime import StepResult, retry_errored, run_steps
from engine.errors import InstanceStateError
from engine.people.accounts import Actor
from engine.store import instance_state as store
from engine.store.audit_log import audit_row
from engine.store.tables import IncidentRecord, InstanceRecord
from engine.usecases.acting import acting_on
from engine.usecases.instances import audit_fired

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.store.timer_rows import Known


def retry(ctx: EngineContext, session: Session, actor: Actor, instance_id: int) -> InstanceRecord:
    record = instance_for(session, actor, "retry", instance_id)
    if record.status != "error":
        raise InstanceStateError(
            "该实例没有需要重试的异常 (no incident to retry)", {"status": record.status}
        )
    with acting_on(ctx, session, record, actor.username) as act:
        now = ctx.clock.now()
        store.resolve_incidents(session, record.id, now)
        act.held.add(audit_row(now, "retried", instance_id=record.id, actor=actor.username))
        act.result = retry_errored(act.workflow, ctx.clock)
    return record


def terminate(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int, reason: str = ""
) -> InstanceRecord:
    record = instance_for(session, actor, "terminate", instance_id)
    if record.status in ("completed", "terminated"):
        raise InstanceStateError("流程已结束 (instance already ended)", {"status": record.status})
    with acting_on(ctx, session, record, actor.username) as act:
        act.workflow.cancel()
        now = ctx.clock.now()
        record.status, record.completed_at = "terminated", now
        store.resolve_incidents(session, record.id, now)
        act.held.add(audit_row(now, "terminated", instance_id=record.id, actor=actor.username,
                               details={"reason": reason}))
    return record


def set_suspended(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int, suspended: bool
) -> InstanceRecord:
    record = instance_for(session, actor, "suspend", instance_id)
    if record.status in ("completed", "terminated"):
        raise InstanceStateError("流程已结束 (instance already ended)", {"status": record.status})
    if record.suspended == suspended:
        return record
    with acting_on(ctx, session, record, actor.username) as act:
        record.suspended = suspended
        now = ctx.clock.now()
        act.held.add(audit_row(now, "suspended" if suspended else "resumed",
                               instance_id=record.id, actor=actor.username))
        if not suspended:
            # Timers that came due while suspended fire now.
            act.result = run_steps(act.workflow, ctx.clock, refresh=True)
            audit_fired(act.held, record.id, act.result, now)
    return record


def fire_due_timers(
    ctx: EngineContext,
    session: Session,
    instance_id: int,
    retries: list[IncidentRecord] | None = None,
    known: Known | None = None,
) -> StepResult | None:
    """Wake one instance whose timers are due (per the clock). Used by tick and the scheduler.
    `retries`: its due retries, when the caller has read them already (a batch does);
    `known`: what else the batch read for its save."""
    record = store.get_instance(session, instance_id)
    if record.status in ("completed", "terminated", "error") or record.suspended:
        return None
    with acting_on(ctx, session, record, "system", known) as act:
        now = ctx.clock.now()
        if retries is None:
            retries = store.due_retries(session, record.id, now)
        for incident in retries:
            incident.resolved_at = now
            act.held.add(audit_row(now, "retried", instance_id=record.id, actor="system",
                                   task_id=incident.task_id, element_id=incident.element_id,
                                   details={"attempt": incident.attempts + 1, "automatic": True}))
        if retries:
            session.flush()
            act.result = retry_errored(act.workflow, ctx.clock)
        else:
            act.result = run_steps(act.workflow, ctx.clock, refresh=True)
            audit_fired(act.held, record.id, act.result, now)
    return act.result
