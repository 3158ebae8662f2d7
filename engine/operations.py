"""Task operations of Chinese approval practice, as engine use cases (no Flask).

认领/取消认领 claim/unclaim, 提交 submit, 转办 transfer, 委派 delegate (+ resolve, recall),
加签/减签 add/remove signer, 签署 sign (a signer's or voter's approve/reject), 会签/或签 votes,
退回 return, 撤回 withdraw, 催办 remind, 终止 terminate. 抄送 CC is in `engine.cc`, A/B absences
in `engine.absence`.

Every operation: authorise (Forbidden, checked first), check state (Conflict / InvalidInput),
then change, audit (`engine.store.audit`) and notify — all in the caller's transaction, so a
refusal changes nothing. Each one bumps the instance's version, so two concurrent operations on
one instance cannot both commit.

Design of the projection around a BPMN user task T (see also `engine.task_hooks`):

* 转办: T's assignee changes for good.  委派: a `task_delegations` row (owner, delegate) and T's
  assignee becomes the delegate; the delegate may save form data (kept in the task's data) and
  *resolves*, which gives T back to the owner. Only the owner completes T.
* 加签 (added by T's handler): `task_signers` rows. Each signature, when due, is its own
  projection row (a `human_tasks` row with a planflow id, no form) in the signer's inbox:
  - before: signs first, sequentially; T is `on_hold` (out of the owner's inbox) meanwhile and
    comes back to the owner afterwards;
  - parallel (countersign): opens at once; everyone must approve;
  - after: opens when the owner submits; the owner's data waits in `task_submissions`.
  The BPMN task completes (with the owner's data, completed_by = owner) only when every
  signature is approved. A rejection sends T back to the owner (their submission is discarded,
  after-signers must sign again) and blocks completion until the owner asks that signer again
  (adding them anew) or returns the instance. 减签 removes a signature not yet given.
* 会签/或签 from the model (`signMode` = all | any | quorum:N, `assignees` = expression): T is
  held and every assignee gets a vote row; planflow counts the votes (SpiffWorkflow's
  completionCondition only sees the last instance's data, so a quorum cannot be counted there)
  and completes T with `<element>_decision` = approve|reject and `<element>_votes`.
* 退回 / 撤回 rewind the workflow (`engine.rewind`): parallel branches not on the way back stay.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from engine import absence, instances, ops_settings, rewind, store
from engine.acting import acting_on
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, FormInvalid, InvalidInput, NotFound
from engine.forms import validate_submission
from engine.models import AuditRecord, HumanTaskRow, InstanceRecord
from engine.notifications import group_members, publish
from engine.people import Actor, get_user
from engine.queries import instance_dict, task_dict
from engine.records_ops import (
    LIVE_STATUSES,
    ON_HOLD,
    InstanceCcRecord,
    TaskDelegationRecord,
    TaskHandoverRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.runtime import complete_human_task, find_task, run_steps
from engine.task_hooks import ASSIGN_OVERRIDES, parse_sign_mode
from engine.visibility import may_view_instance
from engine.withdrawable import withdrawable

SIGNER_MODES = ("before", "parallel", "after")
LIVE_SIGNER = ("pending", "open", "approved", "rejected")
MAX_USERS = 20
MAX_TEXT = 2000

# --- authorisation ------------------------------------------------------------------------------
#
# The relation of the actor to the task the operation is about:
#   own      – assigned to the actor (directly, by claim, transfer or handover)
#   group    – unassigned and offered to one of the actor's groups
#   other    – assigned to someone else
#   foreign  – unassigned and offered to groups the actor is not in
#   delegate – the actor works on it for its owner (委派)
# Roles: staff, manager (planning manager/supervisor, executive), process owner, admin.

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


# --- shared helpers -------------------------------------------------------------------------------


def _row(session: Session, task_id: str) -> HumanTaskRow:
    row = session.get(HumanTaskRow, task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在 (task not found)", {"task_id": task_id})
    return row


def _touch(session: Session, record: InstanceRecord, now: datetime) -> None:
    """Bump the instance's version: a concurrent operation on the instance then conflicts."""
    instance_id = record.id
    record.updated_at = now
    flag_modified(record, "updated_at")  # bump the version even if the time did not move
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "该流程实例已被其他操作更新，请刷新后重试 (the instance was changed concurrently)",
            {"instance_id": instance_id},
        ) from exc


def _require_live(row: HumanTaskRow) -> None:
    if row.status not in LIVE_STATUSES:
        raise Conflict(
            "任务已处理或已取消 (task already completed or cancelled)",
            {"task_id": row.id, "status": row.status},
        )


def _require_open(row: HumanTaskRow) -> None:
    _require_live(row)
    if row.status == ON_HOLD:
        raise Conflict(
            "任务正在等待加签/会签 (the task is waiting for signatures)",
            {"task_id": row.id, "status": row.status},
        )


