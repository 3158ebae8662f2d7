"""One engine action on one instance: restore it, let the caller act, save it.

Every use case that changes an instance has the same shape; this keeps that shape in one place
so each use case reads as what it does. If the caller raises, nothing is saved (and the edge's
transaction rolls back)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy.orm import Session

from engine.bpmn.runtime import StepResult
from engine.store import instance_state as store
from engine.store.audit_log import audit
from engine.store.held_audits import HeldAudits

if TYPE_CHECKING:
    from engine.bpmn.specs import ParsedModel
    from engine.context import EngineContext
    from engine.store.tables import InstanceRecord
    from engine.store.timer_rows import Known


@dataclass
class Action:
    workflow: BpmnWorkflow
    model: ParsedModel
    notes: list[dict[str, Any]]
    # The action's audit entries, as rows (`held.add(audit_row(...))`), written with the save's.
    held: HeldAudits
    result: StepResult = field(default_factory=StepResult)
    # Human task id -> who completed it in this action.
    completed: dict[str, str] = field(default_factory=dict)
    # Task id -> who a task this action creates goes to (退回/撤回 reopen a person's step).
    assign: dict[str, str] = field(default_factory=dict)


@contextmanager
def acting_on(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    actor: str | None,
    known: Known | None = None,
) -> Iterator[Action]:
    """``known``: what the caller already read for the save (`engine.store.timer_rows.Known`)."""
    notes: list[dict[str, Any]] = []
    acting = actor if actor not in (None, "system") else None
    workflow, model = store.restore(ctx, session, record, notes, acting)
    action = Action(workflow, model, notes, HeldAudits(session))
    yield action
    store.save(ctx, session, record, workflow, model, incident=action.result.incident,
               completed=action.completed, notes=notes, actor=actor, assign=action.assign,
               known=known, held=action.held)


def admin_override(
    ctx: EngineContext, session: Session, command: str, operator: str,
    instance_id: int | None = None,
) -> None:
    """An operator acted as the built-in administrator (the CLI's `--admin`), past every
    access rule: the audit log says who, with which command, on which instance."""
    audit(session, ctx.clock.now(), "admin_override", instance_id=instance_id, actor="system",
          details={"command": command, "operator": operator[:64]})
