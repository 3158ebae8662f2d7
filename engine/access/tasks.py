"""The task matrix: role × operation × relation of the actor to the task (see the package)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session, joinedload

from engine.access.instances import denied, may_view_instance, oversees
from engine.errors import Forbidden, NotFound
from engine.store.records_ops import TaskDelegationRecord
from engine.store.tables import HumanTaskRow, InstanceRecord

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


def _no_task(task_id: str) -> NotFound:
    return NotFound(f"任务 {task_id} 不存在 (task not found)", {"task_id": task_id})


def _denied_task(op: str, task: TaskAccess) -> Forbidden:
    if op == "claim" and task.relation == "other":  # the usual race: a colleague was quicker
        return Forbidden(
            "任务已被他人认领 (the task has been claimed by someone else)",
            {"task_id": task.row.id, "op": op, "reason": "claimed_by_other"},
        )
    return denied(op, {"task_id": task.row.id, "op": op})
