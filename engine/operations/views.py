"""The read side: which operations the actor may try on a task right now (authorisation and
the simple state rules; each operation still has the last word), everything the task page
needs for its buttons and signature panel, and an instance's handling history (who did what:
returns, withdrawals, signatures, delegations, handovers, copies).
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import TASK_OPS, TaskAccess, instance_for, may_on_instance, task_access
from engine.errors import PlanflowError
from engine.operations.reminders import last_reminded, remind_interval
from engine.operations.returns import return_targets
from engine.operations.shared import is_vote, step_and_signers, step_signer, task_row
from engine.operations.votes import vote_rule
from engine.read.inbox import ENDED
from engine.read.queries import instance_dict, task_dict
from engine.read.task_page import opened_task, task_view
from engine.read.withdrawable import withdrawable
from engine.store.records_ops import (
    LIVE_STATUSES,
    InstanceCcRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.store.tables import AuditRecord, HumanTaskRow

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def signer_dict(e: TaskSignerRecord) -> dict[str, Any]:
    return {
        "id": e.id,
        "mode": e.mode,
        "seq": e.seq,
        "signer": e.signer,
        "added_by": e.added_by,
        "status": e.status,
        "comment": e.comment,
        "step_task_id": e.step_task_id,
        "created_at": e.created_at.isoformat(),
        "acted_at": e.acted_at.isoformat() if e.acted_at else None,
        "acted_by": e.acted_by,
    }


def _delegation_dict(d: TaskDelegationRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "task_id": d.task_id,
        "owner": d.owner,
        "delegate": d.delegate,
        "status": d.status,
        "comment": d.comment,
        "resolution": d.resolution,
        "data": d.data,
        "created_at": d.created_at.isoformat(),
        "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None,
    }


def available_operations(
    session: Session,
    task: TaskAccess,
    signers: tuple[TaskSignerRecord | None, bool] | None = None,
) -> dict[str, bool]:
    """Which operations the actor may try on this task right now (`engine.access` and the
    simple state rules; the operation itself still has the last word). ``signers``: the
    signature row this task stands for and whether it is a 会签 step, when the caller has read
    them (`task_operations`)."""
    actor, row, record, delegation = task.actor, task.row, task.record, task.delegation
    ok = task.may
    if signers is None:
        entry = step_signer(session, row.id)
        vote = entry is None and is_vote(session, row.id)
    else:
        entry, vote = signers
    active = record.status not in ("completed", "terminated") and not record.suspended
    live = row.status in LIVE_STATUSES and active
    is_open = live and row.status == "open"

    out = {op: False for op in TASK_OPS if op != "view"}
    # The 已办 list's rule, so the button shows exactly when `withdraw` would accept it; the
    # query runs only for a completed step.
    out["withdraw"] = row.status == "completed" and row.id in withdrawable(
        session, actor, [row.id]
    )
    out["cc"] = ok("cc") and active
    if entry is not None:  # a signature / vote row
        out["sign"] = is_open and ok("sign") and entry.status == "open"
        out["transfer"] = live and ok("transfer")
        out["remind"] = live and ok("remind")
        return out
    plain = delegation is None
    out["claim"] = is_open and plain and not vote and ok("claim") and row.assignee is None
    out["unclaim"] = is_open and plain and ok("unclaim") and row.claimed_at is not None
    out["submit"] = is_open and plain and not vote and ok("submit")
    out["transfer"] = live and plain and not vote and ok("transfer")
    out["delegate"] = is_open and plain and not vote and ok("delegate")
    out["resolve"] = is_open and delegation is not None and ok("resolve")
    out["recall"] = live and delegation is not None and ok("recall")
    out["add_signer"] = is_open and plain and not vote and ok("add_signer")
    out["remove_signer"] = live and not vote and ok("remove_signer")
    out["return"] = live and plain and not vote and ok("return")
    out["remind"] = live and ok("remind")
    return out


def task_operations(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str,
    *, task: TaskAccess | None = None,
) -> dict[str, Any]:
    """Everything the task page needs for the operation buttons and the signature panel
    (``task``: the access this request already decided, `engine.operations.task_page`)."""
    task = task or task_access(session, actor, task_id)
    row, record = task.row, task.record
    entry, signers = step_and_signers(session, row.id)
    parent_id = entry.parent_task_id if entry is not None else row.id
    delegations = list(
        session.scalars(
            select(TaskDelegationRecord)
            .where(TaskDelegationRecord.task_id == parent_id)
            .order_by(TaskDelegationRecord.id)
        )
    )
    submission = session.get(TaskSubmissionRecord, parent_id)
    vote = None
    if any(s.mode == "vote" for s in signers):
        parent = task_row(session, parent_id)
        mode, needed, variable = vote_rule(ctx, session, record, parent)
        vote = {
            "mode": mode,
            "needed": needed,
            "voters": sum(1 for s in signers if s.mode == "vote"),
            "approvals": sum(1 for s in signers if s.status == "approved"),
            "rejections": sum(1 for s in signers if s.status == "rejected"),
            "result_variable": variable,
        }
    now = ctx.clock.now()
    last = last_reminded(session, row)
    return {
        "task": task_dict(row, now, record.title),
        "kind": "vote"
        if entry is not None and entry.mode == "vote"
        else "signature"
        if entry is not None
        else "task",
        "parent_task_id": parent_id if entry is not None else None,
        "relation": task.relation,
        # the row's own signers are the vote's when it is a BPMN row (parent_id is its id)
        "operations": available_operations(
            session, task, (entry, entry is None and any(s.mode == "vote" for s in signers))
        ),
        "signers": [signer_dict(s) for s in signers],
        "delegations": [_delegation_dict(d) for d in delegations],
        "submission": (
            {
                "submitted_by": submission.submitted_by,
                "submitted_at": submission.submitted_at.isoformat(),
                "data": submission.data,
            }
            if submission is not None
            else None
        ),
        "vote": vote,
        "last_reminded_at": last.isoformat() if last else None,
        "next_reminder_at": (last + remind_interval(ctx)).isoformat() if last else None,
    }


def task_page(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str, all_steps: bool = False
) -> dict[str, Any]:
    """Everything the task page shows, from one access decision and (for an open task) one
    restore of the instance: ``view`` (`engine.read.task_page.task_view`), ``operations``
    (`task_operations`; None when it cannot be answered), ``return_targets`` (empty when the
    actor may not return the task or nothing can be planned) and ``may_terminate``. NotFound
    when the actor may not see the task."""
    opened = opened_task(ctx, session, actor, task_id)
    access = opened.access
    view = task_view(ctx, session, actor, task_id, all_steps, opened=opened)
    try:
        ops = task_operations(ctx, session, actor, task_id, task=access)
    except PlanflowError:
        ops = None
    targets: list[dict[str, Any]] = []
    if ops is not None and ops["operations"].get("return"):
        # not restorable or nothing to go back to: the panel says so
        with suppress(PlanflowError, ValueError, KeyError):
            # `return` is offered on a BPMN row only: no signature row to look for again
            targets = return_targets(
                ctx, session, actor, task_id, task=access, workflow=opened.workflow,
                bpmn_row=True,
            )
    record = access.record
    return {
        "view": view,
        "operations": ops,
        "return_targets": targets,
        "may_terminate": record.status not in ENDED
        and may_on_instance(session, actor, "terminate", record),
    }


OPS_ACTIONS = (
    "task_created",
    "task_claimed",
    "task_unclaimed",
    "task_completed",
    "task_submitted",
    "task_transferred",
    "task_delegated",
    "task_delegate_resolved",
    "task_delegation_recalled",
    "signer_added",
    "signer_removed",
    "signer_signed",
    "vote_opened",
    "vote_cast",
    "vote_decided",
    "task_returned",
    "task_withdrawn",
    "instance_withdrawn",
    "reminder",
    "cc",
    "task_handover",
    "task_handback",
    "terminated",
    "completed",
)


def _rows_of(session: Session, table: Any, instance_id: int) -> list[Any]:
    """An instance's rows of a task-operation table, in the order they were made."""
    return list(
        session.scalars(select(table).where(table.instance_id == instance_id).order_by(table.id))
    )