def _text(value: Any, name: str, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 必须是字符串 ({name} must be a string)")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"需要填写{name} ({name} is required)", {"field": name})
    return value[:MAX_TEXT]


def _active_user(session: Session, username: Any) -> str:
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("需要指定用户 (a username is required)")
    user = get_user(session, username.strip())
    if not user.is_active:
        raise InvalidInput(f"用户 {username} 已停用 (user disabled)", {"username": username})
    return user.username


def _users(session: Session, usernames: Any) -> list[str]:
    if isinstance(usernames, str):
        usernames = [usernames]
    if not isinstance(usernames, list | tuple) or not usernames:
        raise InvalidInput("需要至少一个用户 (at least one user is required)")
    if len(usernames) > MAX_USERS:
        raise InvalidInput(f"最多 {MAX_USERS} 人 (at most {MAX_USERS} users)")
    return list(dict.fromkeys(_active_user(session, u) for u in usernames))


def step_signer(session: Session, task_id: str) -> TaskSignerRecord | None:
    """The signature/vote a planflow-made projection row stands for (None for BPMN rows)."""
    return session.scalar(select(TaskSignerRecord).where(TaskSignerRecord.step_task_id == task_id))


def active_delegation(session: Session, task_id: str) -> TaskDelegationRecord | None:
    return session.scalar(
        select(TaskDelegationRecord).where(
            TaskDelegationRecord.task_id == task_id, TaskDelegationRecord.status == "active"
        )
    )


def _entries(session: Session, task_id: str) -> list[TaskSignerRecord]:
    return list(
        session.scalars(
            select(TaskSignerRecord)
            .where(
                TaskSignerRecord.parent_task_id == task_id,
                TaskSignerRecord.status.in_(LIVE_SIGNER),
            )
            .order_by(TaskSignerRecord.seq, TaskSignerRecord.id)
        )
    )


def _is_vote(session: Session, task_id: str) -> bool:
    return (
        session.scalar(
            select(TaskSignerRecord.id)
            .where(TaskSignerRecord.parent_task_id == task_id, TaskSignerRecord.mode == "vote")
            .limit(1)
        )
        is not None
    )


def _bpmn_row(session: Session, row: HumanTaskRow) -> None:
    if step_signer(session, row.id) is not None:
        raise Conflict(
            "这是加签/会签步骤，只能同意或拒绝 (a signature step: approve or reject it with sign)",
            {"task_id": row.id},
        )


def _no_vote(session: Session, row: HumanTaskRow) -> None:
    if _is_vote(session, row.id):
        raise Conflict(
            "会签/或签步骤不支持该操作 (not available on a vote step)", {"task_id": row.id}
        )


def _context(
    session: Session, actor: Actor, task_id: str
) -> tuple[HumanTaskRow, InstanceRecord, TaskDelegationRecord | None, str]:
    row = _row(session, task_id)
    record = store.get_instance(session, row.instance_id)
    delegation = active_delegation(session, row.id)
    return row, record, delegation, relation(actor, row, delegation)


def _check(
    actor: Actor,
    op: str,
    row: HumanTaskRow,
    record: InstanceRecord,
    rel: str,
    delegation: TaskDelegationRecord | None = None,
) -> None:
    if not allowed(
        actor,
        op,
        rel,
        initiator=record.started_by == actor.username,
        delegation_owner=delegation is not None and delegation.owner == actor.username,
    ):
        raise _deny(op, row)


def _audit(
    session: Session,
    now: datetime,
    action: str,
    actor: Actor,
    row: HumanTaskRow,
    details: dict[str, Any],
) -> None:
    store.audit(
        session,
        now,
        action,
        instance_id=row.instance_id,
        actor=actor.username,
        task_id=row.id,
        element_id=row.element_id,
        details={"name": row.name, **details},
    )


def _candidates(session: Session, row: HumanTaskRow) -> list[str]:
    """Who currently has to act on a row: its assignee, else its groups' members; for a held
    BPMN task the people whose signatures/votes are open."""
    if row.status == ON_HOLD:
        return [
            r.assignee
            for r in session.scalars(
                select(HumanTaskRow)
                .join(TaskSignerRecord, TaskSignerRecord.step_task_id == HumanTaskRow.id)
                .where(
                    TaskSignerRecord.parent_task_id == row.id,
                    HumanTaskRow.status == "open",
                )
            )
            if r.assignee
        ]
    if row.assignee:
        return [row.assignee]
    return group_members(session, [c.group_name for c in row.candidate_groups])


# --- claim / unclaim (the existing use cases, behind the matrix) --------------------------------


def claim(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> HumanTaskRow:
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "claim", row, record, rel, delegation)
    _bpmn_row(session, row)
    return instances.claim(ctx, session, actor, task_id)


def unclaim(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> HumanTaskRow:
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "unclaim", row, record, rel, delegation)
    _bpmn_row(session, row)
    if delegation is not None:
        raise Conflict("任务已委派 (the task is delegated)", {"task_id": row.id})
    return instances.unclaim(ctx, session, actor, task_id)


# --- 转办 transfer --------------------------------------------------------------------------------


def transfer(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    to_user: str,
    comment: str = "",
) -> HumanTaskRow:
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "transfer", row, record, rel, delegation)
    _require_live(row)
    instances._require_active(record)
    _no_vote(session, row)
    if delegation is not None:
        raise Conflict(
            "任务已委派，请先收回 (the task is delegated: recall it first)", {"task_id": row.id}
        )
    target = _active_user(session, to_user)
    comment = _text(comment, "comment")
    if target == row.assignee:
        raise InvalidInput("任务已在该用户名下 (the task is already theirs)", {"to": target})
    now = ctx.clock.now()
    previous = row.assignee
    row.assignee, row.claimed_at = target, now
    _audit(
        session,
        now,
        "task_transferred",
        actor,
        row,
        {"from": previous, "to": target, "comment": comment},
    )
    _announce_assigned(ctx, session, row, target, "transferred", actor.username)
    _touch(session, record, now)
    return row


