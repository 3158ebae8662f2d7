"""The authorisation matrix of the task operations (role × operation × relation). The relation
of the actor to the task the operation is about: own – assigned to the actor (directly, by
claim, transfer or handover); group – unassigned and offered to one of the actor's groups;
other – assigned to someone else; foreign – unassigned and offered to groups the actor is not
in; delegate – the actor works on it for its owner (委派). Roles: staff, manager (planning
manager/supervisor, executive), process owner, admin. State is checked by each operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import Forbidden

if TYPE_CHECKING:
    from engine.people.accounts import Actor
    from engine.store.records_ops import TaskDelegationRecord
    from engine.store.tables import HumanTaskRow

TASK_OPS = (
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
    "remind",
    "cc",
)


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
    delegation_owner: bool = False,
) -> bool:
    """The authorisation matrix (role × operation × relation). State is checked separately."""
    admin = actor.is_admin
    boss = actor.is_manager or actor.is_process_owner  # both include admins
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
    if op == "resolve":
        return rel == "delegate"
    if op == "recall":
        return delegation_owner or admin
    if op in ("add_signer", "remove_signer"):
        return rel == "own" or (admin and rel in ("other", "foreign"))
    if op == "sign":
        return rel == "own"
    if op == "remind":
        return rel not in ("own", "delegate") and (boss or initiator)
    if op == "cc":
        return rel in ("own", "group", "delegate") or boss or initiator
    return False


def _deny(op: str, row: HumanTaskRow) -> Forbidden:
    return Forbidden(
        f"无权对该任务执行此操作 (not allowed to {op} this task)", {"task_id": row.id, "op": op}
    )

