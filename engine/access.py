"""Who may see and do what: the one home of every permission rule. The API, the pages, the CLI
and the read models all ask here, and they ask in one order:

1. **May the actor know it exists?** Otherwise ``NotFound`` (404), exactly as for an id that does
   not exist, so ids cannot be probed. A task is visible to whoever may see its instance, and
   to the members of the groups it was offered to.
2. **May they do this to it?** Otherwise ``Forbidden`` (403).
3. Only then does the use case check state (``Conflict`` / ``InstanceStateError``, 409).

Who may see an instance: managers, process owners (admins included), its A角/B角 and everyone
who took part in it — the initiator, (former) assignees and completers, candidate-group members
of its open tasks, A/B handover parties, delegation parties, signers, CC recipients and anyone
the audit log names as an actor. The check is a single query of EXISTS clauses over indexed
``instance_id`` columns, skipped when the actor's relation to the task already answers it.

The task matrix is role × operation × relation, where the relation of the actor to the task is:
own – assigned to the actor (directly, by claim, transfer or handover); group – unassigned and
offered to one of the actor's groups; other – assigned to someone else; foreign – unassigned and
offered to groups the actor is not in; delegate – the actor works on it for its owner (委派).
Roles: staff, manager (planning manager/supervisor, executive), process owner, admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import CompoundSelect, Select, and_, bindparam, exists, or_, select, union
from sqlalchemy.orm import Session, joinedload

from engine.errors import Forbidden, NotFound
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

TASK_OPS: Final = (
    "view",
    "claim",
    "unclaim",
    "submit",
    "transfer",
    "delegate",
    "resolve",
    "recall",
    "add_signer",
    "remove_signer",
    "sign",
    "return",
    "withdraw",
    "remind",
    "cc",
)
"""What can be done to a task (``view``: read it and its data)."""

INSTANCE_OPS: Final = (
    "view", "message", "update_data", "terminate", "withdraw", "retry", "suspend", "cc",
)
"""What can be done to an instance (``view`` includes its documents and history)."""


# --- instances ---------------------------------------------------------------------------------


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
        clauses.append(_offered_live_task(actor, instance_id))
    return or_(*clauses)


def _offered_live_task(actor: Actor, instance_id: int) -> Any:
    """A live task of the instance offered to one of the actor's groups (claimed by a
    colleague or not: the team sees who took it, read-only)."""
    return exists().where(
        HumanTaskRow.instance_id == instance_id,
        HumanTaskRow.status.in_(LIVE_STATUSES),
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
    if op in ("view", "cc"):
        return True
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


def _works_on(actor: Actor, instance_id: int) -> Any:
    user = actor.username
    clauses = [
        exists().where(
            HumanTaskRow.instance_id == instance_id,
            or_(HumanTaskRow.assignee == user, HumanTaskRow.completed_by == user),
        )
    ]
    if actor.groups:
        clauses.append(_offered_live_task(actor, instance_id))
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
        raise _denied(op, {"id": instance_id})
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


# --- tasks -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskAccess:
    """A task as the actor stands to it: loaded once, asked about by ``may`` / ``require``."""

    actor: Actor
    row: HumanTaskRow
    record: InstanceRecord
    delegation: TaskDelegationRecord | None
    relation: str
    also: tuple[Any, ...] = ()  # the values of the columns a caller added (`task_access`)

    def may(self, op: str) -> bool:
        return allowed(
            self.actor,
            op,
            self.relation,
            initiator=self.record.started_by == self.actor.username,
            delegated=self.delegation is not None,
            delegation_owner=self.delegation is not None
            and self.delegation.owner == self.actor.username,
            completer=self.row.completed_by == self.actor.username,
        )

    def require(self, op: str) -> None:
        if not self.may(op):
            raise _denied_task(op, self)


def relation(actor: Actor, row: HumanTaskRow, delegation: TaskDelegationRecord | None) -> str:
    if delegation is not None and delegation.delegate == actor.username:
        return "delegate"
    if row.assignee == actor.username:
        return "own"
    if row.assignee is None:
        offered = any(c.group_name in actor.groups for c in row.candidate_groups)
        return "group" if offered else "foreign"
    return "other"


def allowed(
    actor: Actor,
    op: str,
    rel: str,
    *,
    initiator: bool = False,
    delegated: bool = False,
    delegation_owner: bool = False,
    completer: bool = False,
) -> bool:
    """The task matrix (role × operation × relation) for an actor who may view the task."""
    admin = actor.is_admin
    boss = oversees(actor)
    if op == "view":
        return True
    if op == "claim":
        return rel in ("own", "group") or (admin and rel == "foreign")
    if op == "unclaim":
        return rel == "own" or (admin and rel == "other")
    if op in ("submit", "return"):
        return rel in ("own", "group") or (admin and rel in ("other", "foreign"))
    if op == "transfer":
        return rel == "own" or (boss and rel in ("group", "other", "foreign"))
    if op == "delegate":
        return rel == "own"
    # resolve / recall of a task that is not delegated: whoever would be entitled if it were
    # (they then learn it is not delegated: 409); everyone else 403.
    if op == "resolve":
        return rel == "delegate" or (not delegated and (rel in ("own", "group") or admin))
    if op == "recall":
        return delegation_owner or admin or (not delegated and rel == "own")
    if op in ("add_signer", "remove_signer"):
        return rel == "own" or (admin and rel in ("other", "foreign"))
    if op == "sign":
        return rel == "own"
    if op == "withdraw":
        return completer or admin
    if op == "remind":
        return rel not in ("own", "delegate") and (boss or initiator)
    if op == "cc":
        return rel in ("own", "group", "delegate") or boss or initiator
    raise ValueError(f"unknown task operation {op!r}")


# The task with its candidate groups, its instance and its active delegation (if any): one
# statement, not four (built once). A caller may add columns of its own (`task_access`).
TASK_AND_INSTANCE = (
    select(HumanTaskRow, InstanceRecord, TaskDelegationRecord)
    .join(InstanceRecord, InstanceRecord.id == HumanTaskRow.instance_id)
    .outerjoin(TaskDelegationRecord, and_(TaskDelegationRecord.task_id == HumanTaskRow.id,
                                          TaskDelegationRecord.status == "active"))
    .options(joinedload(HumanTaskRow.candidate_groups))
    .where(HumanTaskRow.id == bindparam("task_id"))
)


def task_access(session: Session, actor: Actor, task_id: str,
                statement: Select[Any] = TASK_AND_INSTANCE,
                params: Mapping[str, Any] | None = None) -> TaskAccess:
    """The task as the actor stands to it; NotFound if it does not exist or the actor may not
    see its instance. ``statement``: `TASK_AND_INSTANCE` with columns a caller added (their
    values: `TaskAccess.also`)."""
    found = session.execute(statement, {**(params or {}), "task_id": task_id}).unique().first()
    if found is None:
        raise _no_task(task_id)
    row, record, delegation, *also = found
    rel = relation(actor, row, delegation)
    # The relation answers it without a query, or the instance rule does. A step offered to
    # the actor's group stays theirs to know after a colleague did it: a second click that
    # lost the race learns "already done" (409), not "no such task".
    visible = (
        rel in ("own", "group", "delegate")
        or row.completed_by == actor.username
        or may_view_instance(session, actor, record)
    )
    if not visible:
        raise _no_task(task_id)
    return TaskAccess(actor, row, record, delegation, rel, tuple(also))


def require_task(session: Session, actor: Actor, op: str, task_id: str) -> TaskAccess:
    """``task_access`` and then ``require(op)``: 404 before 403."""
    access = task_access(session, actor, task_id)
    access.require(op)
    return access


# --- process models ----------------------------------------------------------------------------


def may_read_definitions(actor: Actor) -> bool:
    """A model's files, versions and diffs, and deploying: process owners (admins included).
    Everyone may list the models (to start one)."""
    return actor.is_process_owner


def require_model_owner(actor: Actor) -> None:
    if not actor.is_process_owner:
        raise Forbidden("需要流程管理员权限 (process owner only)")


# --- pages of the application ------------------------------------------------------------------


def may_open(actor: Actor, area: str) -> bool:
    """The areas: dashboard (managers), models (process owners), admin (admins); what the
    processes wrote: 考核数据 kpis (and award nominations), 意向客户 leads, 案例库 cases."""
    if area == "kpis":  # managers and process owners
        return oversees(actor)
    if area in ("cases", "leads"):  # cases: everyone; leads: 销售部 and managers
        return area == "cases" or actor.is_manager or "sales" in actor.groups
    if area == "dashboard":
        return actor.is_manager
    if area == "models":
        return actor.is_process_owner
    if area == "admin":
        return actor.is_admin
    raise ValueError(f"unknown area {area!r}")


def may_manage_absence(actor: Actor, username: str | None) -> bool:
    """See, set or end someone's absence (A角/B角 hand-over): themselves, a manager, an admin;
    ``username=None`` asks about everyone's."""
    return actor.is_manager or (username is not None and actor.username == username)


def _no_task(task_id: str) -> NotFound:
    return NotFound(f"任务 {task_id} 不存在 (task not found)", {"task_id": task_id})


def _denied(op: str, details: dict[str, Any]) -> Forbidden:
    return Forbidden(f"无权执行此操作 (not allowed to {op})", details)


def _denied_task(op: str, task: TaskAccess) -> Forbidden:
    if op == "claim" and task.relation == "other":  # the usual race: a colleague was quicker
        return Forbidden(
            "任务已被他人认领 (the task has been claimed by someone else)",
            {"task_id": task.row.id, "op": op, "reason": "claimed_by_other"},
        )
    return _denied(op, {"task_id": task.row.id, "op": op})
