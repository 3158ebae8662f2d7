"""Who may see a process instance: managers, process owners (admins included) and everyone who
took part in it — the initiator, (former) assignees and completers, candidate-group members of
its open tasks, A/B handover parties, delegation parties, signers, CC recipients and anyone the
audit log names as an actor.

One home for the rule (task operations, the instance detail, CC and document downloads use it),
kept apart from `engine.operations` so `engine.read.queries` can import it without a cycle. The
check is a single query of EXISTS clauses over indexed `instance_id` columns, so it costs one
round trip however many tasks and tables the instance has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select, union
from sqlalchemy.orm import Session

from engine.store.records_ops import (
    LIVE_STATUSES,
    InstanceCcRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
)
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord, TaskCandidateRow

if TYPE_CHECKING:
    from engine.people.accounts import Actor


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
        clauses.append(
            exists().where(
                HumanTaskRow.instance_id == instance_id,
                HumanTaskRow.status.in_(LIVE_STATUSES),
                TaskCandidateRow.task_id == HumanTaskRow.id,
                TaskCandidateRow.group_name.in_(sorted(actor.groups)),
            )
        )
    return or_(*clauses)


def may_view_instance(session: Session, actor: Actor, record: InstanceRecord) -> bool:
    if actor.is_manager or actor.is_process_owner or actor.username == record.started_by:
        return True
    return bool(session.scalar(select(took_part(actor, record.id))))


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


def onlooker(
    session: Session, actor: Actor, row: HumanTaskRow, record: InstanceRecord
) -> bool:
    """Who may read a task they may not act on, on the task page and through the API:
    managers and process owners (they oversee every instance), the initiator, and the owner
    who delegated it (委派). Reading is all the GET gives; acting still checks `may_act_on`."""
    if actor.is_manager or actor.is_process_owner or record.started_by == actor.username:
        return True
    return bool(
        session.scalar(
            select(
                exists().where(
                    TaskDelegationRecord.task_id == row.id,
                    TaskDelegationRecord.status == "active",
                    TaskDelegationRecord.owner == actor.username,
                )
            )
        )
    )