def _announce_assigned(
    ctx: EngineContext, session: Session, row: HumanTaskRow, user: str, kind: str, by: str
) -> None:
    """Tell the one person a task now waits for (transferred, delegated, handed back, signer)."""
    publish(ctx, session, "task_assigned", {
        "task_id": row.id, "instance_id": row.instance_id, "name": row.name,
        "users": [user], "kind": kind, "by": by,
    })


# --- 委派 delegate / resolve / recall ----------------------------------------------------------


def delegate(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    to_user: str,
    comment: str = "",
) -> TaskDelegationRecord:
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "delegate", row, record, rel, delegation)
    _bpmn_row(session, row)
    _require_open(row)
    instances._require_active(record)
    _no_vote(session, row)
    if delegation is not None:
        raise Conflict("任务已委派 (already delegated)", {"delegate": delegation.delegate})
    if session.get(TaskSubmissionRecord, row.id) is not None:
        raise Conflict("任务已提交，等待加签 (already submitted)", {"task_id": row.id})
    target = _active_user(session, to_user)
    if target == actor.username:
        raise InvalidInput("不能委派给自己 (cannot delegate to yourself)")
    comment = _text(comment, "comment")
    now = ctx.clock.now()
    record_ = TaskDelegationRecord(
        instance_id=row.instance_id,
        task_id=row.id,
        owner=row.assignee or actor.username,
        delegate=target,
        status="active",
        comment=comment,
        resolution="",
        data={},
        created_at=now,
    )
    session.add(record_)
    row.assignee = target
    _audit(
        session,
        now,
        "task_delegated",
        actor,
        row,
        {"owner": record_.owner, "to": target, "comment": comment},
    )
    _announce_assigned(ctx, session, row, target, "delegated", actor.username)
    _touch(session, record, now)
    return record_


