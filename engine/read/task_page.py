"""Read side of the task page and of the API's task: a task's context (instance, key data,
history with the values each step entered, instructions, form, the document under review, what
a signer signs, why it was reopened, what the actor may do).

Like `engine.read.inbox` it reads the projection, the audit log and the cached parsed model; no
workflow is restored except for an open task's own data (`_task_data`; the task page plans its
退回 targets on that restore, `engine.operations.task_page`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import TaskAccess, task_access
from engine.bpmn.runtime import find_task
from engine.bpmn.specs import ParsedModel
from engine.people.accounts import Actor
from engine.read.form_view import form_values
from engine.read.inbox import ENDED, task_item
from engine.read.names import process_names, user_names
from engine.read.queries import task_dict
from engine.read.step_history import HISTORY_SHOWN, step_history
from engine.store import instance_state as store
from engine.store.records_ops import TaskSignerRecord, TaskSubmissionRecord
from engine.store.tables import (
    AuditRecord,
    DocumentRecord,
    HumanTaskRow,
    InstanceRecord,
)

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.context import EngineContext
    from engine.forms import FormSchema

# The audit entries that reopen a step as a new task (退回 to it, 撤回 of it), each with the
# detail that names the new task.
REOPENED_BY = {"task_returned": "to_task_id", "task_withdrawn": "new_task_id"}


def reopened(session: Session, instance_id: int, task_id: str) -> dict[str, Any] | None:
    """Why this task exists, if a 退回 or 撤回 reopened its step: ``kind`` (returned |
    withdrawn), who did it (``by``, ``by_name``), when (``at``) and the ``reason`` (None if
    none was given). None for a task the process reached by itself."""
    entries = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.instance_id == instance_id, AuditRecord.action.in_(REOPENED_BY))
        .order_by(AuditRecord.id.desc())
    )
    for entry in entries:
        details = entry.details or {}
        if details.get(REOPENED_BY[entry.action]) != task_id:
            continue
        by = entry.actor or ""
        return {
            "kind": "returned" if entry.action == "task_returned" else "withdrawn",
            "by": by,
            "by_name": user_names(session, [by]).get(by, by),
            "at": entry.at,
            "reason": details.get("reason") or None,
        }
    return None


@dataclass(frozen=True)
class OpenedTask:
    """A task as every channel reads it: the row, its instance and model, its form and step,
    the data it works on and, for an open task, its instance as restored (for reading only: the
    task page plans its 退回 targets on it). Built once per request by `opened_task`."""

    access: TaskAccess
    model: ParsedModel
    form: FormSchema | None
    instructions: str | None
    data: dict[str, Any]
    workflow: BpmnWorkflow | None = None

    @property
    def row(self) -> HumanTaskRow:
        return self.access.row

    @property
    def record(self) -> InstanceRecord:
        return self.access.record


def opened_task(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str,
    *, task: TaskAccess | None = None,
) -> OpenedTask:
    """The task if the actor may see it (`engine.access`: NotFound otherwise; ``task``: the
    access this request already decided)."""
    access = task or task_access(session, actor, task_id)
    model = store.parsed_model(ctx, session, access.record.version_id)
    row = access.row
    form = model.forms.get(row.form_file) if row.form_file else None
    step = model.steps.get(row.element_id)
    workflow, data = _task_data(ctx, session, row, access.record)
    return OpenedTask(
        access, model, form, step.instructions if step else None, data, workflow
    )


def _task_data(
    ctx: EngineContext, session: Session, row: HumanTaskRow, record: InstanceRecord
) -> tuple[BpmnWorkflow | None, dict[str, Any]]:
    """The data a task works on, with the workflow it came from. An open task's own data (a
    multi-instance task's `guest`, a branch's values) comes from the workflow; for a finished
    task the instance's data."""
    if row.status == "open":
        try:
            workflow, _ = store.restore(ctx, session, record, [])
        except (ValueError, KeyError):
            # Unreadable state (e.g. bulk-loaded rows): show what the projection knows.
            return None, dict(record.data or {})
        task = find_task(workflow, row.id)
        if task is not None:
            return workflow, store.jsonable(task.data)
        return workflow, dict(record.data or {})
    return None, dict(record.data or {})


