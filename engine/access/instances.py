"""Who may see an instance and do what to it (and who is named on it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import CompoundSelect, exists, or_, select, union
from sqlalchemy.orm import Session

from engine.errors import Forbidden, NotFound
from engine.forms.people import PERSON_TYPES, person_groups
from engine.store.records_ops import (
    InstanceCcRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
    is_live,
)
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord, TaskCandidateRow

if TYPE_CHECKING:
    from engine.forms.schema import FormSchema
    from engine.people.accounts import Actor

INSTANCE_OPS: Final = (
    "view", "message", "update_data", "terminate", "withdraw", "retry", "suspend", "cc",
)
"""What can be done to an instance (``view`` includes its documents and history)."""




def took_part(actor: Actor, instance_id: int) -> Any:
    """A SQL condition: the actor took part in the instance (not counting the initiator)."""
    user = actor.username
    clauses = [
        exists().where(
            HumanTaskRow.instance_id == instance_id,
            or_(HumanTaskRow.assignee == user, HumanTaskRow.completed_by == user),
        ),
        exists().where(
            TaskHandoverRecord.instance_id == instance_id,
            or_(TaskHandoverRecord.from_user == user, TaskHandoverRecord.to_user == user),
        ),
        exists().where(
            TaskDelegationRecord.instance_id == instance_id,
            or_(TaskDelegationRecord.owner == user, TaskDelegationRecord.delegate == user),
        ),
        exists().where(
            TaskSignerRecord.instance_id == instance_id, TaskSignerRecord.signer == user
        ),
        exists().where(
            InstanceCcRecord.instance_id == instance_id, InstanceCcRecord.username == user
        ),
        exists().where(AuditRecord.instance_id == instance_id, AuditRecord.actor == user),
    ]
    if actor.groups:
        clauses.append(offered_live_task(actor, instance_id))
    return or_(*clauses)


def offered_live_task(actor: Actor, instance_id: int) -> Any:
    """A live task of the instance offered to one of the actor's groups (claimed by a
    colleague or not: the team sees who took it, read-only)."""
    return exists().where(
        HumanTaskRow.instance_id == instance_id,
        is_live(HumanTaskRow.status),
        TaskCandidateRow.task_id == HumanTaskRow.id,
        TaskCandidateRow.group_name.in_(sorted(actor.groups)),
    )


def oversees(actor: Actor) -> bool:
    """Managers and process owners (admins included) see every instance and task."""
    return actor.is_manager or actor.is_process_owner


def listed_instance_ids(actor: Actor) -> CompoundSelect | None:
    """Ids of the instances the actor's lists show: None (all) for those who oversee every
    instance; for staff those started by them, or with a task assigned to or completed by them
    (their own work: a subset of what they may see, so the lists stay "mine"). A UNION of
    three covering index look-ups (ix_instances_started_by, ix_tasks_assignee_status,
    ix_tasks_completed_by): no instance row is read."""
    if oversees(actor):
        return None
    username = actor.username
    return union(
        select(InstanceRecord.id.label("id")).where(InstanceRecord.started_by == username),
        select(HumanTaskRow.instance_id).where(HumanTaskRow.completed_by == username),
        select(HumanTaskRow.instance_id).where(HumanTaskRow.assignee == username),
    )


def may_view_instance(session: Session, actor: Actor, record: InstanceRecord) -> bool:
    if oversees(actor) or actor.username == record.started_by or owns(actor, record):
        return True
    return bool(session.scalar(select(took_part(actor, record.id))))


def owns(actor: Actor, record: InstanceRecord) -> bool:
    """The instance's A角 or B角 (`a_owner` / `b_owner`, AB角制度): theirs from the start."""
    data = record.data if isinstance(record.data, dict) else {}
    return actor.username in (data.get("a_owner"), data.get("b_owner"))


def may_on_instance(session: Session, actor: Actor, op: str, record: InstanceRecord) -> bool:
    """The instance matrix; the caller has established that the actor may view the instance."""
    initiator = actor.username == record.started_by
    if op == "view":
        return True
    if op == "cc":  # as on a task: who is on it now, its initiator and A角/B角, a manager.
        # Not every viewer: a copy lets its recipient see the instance, and could spread on.
        if oversees(actor) or initiator or owns(actor, record):
            return True
        return bool(session.scalar(select(_on_it_now(actor, record.id))))
    if op == "message":  # e.g. raise a risk: initiator, A角/B角, a manager, who works on it
        if actor.is_admin or actor.is_manager or initiator or owns(actor, record):
            return True
        return bool(session.scalar(select(_works_on(actor, record.id))))
    if op == "update_data":
        return initiator or actor.is_manager or actor.is_process_owner
    if op in ("terminate", "withdraw"):
        return initiator or actor.is_admin
    if op in ("retry", "suspend"):
        return actor.is_process_owner
    raise ValueError(f"unknown instance operation {op!r}")