def _partial(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    row: HumanTaskRow,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The delegate's part of the form: only the fields they sent, each validated."""
    model = store.parsed_model(ctx, session, record.version_id)
    form = model.forms.get(row.form_file) if row.form_file else None
    if form is None:
        return dict(data)
    cleaned, errors = validate_submission(form, data, record.data or {})
    bad = {path: e for path, e in errors.items() if path.split(".")[0].split("[")[0] in data}
    if bad:
        raise FormInvalid(
            "表单校验未通过 (form validation failed)",
            {"fields": {k: instances._field(e) for k, e in bad.items()}},
        )
    return {k: v for k, v in cleaned.items() if k in data}


def resolve(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    data: dict[str, Any] | None = None,
    comment: str = "",
) -> TaskDelegationRecord:
    """The delegate has done their part: save it on the task and give the task back."""
    row, record, delegation, rel = _context(session, actor, task_id)
    if delegation is None:
        if rel in ("own", "group") or actor.is_admin:
            raise Conflict("任务未委派 (the task is not delegated)", {"task_id": row.id})
        raise _deny("resolve", row)
    _check(actor, "resolve", row, record, rel, delegation)
    _require_open(row)
    instances._require_active(record)
    data = dict(data or {})
    instances._check_data(data)
    comment = _text(comment, "comment")
    saved = _partial(ctx, session, record, row, data) if data else {}
    now = ctx.clock.now()
    delegation.status, delegation.resolved_at = "resolved", now
    delegation.resolution, delegation.data = comment, store._jsonable(saved)
    row.assignee = delegation.owner
    _audit(
        session,
        now,
        "task_delegate_resolved",
        actor,
        row,
        {"owner": delegation.owner, "data": saved, "comment": comment},
    )
    _announce_assigned(ctx, session, row, delegation.owner, "resolved", actor.username)
    if saved:
        session.flush()
        with acting_on(ctx, session, record, actor.username) as act:
            task = find_task(act.workflow, row.id)
            if task is None:
                raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": row.id})
            task.set_data(**saved)
    else:
        _touch(session, record, now)
    return delegation


def recall(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str
) -> TaskDelegationRecord:
    """The owner takes a delegated task back before the delegate resolved it."""
    row, record, delegation, rel = _context(session, actor, task_id)
    if delegation is None:
        raise Conflict("任务未委派 (the task is not delegated)", {"task_id": row.id})
    _check(actor, "recall", row, record, rel, delegation)
    _require_live(row)
    instances._require_active(record)
    now = ctx.clock.now()
    delegation.status, delegation.resolved_at = "recalled", now
    row.assignee = delegation.owner
    _audit(
        session,
        now,
        "task_delegation_recalled",
        actor,
        row,
        {"owner": delegation.owner, "delegate": delegation.delegate},
    )
    _touch(session, record, now)
    return delegation


# --- submit (complete, aware of signatures) --------------------------------------------------


def submit(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str, data: dict[str, Any]
) -> InstanceRecord:
    """Complete a task. Without signatures this is exactly `instances.complete`; with pending
    after-/parallel signers the data waits and the BPMN task completes when they have signed.
    On a signature/vote row it means "approve" (use `sign` to reject)."""
    instances._check_data(data)
    row, record, delegation, rel = _context(session, actor, task_id)
    entry = step_signer(session, row.id)
    if entry is not None:
        decision = data.get("decision", "approve")
        return sign(ctx, session, actor, task_id, decision, data.get("comment", ""))
    _check(actor, "submit", row, record, rel, delegation)
    _require_open(row)
    instances._require_active(record)
    entries = _entries(session, row.id)
    if not entries:
        return instances.complete(ctx, session, actor, task_id, data)
    rejected = [e.signer for e in entries if e.status == "rejected"]
    if rejected:
        raise Conflict(
            "加签人已拒绝，请重新加签或退回 (a signer rejected: ask them again or return)",
            {"rejected_by": rejected},
        )
    model = store.parsed_model(ctx, session, record.version_id)
    cleaned = instances._validated(model, row.form_file, data) if row.form_file else dict(data)
    now = ctx.clock.now()
    session.add(
        TaskSubmissionRecord(
            task_id=row.id,
            instance_id=row.instance_id,
            submitted_by=actor.username,
            data=store._jsonable(cleaned),
            submitted_at=now,
        )
    )
    if row.assignee is None:
        row.assignee, row.claimed_at = actor.username, now
    _audit(session, now, "task_submitted", actor, row, {"data": cleaned})
    _touch(session, record, now)
    _advance(ctx, session, record, row, actor, now)
    return record


def _open_entry(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    parent: HumanTaskRow,
    entry: TaskSignerRecord,
    actor: Actor,
    now: datetime,
) -> None:
    label = {"before": "前加签", "after": "后加签", "parallel": "会签加签"}.get(entry.mode, "加签")
    step = HumanTaskRow(
        id=str(uuid.uuid4()),
        instance_id=parent.instance_id,
        model_key=parent.model_key,
        element_id=parent.element_id,
        name=f"{parent.name}（{label}）"[:256],
        lane=parent.lane,
        form_file=None,
        assignee=entry.signer,
        status="open",
        due_at=parent.due_at,
        created_at=now,
    )
    session.add(step)
    session.flush()
    entry.step_task_id, entry.status = step.id, "open"
    # A signer who is away: their B角 / deputy signs instead (as at every save).
    absence.apply_for_instance(ctx, session, record, [step], now)
    if step.assignee != entry.signer:
        return  # the handover told the substitute
    _announce_assigned(ctx, session, step, entry.signer, "signer", entry.added_by)


def _advance(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    row: HumanTaskRow,
    actor: Actor,
    now: datetime,
) -> None:
    """Move a BPMN task with signatures to its next state (see the module docstring)."""
    session.flush()
    entries = _entries(session, row.id)
    before = [e for e in entries if e.mode == "before"]
    if any(e.status == "open" for e in before):
        row.status = ON_HOLD
        return
    nxt = next((e for e in before if e.status == "pending"), None)
    if nxt is not None:
        _open_entry(ctx, session, record, row, nxt, actor, now)
        row.status = ON_HOLD
        return
    submission = session.get(TaskSubmissionRecord, row.id)
    if submission is None or any(e.status == "rejected" for e in entries):
        row.status = "open"
        return
    if any(e.mode == "parallel" and e.status == "open" for e in entries):
        row.status = ON_HOLD
        return
    after = [e for e in entries if e.mode == "after"]
    if any(e.status == "open" for e in after):
        row.status = ON_HOLD
        return
    nxt = next((e for e in after if e.status == "pending"), None)
    if nxt is not None:
        _open_entry(ctx, session, record, row, nxt, actor, now)
        row.status = ON_HOLD
        return
    signers = [{"signer": e.signer, "mode": e.mode, "status": e.status} for e in entries]
    _complete_bpmn(
        ctx,
        session,
        record,
        row,
        dict(submission.data),
        submission.submitted_by,
        actor,
        {"signers": signers},
    )


def _complete_bpmn(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    row: HumanTaskRow,
    data: dict[str, Any],
    completed_by: str,
    actor: Actor,
    extra: dict[str, Any],
) -> None:
    """Complete the BPMN task now that planflow's rules are satisfied (completed_by is the
    handler whose data it is, not necessarily the person whose signature came last)."""
    session.flush()
    with acting_on(ctx, session, record, actor.username) as act:
        task = find_task(act.workflow, row.id)
        if task is None or task.state != TaskState.READY:
            raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": row.id})
        now = ctx.clock.now()
        act.result = complete_human_task(act.workflow, task, data, ctx.clock)
        if act.result.incident is None:
            moved = instances._follow_dates(ctx, session, record.id, act.workflow, data, actor, now)
            act.result = moved or act.result
        store.audit(
            session,
            now,
            "task_completed",
            instance_id=record.id,
            actor=completed_by,
            task_id=row.id,
            element_id=row.element_id,
            details={"name": row.name, "data": data, **extra},
        )
        act.completed[row.id] = completed_by


# --- 加签 / 减签 / 签署 --------------------------------------------------------------------------


def add_signers(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    users: Any,
    mode: str,
    comment: str = "",
) -> list[TaskSignerRecord]:
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "add_signer", row, record, rel, delegation)
    _bpmn_row(session, row)
    _no_vote(session, row)
    if mode not in SIGNER_MODES:
        raise InvalidInput(
            "mode 必须是 before / after / parallel (mode must be before, after or parallel)",
            {"mode": mode},
        )
    _require_open(row)
    instances._require_active(record)
    if delegation is not None:
        raise Conflict("任务已委派 (the task is delegated)", {"task_id": row.id})
    signers = _users(session, users)
    comment = _text(comment, "comment")
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
            _open_entry(ctx, session, record, row, entry, actor, now)
    _audit(
        session,
        now,
        "signer_added",
        actor,
        row,
        {"mode": mode, "users": signers, "comment": comment},
    )
    _touch(session, record, now)
    _advance(ctx, session, record, row, actor, now)
    return added