def task_detail(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> dict[str, Any]:
    """The task as the API answers it: its row, form, instructions, data and why it was
    reopened (退回/撤回), if it was."""
    task = opened_task(ctx, session, actor, task_id)
    again = reopened(session, task.record.id, task.row.id)
    if again is not None:
        again = {**again, "at": again["at"].isoformat()}
    return {
        **task_dict(task.row, ctx.clock.now(), task.record.title),
        "form": task.form.raw if task.form else None,
        "instructions": task.instructions,
        "data": task.data,
        "reopened": again,
    }


def review_document(
    session: Session, model: ParsedModel, instance_id: int, element_id: str
) -> dict[str, Any] | None:
    """What a review or approval step is about: the latest document of the type its
    `reviewDocument` property names (《项目立项书》 for 经理确认立项 …), or None."""
    step = model.steps.get(element_id)
    doc_type = (step.properties.get("reviewDocument") if step else None) or ""
    if not doc_type.strip():
        return None
    found = session.scalars(
        select(DocumentRecord)
        .where(DocumentRecord.instance_id == instance_id, DocumentRecord.doc_type == doc_type)
        .order_by(DocumentRecord.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    return {
        "id": found.id,
        "doc_type": found.doc_type,
        "title": found.title,
        "content_md": found.content_md,
        "created_at": found.created_at,
    }


def signing(
    session: Session, model: ParsedModel, row: HumanTaskRow, data: dict[str, Any]
) -> dict[str, Any] | None:
    """For a 加签 signature or a 会签 vote step: what it is about — the step it belongs to, who
    asked and their note, and that step's form with the data to sign (what its handler
    submitted, else the task's data). None for any other task."""
    entry = session.scalars(
        select(TaskSignerRecord).where(TaskSignerRecord.step_task_id == row.id)
    ).first()
    if entry is None:
        return None
    parent = session.get(HumanTaskRow, entry.parent_task_id)
    if parent is None:
        return None
    submission = session.get(TaskSubmissionRecord, parent.id)
    note = None
    if entry.mode != "vote":
        asked = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.task_id == parent.id, AuditRecord.action == "signer_added")
            .order_by(AuditRecord.id.desc())
        )
        note = next(
            (
                (a.details or {}).get("comment") or None
                for a in asked
                if entry.signer in ((a.details or {}).get("users") or [])
            ),
            None,
        )
    form = model.forms.get(parent.form_file) if parent.form_file else None
    return {
        "kind": "vote" if entry.mode == "vote" else "signature",
        "step": parent.name,
        "requested_by": entry.added_by,
        "note": note,
        "form": form.raw if form else None,
        "form_data": dict(submission.data) if submission is not None else data,
    }


def task_view(
    ctx: EngineContext, session: Session, actor: Actor, task_id: str, all_steps: bool = False,
    *, opened: OpenedTask | None = None,
) -> dict[str, Any]:
    """Everything the task page shows, to everyone who may see the task (`engine.access`:
    NotFound otherwise); the ``can_*`` flags say what they may do on it. The history holds the
    latest `HISTORY_SHOWN` steps (``history_earlier``: how many it leaves out), or
    (``all_steps``) all of them. ``opened``: the task as this request already opened it."""
    task = opened or opened_task(ctx, session, actor, task_id)
    row, record, model = task.row, task.record, task.model
    names = process_names(session)
    # the people the page names, read with its history's: who started it, who holds the task,
    # the values of its key data
    history, earlier, submitted, people = step_history(
        session, model, record.id, row.id, ctx.settings.zone,
        latest=None if all_steps else HISTORY_SHOWN,
        also=(record.started_by, row.assignee, row.completed_by, task.data),
    )
    for entry in history:
        entry["actor_name"] = people.get(entry["actor"] or "", entry["actor"])
    signed = signing(session, model, row, task.data) if row.form_file is None else None
    if signed is not None:
        signed["requested_by_name"] = user_names(session, [signed["requested_by"]]).get(
            signed["requested_by"], signed["requested_by"]
        )
    start_form = model.forms.get(model.start_form) if model.start_form else None
    is_open = row.status == "open"
    active = is_open and not record.suspended and record.status not in ENDED
    can_act = is_open and task.access.may("submit")
    return {
        "task": task_item(row, record.title, names, ctx.clock.now(), ctx.settings.zone),
        "instance": {
            "id": record.id,
            "title": record.title,
            "process": record.model_key,
            "process_name": names.get(record.model_key, model.name),
            "version": record.version_number,
            "status": record.status,
            "suspended": record.suspended,
            "stage": record.stage,
            "started_by": record.started_by,
            "started_by_name": people.get(record.started_by, record.started_by),
            "created_at": record.created_at,
        },
        "assignee_name": people.get(row.assignee or "", row.assignee),
        "completed_by_name": people.get(row.completed_by or "", row.completed_by),
        "instructions": task.instructions,
        # A signer reads the form of the step they sign, as its handler submitted it.
        "form": signed["form"] if signed else task.form.raw if task.form else None,
        # What the form opens with: the task's own data; for a finished task, what was
        # submitted.
        "form_data": signed["form_data"] if signed else {**task.data, **(submitted or {})},
        "signing": signed,
        "reopened": reopened(session, record.id, row.id),
        "review_document": review_document(session, model, record.id, row.element_id),
        "key_data": form_values(start_form, task.data, people, ctx.settings.zone),
        "history": history,
        "history_earlier": earlier,
        "history_shown": HISTORY_SHOWN,
        "can_act": can_act,
        "can_submit": can_act and active,
        "can_claim": is_open and row.assignee is None and task.access.may("claim"),
        "can_unclaim": is_open and row.claimed_at is not None and task.access.may("unclaim"),
        "mine": row.assignee == actor.username,
    }


def form_for_task(ctx: EngineContext, session: Session, task_id: str) -> FormSchema | None:
    row = session.get(HumanTaskRow, task_id)
    if row is None or not row.form_file:
        return None
    record = store.get_instance(session, row.instance_id)
    return store.parsed_model(ctx, session, record.version_id).forms.get(row.form_file)
