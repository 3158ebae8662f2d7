"""委派 delegate, resolve and recall: a `task_delegations` row (owner, delegate) and the task's
assignee becomes the delegate; the delegate may save form data (validated field by field and
kept in the task's data) and resolves, which gives the task back to the owner; the owner may
recall it first. Only the owner completes the task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.access import require_task
from engine.bpmn.runtime import find_task
from engine.errors import Conflict, FormInvalid, InvalidInput
from engine.forms import has_person_fields, validate_submission
from engine.operations.shared import (
    active_user,
    announce_assigned,
    audit_task,
    clean_text,
    require_bpmn_row,
    require_live,
    require_no_vote,
    require_open,
    touch_instance,
)
from engine.people.directory import roster
from engine.store import instance_state as store
from engine.store.records_ops import TaskDelegationRecord, TaskSubmissionRecord
from engine.usecases import instances, submitted
from engine.usecases.acting import acting_on

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor
    from engine.store.tables import HumanTaskRow, InstanceRecord


def delegate(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    task_id: str,
    to_user: str,
    comment: str = "",
) -> TaskDelegationRecord:
    task = require_task(session, actor, "delegate", task_id)
    row, record, delegation = task.row, task.record, task.delegation
    require_bpmn_row(session, row)
    require_open(row)
    instances.require_active(record)
    require_no_vote(session, row)
    if delegation is not None:
        raise Conflict("任务已委派 (already delegated)", {"delegate": delegation.delegate})
    if session.get(TaskSubmissionRecord, row.id) is not None:
        raise Conflict("任务已提交，等待加签 (already submitted)", {"task_id": row.id})
    target = active_user(session, to_user, "to")
    if target == actor.username:
        raise InvalidInput("不能委派给自己 (cannot delegate to yourself)")
    comment = clean_text(comment, "comment")
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
    audit_task(
        session,
        now,
        "task_delegated",
        actor,
        row,
        {"owner": record_.owner, "to": target, "comment": comment},
    )
    announce_assigned(ctx, session, row, target, "delegated", actor.username)
    touch_instance(session, record, now)
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
    people = roster(session) if has_person_fields(form.raw) else None
    cleaned, errors = validate_submission(form, data, record.data or {}, people=people)
    bad = {path: e for path, e in errors.items() if path.split(".")[0].split("[")[0] in data}
    if bad:
        raise FormInvalid(
            "表单校验未通过 (form validation failed)",
            {"fields": {k: submitted.field_problem(e) for k, e in bad.items()}},
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
    task = require_task(session, actor, "resolve", task_id)
    row, record, delegation = task.row, task.record, task.delegation
    if delegation is None:
        raise Conflict("任务未委派 (the task is not delegated)", {"task_id": row.id})
    require_open(row)
    instances.require_active(record)
    data = dict(data or {})
    submitted.check_data(data)
    comment = clean_text(comment, "comment")
    saved = _partial(ctx, session, record, row, data) if data else {}
    now = ctx.clock.now()
    delegation.status, delegation.resolved_at = "resolved", now
    delegation.resolution, delegation.data = comment, store.jsonable(saved)
    row.assignee = delegation.owner
    audit_task(
        session,
        now,
        "task_delegate_resolved",
        actor,
        row,
        {"owner": delegation.owner, "data": saved, "comment": comment},
    )
    announce_assigned(ctx, session, row, delegation.owner, "resolved", actor.username)
    if saved:
        session.flush()
        with acting_on(ctx, session, record, actor.username) as act:
            task = find_task(act.workflow, row.id)
            if task is None:
                raise Conflict("任务已不可处理 (task is no longer open)", {"task_id": row.id})
            task.set_data(**saved)
    else:
        touch_instance(session, record, now)
    return delegation


def recall(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str
) -> TaskDelegationRecord:
    """The owner takes a delegated task back before the delegate resolved it."""
    task = require_task(session, actor, "recall", task_id)
    row, record, delegation = task.row, task.record, task.delegation
    if delegation is None:
        raise Conflict("任务未委派 (the task is not delegated)", {"task_id": row.id})
    require_live(row)
    instances.require_active(record)
    now = ctx.clock.now()
    delegation.status, delegation.resolved_at = "recalled", now
    row.assignee = delegation.owner
    audit_task(
        session,
        now,
        "task_delegation_recalled",
        actor,
        row,
        {"owner": delegation.owner, "delegate": delegation.delegate},
    )
    touch_instance(session, record, now)
    return delegation