def remove_signer(
    ctx: EngineContext, session: Session, actor: Actor, signer_id: int, comment: str = ""
) -> TaskSignerRecord:
    entry = session.get(TaskSignerRecord, signer_id)
    if entry is None:
        raise NotFound(f"加签记录 {signer_id} 不存在 (signer not found)", {"id": signer_id})
    row, record, delegation, rel = _context(session, actor, entry.parent_task_id)
    _check(actor, "remove_signer", row, record, rel, delegation)
    if entry.mode == "vote":
        raise Conflict("会签人由流程模型决定，不能减签 (votes come from the model)")
    if entry.status not in ("pending", "open"):
        raise Conflict(
            "该加签人已处理，不能减签 (the signer has already acted)",
            {"id": entry.id, "status": entry.status},
        )
    _require_live(row)
    instances._require_active(record)
    comment = _text(comment, "comment")
    now = ctx.clock.now()
    entry.status, entry.acted_at, entry.acted_by = "removed", now, actor.username
    if entry.step_task_id:
        step = session.get(HumanTaskRow, entry.step_task_id)
        if step is not None and step.status in LIVE_STATUSES:
            step.status, step.completed_at = "cancelled", now
    _audit(
        session,
        now,
        "signer_removed",
        actor,
        row,
        {"signer": entry.signer, "mode": entry.mode, "comment": comment},
    )
    _touch(session, record, now)
    _advance(ctx, session, record, row, actor, now)
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
    row = _row(session, task_id)
    entry = step_signer(session, row.id)
    record = store.get_instance(session, row.instance_id)
    if entry is None:
        if row.assignee == actor.username or actor.is_admin:
            raise Conflict("这不是加签/会签步骤 (not a signature step: use submit)")
        raise _deny("sign", row)
    _check(actor, "sign", row, record, "own" if row.assignee == actor.username else "other")
    if row.status != "open" or entry.status != "open":
        raise Conflict(
            "该签署已处理或已取消 (already signed or cancelled)",
            {"task_id": row.id, "status": entry.status},
        )
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision 必须是 approve 或 reject", {"decision": decision})
    comment = _text(comment, "comment", required=decision == "reject")
    instances._require_active(record)
    now = ctx.clock.now()
    entry.status = "approved" if decision == "approve" else "rejected"
    entry.acted_at, entry.acted_by, entry.comment = now, actor.username, comment
    row.status, row.completed_by, row.completed_at = "completed", actor.username, now
    parent = _row(session, entry.parent_task_id)
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
    _touch(session, record, now)
    if entry.mode == "vote":
        _tally(ctx, session, record, parent, actor, now)
        return record
    if decision == "reject":
        submission = session.get(TaskSubmissionRecord, parent.id)
        if submission is not None:
            session.delete(submission)
        for e in _entries(session, parent.id):
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
    _advance(ctx, session, record, parent, actor, now)
    return record


def vote_rule(
    ctx: EngineContext, session: Session, record: InstanceRecord, parent: HumanTaskRow
) -> tuple[str, int, str]:
    model = store.parsed_model(ctx, session, record.version_id)
    step = model.steps.get(parent.element_id)
    props = step.properties if step else {}
    voters = (
        session.scalar(
            select(func.count(TaskSignerRecord.id)).where(
                TaskSignerRecord.parent_task_id == parent.id,
                TaskSignerRecord.mode == "vote",
            )
        )
        or 0
    )
    mode, needed = parse_sign_mode(props.get("signMode", ""), voters)
    variable = props.get("signResultVariable") or f"{parent.element_id}_decision"
    return mode, needed, variable


def _tally(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    parent: HumanTaskRow,
    actor: Actor,
    now: datetime,
) -> None:
    session.flush()
    votes = list(
        session.scalars(
            select(TaskSignerRecord)
            .where(TaskSignerRecord.parent_task_id == parent.id, TaskSignerRecord.mode == "vote")
            .order_by(TaskSignerRecord.seq)
        )
    )
    mode, needed, variable = vote_rule(ctx, session, record, parent)
    total = len(votes)
    approvals = sum(1 for v in votes if v.status == "approved")
    rejections = sum(1 for v in votes if v.status == "rejected")
    decision = None
    if mode == "any":
        if approvals or rejections:
            decision = "approve" if approvals else "reject"
    elif mode == "all":
        if rejections:
            decision = "reject"
        elif approvals == total:
            decision = "approve"
    else:  # quorum
        if approvals >= needed:
            decision = "approve"
        elif rejections > total - needed:
            decision = "reject"
    if decision is None:
        return
    for v in votes:
        if v.status in ("pending", "open"):
            v.status, v.acted_at = "cancelled", now
            step = session.get(HumanTaskRow, v.step_task_id) if v.step_task_id else None
            if step is not None and step.status == "open":
                step.status, step.completed_at = "cancelled", now
    ballots = [
        {
            "user": v.acted_by or v.signer,
            "decision": v.status,
            "comment": v.comment,
            "at": v.acted_at.isoformat() if v.acted_at else None,
        }
        for v in votes
        if v.status in ("approved", "rejected")
    ]
    store.audit(
        session,
        now,
        "vote_decided",
        instance_id=record.id,
        actor=actor.username,
        task_id=parent.id,
        element_id=parent.element_id,
        details={
            "mode": mode,
            "needed": needed,
            "approvals": approvals,
            "rejections": rejections,
            "voters": total,
            "decision": decision,
        },
    )
    data = {variable: decision, f"{parent.element_id}_votes": ballots}
    _complete_bpmn(ctx, session, record, parent, data, actor.username, actor, {"vote": mode})


