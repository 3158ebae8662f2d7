"""The task matrix: role × operation × relation of the actor to the task (see the package)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import and_, bindparam, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.access.instances import denied, may_view_instance, oversees
from engine.errors import Forbidden, NotFound
from engine.store.loaded import column_keys, loaded
from engine.store.prepared import Prepared
from engine.store.records_ops import TaskDelegationRecord
from engine.store.tables import HumanTaskRow, InstanceRecord, TaskCandidateRow

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
# statement, not four, of plain columns (a row per candidate group); `task_access` makes the
# objects (`engine.store.loaded`). A caller may add columns of its own: `with_columns`.
_KEYS = {cls: column_keys(cls) for cls in (HumanTaskRow, InstanceRecord, TaskDelegationRecord)}
_GROUP = sum(len(keys) for keys in _KEYS.values())  # the candidate group's place in a row


def _columns(cls: type) -> list[Any]:
    return [getattr(cls, key) for key in _KEYS[cls]]


_TASK_AND_INSTANCE = (
    select(*_columns(HumanTaskRow), *_columns(InstanceRecord),
           *_columns(TaskDelegationRecord), TaskCandidateRow.group_name)
    .join(InstanceRecord, InstanceRecord.id == HumanTaskRow.instance_id)
    .outerjoin(TaskDelegationRecord, and_(TaskDelegationRecord.task_id == HumanTaskRow.id,
                                          TaskDelegationRecord.status == "active"))
    .outerjoin(TaskCandidateRow, TaskCandidateRow.task_id == HumanTaskRow.id)
    .where(HumanTaskRow.id == bindparam("task_id"))
)
TASK_AND_INSTANCE = Prepared(_TASK_AND_INSTANCE)


def with_columns(*columns: Any) -> Prepared:
    """`TASK_AND_INSTANCE` with ``columns`` added (their values: `TaskAccess.also`)."""
    return Prepared(_TASK_AND_INSTANCE.add_columns(*columns))


def task_access(session: Session, actor: Actor, task_id: str,
                statement: Prepared = TASK_AND_INSTANCE,
                params: Mapping[str, Any] | None = None) -> TaskAccess:
    """The task as the actor stands to it; NotFound if it does not exist or the actor may not
    see its instance. ``statement``: `TASK_AND_INSTANCE`, or it `with_columns` a caller
    added (their values: `TaskAccess.also`)."""
    if session.autoflush:
        session.flush()  # as the ORM's query would: what the session holds is read too
    found = statement.rows(session.connection(), {**(params or {}), "task_id": task_id})
    if not found:
        raise _no_task(task_id)
    row, record, delegation, also = _objects(session, found)
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


def _objects(
    session: Session, found: list[Any]
) -> tuple[HumanTaskRow, InstanceRecord, TaskDelegationRecord | None, tuple[Any, ...]]:
    """The task (its candidate groups loaded), instance and delegation of `TASK_AND_INSTANCE`'s
    rows, and the added columns' values."""
    first, at = found[0], 0
    made: list[Any] = []
    for cls, keys in _KEYS.items():
        values = dict(zip(keys, first[at:at + len(keys)], strict=True))
        at += len(keys)
        if cls is TaskDelegationRecord and values["id"] is None:
            made.append(None)  # no active delegation: the outer join's empty side
            continue
        made.append(loaded(session, cls, values))
    row, record, delegation = made
    groups = list(dict.fromkeys(r[_GROUP] for r in found if r[_GROUP] is not None))
    if "candidate_groups" not in inspect(row).dict:  # not the session's already loaded one
        # set as loaded: reading the groups asks nothing, a change flushes as usual
        set_committed_value(row, "candidate_groups", [
            loaded(session, TaskCandidateRow, {"task_id": row.id, "group_name": g})
            for g in groups
        ])
    return row, record, delegation, tuple(first[_GROUP + 1:])


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
