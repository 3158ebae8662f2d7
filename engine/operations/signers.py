"""提交 submit (complete, aware of signatures), 加签 add signers (before, parallel, after), 减签
remove a signature not yet given, and 签署 sign: a signer's or voter's approve / reject. A
rejection sends the task back to its owner (their submission is discarded, after-signers must
sign again) until the owner asks that signer again or returns the instance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import require_task, task_access, with_columns
from engine.errors import Conflict, InvalidInput, NotFound
from engine.notify.notifications import publish
from engine.operations.completion import advance, open_entry
from engine.operations.shared import (
    SIGNER_MODES,
    active_users,
    audit_task,
    clean_text,
    live_signers,
    require_bpmn_row,
    require_live,
    require_no_vote,
    require_open,
    signers_of,
    step_signer,
    task_row,
    touch_instance,
)
from engine.operations.votes import count_votes
from engine.store import instance_state as store
from engine.store.instance_probe import about_the_instance, known_about
from engine.store.records_ops import LIVE_STATUSES, TaskSignerRecord, TaskSubmissionRecord
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.usecases import instances, submitted

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


# Built once per database (their JSON functions differ).
_TASK_AND_ABOUT = {
    dialect: with_columns(*about_the_instance(dialect)) for dialect in ("sqlite", "postgresql")
}


def submit(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    data: dict[str, Any],
    *,
    signature_rows: bool = True,
) -> InstanceRecord:
    """Complete a task. Without signatures this is exactly `instances.complete`; with pending
    after-/parallel signers the data waits and the BPMN task completes when they have signed.
    On a signature/vote row it means "approve" (use `sign` to reject); with
    ``signature_rows=False`` (the API's /complete) such a row is a Conflict: use /sign."""
    submitted.check_data(data)
    # With the task, what the save needs to know of its instance (its timer rows and open
    # incidents, whether it ever had a signer, delegation or held submission, has anything to
    # route around an absence, which task rows are live): the save need not ask, and the
    # common case has no task operation and nothing more to read here.
    asked = _TASK_AND_ABOUT[session.get_bind().dialect.name]
    task = task_access(session, actor, task_id, asked, {"now": ctx.clock.now()})
    row, record = task.row, task.record
    known = known_about(task.also)
    any_ops = bool(known.task_operations)
    entry, entries = signers_of(session, row.id) if any_ops else (None, [])
    if entry is not None and signature_rows:
        decision = data.get("decision", "approve")
        return sign(ctx, session, actor, task_id, decision, data.get("comment", ""))
    task.require("submit")
    if entry is not None:
        require_bpmn_row(session, row)
    require_open(row)
    instances.require_active(record)
    if not entries:
        return instances.complete(
            ctx, session, actor, task_id, data, task=task,
            known=known,
        )
    rejected = [e.signer for e in entries if e.status == "rejected"]
    if rejected:
        raise Conflict(
            "加签人已拒绝，请重新加签或退回 (a signer rejected: ask them again or return)",
            {"rejected_by": rejected},
        )
    model = store.parsed_model(ctx, session, record.version_id)
    cleaned = (
        submitted.validated_form_data(model, row.form_file, data, session=session)
        if row.form_file
        else dict(data)
    )
    now = ctx.clock.now()
    session.add(
        TaskSubmissionRecord(
            task_id=row.id,
            instance_id=row.instance_id,
            submitted_by=actor.username,
            data=store.jsonable(cleaned),
            submitted_at=now,
        )
    )
    if row.assignee is None:
        row.assignee, row.claimed_at = actor.username, now
    audit_task(session, now, "task_submitted", actor, row, {"data": cleaned})
    touch_instance(session, record, now)
    advance(ctx, session, record, row, actor, now)
    return record


def add_signers(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    users: Any,
    mode: str,
    comment: str = "",
) -> list[TaskSignerRecord]:
    task = require_task(session, actor, "add_signer", task_id)
    row, record, delegation = task.row, task.record, task.delegation
    require_bpmn_row(session, row)
    require_no_vote(session, row)
    if mode not in SIGNER_MODES:
        raise InvalidInput(
            "mode 必须是 before / after / parallel (mode must be before, after or parallel)",
            {"mode": mode},
        )
    require_open(row)
    instances.require_active(record)
    if delegation is not None:
        raise Conflict("任务已委派 (the task is delegated)", {"task_id": row.id})
    signers = active_users(session, users, "users")
    comment = clean_text(comment, "comment")
    owner = row.assignee or actor.username
    if owner in signers:
        raise InvalidInput("不能给自己加签 (the handler cannot sign their own task)")
    all_entries = list(
        session.scalars(select(TaskSignerRecord).where(TaskSignerRecord.parent_task_id == row.id))
    )
    busy = sorted(
        {e.signer for e in all_entries if e.status in ("pending", "open") and e.signer in signers}
    )
    if busy:
        raise Conflict("已是待签人 (already a pending signer)", {"users": busy})
    now = ctx.clock.now()
    for e in all_entries:
        if e.status == "rejected" and e.signer in signers:
            e.status = "superseded"
    seq = max((e.seq for e in all_entries), default=0)
    added = []
    for user in signers:
        seq += 1
        entry = TaskSignerRecord(
            instance_id=row.instance_id,
            parent_task_id=row.id,
            mode=mode,
            seq=seq,
            signer=user,
            added_by=actor.username,
            status="pending",
            comment="",
            created_at=now,
        )
        session.add(entry)
        added.append(entry)
    session.flush()
    if mode == "parallel":
        for entry in added:
            open_entry(ctx, session, record, row, entry, actor, now)
    audit_task(
        session,
        now,
        "signer_added",
        actor,
        row,
        {"mode": mode, "users": signers, "comment": comment},
    )
    touch_instance(session, record, now)
    advance(ctx, session, record, row, actor, now)
    return added


def remove_signer(
    ctx: EngineContext, session: Session, actor: Actor, signer_id: int, comment: str = ""
) -> TaskSignerRecord:
    entry = session.get(TaskSignerRecord, signer_id)
    if entry is None:
        raise NotFound(f"加签记录 {signer_id} 不存在 (signer not found)", {"id": signer_id})
    task = require_task(session, actor, "remove_signer", entry.parent_task_id)
    row, record = task.row, task.record
    if entry.mode == "vote":
        raise Conflict("会签人由流程模型决定，不能减签 (votes come from the model)")
    if entry.status not in ("pending", "open"):
        raise Conflict(
            "该加签人已处理，不能减签 (the signer has already acted)",
            {"id": entry.id, "status": entry.status},
        )
    require_live(row)
    instances.require_active(record)
    comment = clean_text(comment, "comment")
    now = ctx.clock.now()
    entry.status, entry.acted_at, entry.acted_by = "removed", now, actor.username
    if entry.step_task_id:
        step = session.get(HumanTaskRow, entry.step_task_id)
        if step is not None and step.status in LIVE_STATUSES:
            step.status, step.completed_at = "cancelled", now
    audit_task(
        session,
        now,
        "signer_removed",
        actor,
        row,
        {"signer": entry.signer, "mode": entry.mode, "comment": comment},
    )
    touch_instance(session, record, now)
    advance(ctx, session, record, row, actor, now)
    return entry


def sign(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    decision: str,
    comment: str = "",
) -> InstanceRecord:
    """A signer's or voter's 同意 (approve) / 拒绝 (reject) on their step."""
    task = require_task(session, actor, "sign", task_id)
    row, record = task.row, task.record
    entry = step_signer(session, row.id)
    if entry is None:
        raise Conflict("这不是加签/会签步骤 (not a signature step: use submit)")
    if row.status != "open" or entry.status != "open":
        raise Conflict(
            "该签署已处理或已取消 (already signed or cancelled)",
            {"task_id": row.id, "status": entry.status},
        )
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision 必须是 approve 或 reject", {"decision": decision})
    comment = clean_text(comment, "comment", required=decision == "reject")
    instances.require_active(record)
    now = ctx.clock.now()
    entry.status = "approved" if decision == "approve" else "rejected"
    entry.acted_at, entry.acted_by, entry.comment = now, actor.username, comment
    row.status, row.completed_by, row.completed_at = "completed", actor.username, now
    parent = task_row(session, entry.parent_task_id)
    store.audit(
        session,
        now,
        "vote_cast" if entry.mode == "vote" else "signer_signed",
        instance_id=row.instance_id,
        actor=actor.username,
        task_id=parent.id,
        element_id=parent.element_id,
        details={
            "name": parent.name,
            "step_task_id": row.id,
            "mode": entry.mode,
            "decision": decision,
            "comment": comment,
        },
    )
    touch_instance(session, record, now)
    if entry.mode == "vote":
        count_votes(ctx, session, record, parent, actor, now)
        return record
    if decision == "reject":
        submission = session.get(TaskSubmissionRecord, parent.id)
        if submission is not None:
            session.delete(submission)
        for e in live_signers(session, parent.id):
            if e.mode != "after" or e.id == entry.id:
                continue
            if e.status == "open" and e.step_task_id:
                step = session.get(HumanTaskRow, e.step_task_id)
                if step is not None and step.status == "open":
                    step.status, step.completed_at = "cancelled", now
                e.step_task_id = None
            if e.status in ("open", "approved"):
                e.status = "pending"
        publish(
            ctx,
            session,
            "returned",
            {
                "task_id": parent.id,
                "instance_id": parent.instance_id,
                "name": parent.name,
                "users": [parent.assignee] if parent.assignee else [],
                "groups": [c.group_name for c in parent.candidate_groups],
                "reason": comment,
                "by": actor.username,
            },
        )
    advance(ctx, session, record, parent, actor, now)
    return record



def signer_parent_task(session: Session, signer_id: int) -> str | None:
    """The task a signer (加签) hangs on, if the signer exists."""
    entry = session.get(TaskSignerRecord, signer_id)
    return entry.parent_task_id if entry is not None else None