# --- 退回 return --------------------------------------------------------------------------------


def _target_dict(session: Session, task: Any) -> dict[str, Any]:
    old = session.get(HumanTaskRow, str(task.id))
    return {
        "task_id": str(task.id),
        "element_id": rewind.element_id(task),
        "name": task.task_spec.bpmn_name or rewind.element_id(task),
        "completed_by": old.completed_by if old else None,
        "completed_at": old.completed_at.isoformat() if old and old.completed_at else None,
    }


def return_targets(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str
) -> list[dict[str, Any]]:
    """The earlier steps this task may be sent back to, newest first, each with the open tasks a
    return there would also cancel (`also_cancels`)."""
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "return", row, record, rel, delegation)
    _bpmn_row(session, row)
    _require_live(row)
    workflow, _model = store.restore(ctx, session, record, [])
    task = find_task(workflow, row.id)
    if task is None:
        raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": row.id})
    out = []
    for target in rewind.predecessors(task):
        item = _target_dict(session, target)
        plan = rewind.plan(workflow, target)
        item["also_cancels"] = [
            {
                "task_id": str(t.id),
                "element_id": rewind.element_id(t),
                "name": t.task_spec.bpmn_name,
            }
            for t in plan.user_tasks(TaskState.READY)
            if t.id != task.id
        ]
        out.append(item)
    return out


def return_to(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    target: str,
    reason: str,
) -> InstanceRecord:
    """Send the instance back to an earlier step on this task's path (by element id or by the
    old task id), with a reason. Branches not on the way back are kept."""
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "return", row, record, rel, delegation)
    _bpmn_row(session, row)
    _no_vote(session, row)
    _require_live(row)
    instances._require_active(record)
    reason = _text(reason, "reason", required=True)
    now = ctx.clock.now()
    with acting_on(ctx, session, record, actor.username) as act:
        task = find_task(act.workflow, row.id)
        if task is None or task.state != TaskState.READY:
            raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": row.id})
        choices = rewind.predecessors(task)
        chosen = next(
            (t for t in choices if str(t.id) == target or rewind.element_id(t) == target), None
        )
        if chosen is None:
            raise Conflict(
                "不能退回到该步骤 (not an earlier step on this path)",
                {"target": target, "valid": [rewind.element_id(t) for t in choices]},
            )
        before = _target_dict(session, chosen)
        plan = rewind.plan(act.workflow, chosen)
        cancelled = [
            {"task_id": str(t.id), "element_id": rewind.element_id(t)}
            for t in plan.user_tasks(TaskState.READY)
        ]
        redone = [
            {"task_id": str(t.id), "element_id": rewind.element_id(t)}
            for t in plan.user_tasks(TaskState.COMPLETED)
        ]
        new_id = rewind.rewind(act.workflow, plan)
        previous = before["completed_by"]
        if previous:
            session.info.setdefault(ASSIGN_OVERRIDES, {})[new_id] = previous
        _audit(
            session,
            now,
            "task_returned",
            actor,
            row,
            {
                "reason": reason,
                "to_element": before["element_id"],
                "to_name": before["name"],
                "to_old_task_id": before["task_id"],
                "to_task_id": new_id,
                "assigned_to": previous,
                "cancelled": cancelled,
                "redone": redone,
            },
        )
        act.result = run_steps(act.workflow, ctx.clock)
    new_row = session.get(HumanTaskRow, new_id)
    publish(
        ctx,
        session,
        "returned",
        {
            "task_id": new_id,
            "instance_id": record.id,
            "name": before["name"],
            "users": [previous] if previous else [],
            "assignee": new_row.assignee if new_row else None,
            "groups": [c.group_name for c in new_row.candidate_groups] if new_row else [],
            "reason": reason,
            "by": actor.username,
        },
    )
    return record


def _rows(session: Session, ids: list[str]) -> list[HumanTaskRow]:
    if not ids:
        return []
    return list(session.scalars(select(HumanTaskRow).where(HumanTaskRow.id.in_(ids))))


def _with_entries(session: Session, ids: list[str]) -> list[str]:
    """Those of these tasks somebody already took up by signing, adding signers or delegating."""
    if not ids:
        return []
    signed = session.scalars(
        select(TaskSignerRecord.parent_task_id).where(
            TaskSignerRecord.parent_task_id.in_(ids),
            or_(
                TaskSignerRecord.mode != "vote",
                TaskSignerRecord.status.in_(("approved", "rejected")),
            ),
        )
    )
    delegated = session.scalars(
        select(TaskDelegationRecord.task_id).where(TaskDelegationRecord.task_id.in_(ids))
    )
    return [*signed, *delegated]


# --- 撤回 withdraw --------------------------------------------------------------------------------