def _on_it_now(actor: Actor, instance_id: int) -> Any:
    """A live task of the instance is the actor's, or offered to one of their groups."""
    clauses = [
        exists().where(
            HumanTaskRow.instance_id == instance_id,
            is_live(HumanTaskRow.status),
            HumanTaskRow.assignee == actor.username,
        )
    ]
    if actor.groups:
        clauses.append(offered_live_task(actor, instance_id))
    return or_(*clauses)


def changeable_data(actor: Actor, record: InstanceRecord,
                    start_form: FormSchema | None) -> frozenset[str] | None:
    """The instance variables the actor may change (``update_data``, once allowed): None for
    any (managers, process owners); for the initiator what the start form asked of them (the
    launch date, the venue…), but neither its person fields (A角/B角 decide who sees the
    instance) nor what later steps recorded (approved figures are the approvers')."""
    if oversees(actor) or actor.username != record.started_by:
        return None
    if start_form is None:
        return frozenset()
    return frozenset(
        f.path.split(".")[0].split("[")[0] for f in start_form.fields
        if not (f.type in PERSON_TYPES and person_groups(f.component) is not None)
    )


def _works_on(actor: Actor, instance_id: int) -> Any:
    user = actor.username
    clauses = [
        exists().where(
            HumanTaskRow.instance_id == instance_id,
            or_(HumanTaskRow.assignee == user, HumanTaskRow.completed_by == user),
        )
    ]
    if actor.groups:
        clauses.append(offered_live_task(actor, instance_id))
    return or_(*clauses)


def instance_permissions(
    session: Session, actor: Actor, record: InstanceRecord, ops: tuple[str, ...] = INSTANCE_OPS
) -> dict[str, bool]:
    """The instance operations of ``ops`` the actor may do (a page's buttons; state is the
    page's). Ask only for the buttons shown: "message" costs a query."""
    return {op: may_on_instance(session, actor, op, record) for op in ops}


def instance_for(
    session: Session, actor: Actor, op: str, instance_id: int
) -> InstanceRecord:
    """The instance, if the actor may know it (else NotFound) and may do ``op`` (else
    Forbidden)."""
    record = session.get(InstanceRecord, instance_id)
    if record is None or not may_view_instance(session, actor, record):
        raise NotFound(f"流程实例 {instance_id} 不存在 (instance not found)", {"id": instance_id})
    if not may_on_instance(session, actor, op, record):
        raise denied(op, {"id": instance_id})
    return record


def participants(session: Session, record: InstanceRecord) -> set[str]:
    """Everyone named on the instance (initiator, assignees, completers, handover, delegation
    and signer parties, CC recipients, audit actors), in one UNION query."""
    iid = record.id
    parts = [
        select(HumanTaskRow.assignee.label("name")).where(HumanTaskRow.instance_id == iid),
        select(HumanTaskRow.completed_by).where(HumanTaskRow.instance_id == iid),
        select(TaskHandoverRecord.from_user).where(TaskHandoverRecord.instance_id == iid),
        select(TaskHandoverRecord.to_user).where(TaskHandoverRecord.instance_id == iid),
        select(TaskDelegationRecord.owner).where(TaskDelegationRecord.instance_id == iid),
        select(TaskDelegationRecord.delegate).where(TaskDelegationRecord.instance_id == iid),
        select(TaskSignerRecord.signer).where(TaskSignerRecord.instance_id == iid),
        select(InstanceCcRecord.username).where(InstanceCcRecord.instance_id == iid),
        select(AuditRecord.actor).where(AuditRecord.instance_id == iid),
    ]
    found = session.scalars(union(*parts))
    return {record.started_by, *(n for n in found if n)}


def denied(op: str, details: dict[str, Any]) -> Forbidden:
    """The refusal (403) of ``op``."""
    return Forbidden(f"无权执行此操作 (not allowed to {op})", details)