def _handover_dict(h: TaskHandoverRecord) -> dict[str, Any]:
    return {
        "id": h.id,
        "task_id": h.task_id,
        "from": h.from_user,
        "to": h.to_user,
        "reason": h.reason,
        "created_at": h.created_at.isoformat(),
        "returned_at": h.returned_at.isoformat() if h.returned_at else None,
    }


def _cc_dict(c: InstanceCcRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "username": c.username,
        "task_id": c.task_id,
        "cc_by": c.cc_by,
        "note": c.note,
        "created_at": c.created_at.isoformat(),
        "read_at": c.read_at.isoformat() if c.read_at else None,
    }


def instance_operations(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int
) -> dict[str, Any]:
    """The instance's handling history (who did what, returns, withdrawals, signatures,
    delegations, handovers, copies), for everyone who took part — A and B both included."""
    record = instance_for(session, actor, "view", instance_id)
    audit = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.instance_id == instance_id, AuditRecord.action.in_(OPS_ACTIONS))
        .order_by(AuditRecord.id)
    ).all()
    now = ctx.clock.now()
    tasks = session.scalars(
        select(HumanTaskRow)
        .where(HumanTaskRow.instance_id == instance_id)
        .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
    ).all()
    return {
        "instance": instance_dict(record),
        "tasks": [task_dict(t, now) for t in tasks],
        "history": [
            {
                "id": a.id,
                "at": a.at.isoformat(),
                "actor": a.actor,
                "action": a.action,
                "task_id": a.task_id,
                "element_id": a.element_id,
                "details": a.details,
            }
            for a in audit
        ],
        "signers": [signer_dict(r) for r in _rows_of(session, TaskSignerRecord, instance_id)],
        "delegations": [
            _delegation_dict(r) for r in _rows_of(session, TaskDelegationRecord, instance_id)
        ],
        "handovers": [
            _handover_dict(r) for r in _rows_of(session, TaskHandoverRecord, instance_id)
        ],
        "cc": [_cc_dict(r) for r in _rows_of(session, InstanceCcRecord, instance_id)],
    }