def withdraw(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str, reason: str = ""
) -> InstanceRecord:
    """Take back a step one completed, while nothing after it has been acted on (no later step
    completed, claimed, delegated or signed). The step opens again for its completer."""
    row = _row(session, task_id)
    record = store.get_instance(session, row.instance_id)
    if not (row.completed_by == actor.username or actor.is_admin):
        raise Forbidden(
            "只能撤回自己完成的步骤 (only the person who completed the step may withdraw it)",
            {"task_id": row.id},
        )
    _bpmn_row(session, row)
    if row.status != "completed":
        raise Conflict(
            "只能撤回已完成的步骤 (only a completed step can be withdrawn)", {"status": row.status}
        )
    instances._require_active(record)
    reason = _text(reason, "reason")
    now = ctx.clock.now()
    with acting_on(ctx, session, record, actor.username) as act:
        task = find_task(act.workflow, row.id)
        if task is None or task.state != TaskState.COMPLETED:
            raise Conflict(
                "该步骤已无法撤回 (the step can no longer be withdrawn)", {"task_id": row.id}
            )
        plan = rewind.plan(act.workflow, task)
        done_later = plan.user_tasks(TaskState.COMPLETED)
        if done_later:
            raise Conflict(
                "后续步骤已处理，无法撤回 (a later step has already been acted on)",
                {"steps": [rewind.element_id(t) for t in done_later]},
            )
        live_ids = [str(t.id) for t in plan.user_tasks(TaskState.READY)]
        live_rows = _rows(session, live_ids)
        touched = [r.id for r in live_rows if r.claimed_at is not None]
        touched += _with_entries(session, live_ids)
        if touched:
            raise Conflict(
                "后续步骤已被认领或处理，无法撤回 (the next step has already been taken up)",
                {"tasks": sorted(set(touched))},
            )
        recipients: list[str] = []
        for r in live_rows:
            recipients += _candidates(session, r)
        new_id = rewind.rewind(act.workflow, plan)
        owner = row.completed_by or actor.username
        session.info.setdefault(ASSIGN_OVERRIDES, {})[new_id] = owner
        _audit(
            session,
            now,
            "task_withdrawn",
            actor,
            row,
            {
                "reason": reason,
                "new_task_id": new_id,
                "assigned_to": owner,
                "cancelled": [{"task_id": r.id, "element_id": r.element_id} for r in live_rows],
            },
        )
        act.result = run_steps(act.workflow, ctx.clock)
    publish(
        ctx,
        session,
        "withdrawn",
        {
            "task_id": new_id,
            "instance_id": record.id,
            "names": sorted({r.name for r in live_rows}),
            "users": recipients,
            "by": actor.username,
        },
    )
    return record


def withdraw_instance(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int, reason: str = ""
) -> InstanceRecord:
    """The initiator takes the whole submission back (撤销) while nobody has acted on it yet."""
    record = store.get_instance(session, instance_id)
    if not (actor.username == record.started_by or actor.is_admin):
        raise Forbidden("只有发起人可以撤回流程 (only the initiator may withdraw the instance)")
    if record.status in ("completed", "terminated"):
        raise Conflict("流程已结束 (instance already ended)", {"status": record.status})
    rows = list(session.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == record.id)))
    acted = [
        r.id
        for r in rows
        if r.status == "completed" or (r.status in LIVE_STATUSES and r.claimed_at is not None)
    ]
    ids = [r.id for r in rows]
    if ids:
        acted += list(
            session.scalars(
                select(TaskSignerRecord.parent_task_id).where(
                    TaskSignerRecord.parent_task_id.in_(ids), TaskSignerRecord.mode != "vote"
                )
            )
        )
        acted += list(
            session.scalars(
                select(TaskDelegationRecord.task_id).where(TaskDelegationRecord.task_id.in_(ids))
            )
        )
        acted += [
            r.parent_task_id
            for r in session.scalars(
                select(TaskSignerRecord).where(
                    TaskSignerRecord.parent_task_id.in_(ids),
                    TaskSignerRecord.status.in_(("approved", "rejected")),
                )
            )
        ]
    if acted:
        raise Conflict(
            "流程已有人处理，无法撤回 (someone has already acted on the instance)",
            {"tasks": sorted(set(acted))},
        )
    reason = _text(reason, "reason") or "发起人撤回 (withdrawn by the initiator)"
    live = [r for r in rows if r.status in LIVE_STATUSES]
    recipients: list[str] = []
    for r in live:
        recipients += _candidates(session, r)
    now = ctx.clock.now()
    store.audit(
        session,
        now,
        "instance_withdrawn",
        instance_id=record.id,
        actor=actor.username,
        details={"reason": reason},
    )
    instances.terminate(ctx, session, actor, instance_id, reason)
    publish(
        ctx,
        session,
        "withdrawn",
        {
            "instance_id": record.id,
            "names": sorted({r.name for r in live}),
            "users": recipients,
            "by": actor.username,
        },
    )
    return record


# --- 催办 remind ----------------------------------------------------------------------------------


def remind_interval(ctx: EngineContext) -> timedelta:
    return timedelta(seconds=ops_settings.get_int(ctx.settings, "remind_interval_seconds"))


def last_reminded(session: Session, row: HumanTaskRow) -> datetime | None:
    manual = session.scalar(
        select(func.max(AuditRecord.at)).where(
            AuditRecord.instance_id == row.instance_id,
            AuditRecord.task_id == row.id,
            AuditRecord.action == "reminder",
        )
    )
    times = [t for t in (row.reminded_at, manual) if t is not None]
    return max(times) if times else None


def remind(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str, message: str = ""
) -> list[str]:
    """Nudge whoever has to act now; at most once per `remind_interval_seconds` (default 1 h)
    per task, automatic overdue reminders included. Returns who was reminded."""
    row, record, delegation, rel = _context(session, actor, task_id)
    _check(actor, "remind", row, record, rel, delegation)
    _require_live(row)
    instances._require_active(record)
    message = _text(message, "message")
    now = ctx.clock.now()
    last = last_reminded(session, row)
    interval = remind_interval(ctx)
    if last is not None and now - last < interval:
        raise Conflict(
            "催办过于频繁，请稍后再试 (reminded recently: try again later)",
            {
                "last_reminded_at": last.isoformat(),
                "next_allowed_at": (last + interval).isoformat(),
            },
        )
    recipients = [u for u in dict.fromkeys(_candidates(session, row)) if u != actor.username]
    if not recipients:
        raise Conflict("当前没有可催办的处理人 (nobody to remind)", {"task_id": row.id})
    if row.due_at is not None and row.due_at <= now:
        # Overdue already: the automatic reminder need not fire after this one.
        row.reminded_at = now
    _audit(
        session,
        now,
        "reminder",
        actor,
        row,
        {"manual": True, "users": recipients, "message": message},
    )
    publish(
        ctx,
        session,
        "reminder",
        {
            "task_id": row.id,
            "instance_id": row.instance_id,
            "name": row.name,
            "users": recipients,
            "by": actor.username,
            "message": message,
        },
    )
    _touch(session, record, now)
    return recipients


# --- 终止 terminate -------------------------------------------------------------------------------


def terminate(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int, reason: str
) -> InstanceRecord:
    """`instances.terminate`, with a reason required."""
    record = store.get_instance(session, instance_id)
    if not (actor.is_admin or actor.username == record.started_by):
        raise Forbidden(
            "只有发起人或管理员可以终止流程 (only the initiator or an admin may terminate)"
        )
    reason = _text(reason, "reason", required=True)
    return instances.terminate(ctx, session, actor, instance_id, reason)


# --- read side: what a task offers, the operations history --------------------------------------


def _signer_dict(e: TaskSignerRecord) -> dict[str, Any]:
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
    ctx: EngineContext, session: Session, actor: Actor, row: HumanTaskRow
) -> dict[str, bool]:
    """Which operations the actor may try on this row right now (authorisation and the simple
    state rules; the operation itself still has the last word)."""
    record = store.get_instance(session, row.instance_id)
    delegation = active_delegation(session, row.id)
    rel = relation(actor, row, delegation)
    initiator = record.started_by == actor.username
    entry = step_signer(session, row.id)
    vote = entry is None and _is_vote(session, row.id)
    active = record.status not in ("completed", "terminated") and not record.suspended
    live = row.status in LIVE_STATUSES and active
    is_open = live and row.status == "open"

    def ok(op: str) -> bool:
        return allowed(
            actor,
            op,
            rel,
            initiator=initiator,
            delegation_owner=delegation is not None and delegation.owner == actor.username,
        )

    out = {op: False for op in TASK_OPS}
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
    ctx: EngineContext, session: Session, actor: Actor, task_id: str
) -> dict[str, Any]:
    """Everything the task page needs for the operation buttons and the signature panel."""
    row = _row(session, task_id)
    record = store.get_instance(session, row.instance_id)
    if not may_view_instance(session, actor, record):
        raise Forbidden("无权查看该任务 (not your task)", {"task_id": task_id})
    entry = step_signer(session, row.id)
    parent_id = entry.parent_task_id if entry is not None else row.id
    signers = list(
        session.scalars(
            select(TaskSignerRecord)
            .where(TaskSignerRecord.parent_task_id == parent_id)
            .order_by(TaskSignerRecord.seq, TaskSignerRecord.id)
        )
    )
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
        parent = _row(session, parent_id)
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
        "relation": relation(actor, row, active_delegation(session, row.id)),
        "operations": available_operations(ctx, session, actor, row),
        "signers": [_signer_dict(s) for s in signers],
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


def instance_operations(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int
) -> dict[str, Any]:
    """The instance's handling history (who did what, returns, withdrawals, signatures,
    delegations, handovers, copies), for everyone who took part — A and B both included."""
    record = store.get_instance(session, instance_id)
    if not may_view_instance(session, actor, record):
        raise Forbidden("无权查看该流程实例 (not your instance)", {"id": instance_id})
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
        "signers": [
            _signer_dict(s)
            for s in session.scalars(
                select(TaskSignerRecord)
                .where(TaskSignerRecord.instance_id == instance_id)
                .order_by(TaskSignerRecord.id)
            )
        ],
        "delegations": [
            _delegation_dict(d)
            for d in session.scalars(
                select(TaskDelegationRecord)
                .where(TaskDelegationRecord.instance_id == instance_id)
                .order_by(TaskDelegationRecord.id)
            )
        ],
        "handovers": [
            {
                "id": h.id,
                "task_id": h.task_id,
                "from": h.from_user,
                "to": h.to_user,
                "reason": h.reason,
                "created_at": h.created_at.isoformat(),
                "returned_at": h.returned_at.isoformat() if h.returned_at else None,
            }
            for h in session.scalars(
                select(TaskHandoverRecord)
                .where(TaskHandoverRecord.instance_id == instance_id)
                .order_by(TaskHandoverRecord.id)
            )
        ],
        "cc": [
            {
                "id": c.id,
                "username": c.username,
                "task_id": c.task_id,
                "cc_by": c.cc_by,
                "note": c.note,
                "created_at": c.created_at.isoformat(),
                "read_at": c.read_at.isoformat() if c.read_at else None,
            }
            for c in session.scalars(
                select(InstanceCcRecord)
                .where(InstanceCcRecord.instance_id == instance_id)
                .order_by(InstanceCcRecord.id)
            )
        ],
    }
