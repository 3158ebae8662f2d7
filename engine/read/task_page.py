"""Read side of the task page and the start catalogue: a task's context (instance, key data,
history with the values each step entered, instructions, form, what the actor may do), the
startable models and their start forms, and per-field form errors in the page's terms.

Like `engine.read.inbox` it reads the projection, the audit log and the cached parsed model; no
workflow is restored except for an open task's own data (`task_data`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import TaskAccess, task_access
from engine.bpmn.runtime import find_task
from engine.bpmn.specs import ParsedModel, all_task_specs
from engine.errors import NotFound
from engine.people.accounts import Actor
from engine.read.inbox import ENDED, local_zone, task_item
from engine.read.names import process_names, user_names
from engine.read.queries import task_dict
from engine.store import instance_state as store
from engine.store.tables import (
    AuditRecord,
    DocumentRecord,
    HumanTaskRow,
    InstanceRecord,
    ProcessModelRecord,
    ProcessVersionRecord,
)

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.forms import FormSchema

# The audit entries the task page's history shows.
HISTORY_ACTIONS = ("started", "task_completed")
# The audit entries that reopen a step as a new task (退回 to it, 撤回 of it), each with the
# detail that names the new task.
REOPENED_BY = {"task_returned": "to_task_id", "task_withdrawn": "new_task_id"}


def _path_value(data: Any, path: str) -> Any:
    value = data
    for seg in path.split("."):
        if not isinstance(value, Mapping) or seg not in value:
            return None
        value = value[seg]
    return value


def _option_labels(component: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for option in component.get("values") or []:
        if isinstance(option, Mapping) and "value" in option:
            out[json.dumps(option["value"], ensure_ascii=False)] = str(
                option.get("label", option["value"])
            )
    return out


def display_value(component: Mapping[str, Any], value: Any) -> str | bool | None:
    """A submitted value as a person reads it: option labels instead of option values, lists
    joined; booleans stay booleans (the page words them). None for "nothing entered"."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return value
    labels = _option_labels(component)

    def one(v: Any) -> str:
        key = json.dumps(v, ensure_ascii=False)
        if key in labels:
            return labels[key]
        if isinstance(v, str | int | float):
            return str(v)
        return json.dumps(v, ensure_ascii=False)[:300]

    if isinstance(value, list):
        return "、".join(one(v) for v in value)
    return one(value)


def form_values(form: FormSchema | None, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The filled-in fields of ``form`` in form order: [{key, label, value}] (value as
    :func:`display_value`). Fields repeated in dynamic lists are left out."""
    if form is None or not isinstance(data, Mapping):
        return []
    out = []
    for field in form.fields:
        if "[]" in field.path:
            continue
        value = display_value(field.component, _path_value(data, field.path))
        if value is None:
            continue
        out.append({"key": field.path, "label": field.label or field.key, "value": value})
    return out


def _start_instructions(model: ParsedModel) -> str | None:
    top_level = {id(t) for t in model.spec.task_specs.values()}
    for spec in all_task_specs(model):
        if id(spec) not in top_level or getattr(spec, "bpmn_id", None) is None:
            continue
        if isinstance(spec, StartEvent):
            ext = getattr(spec, "extensions", {}) or {}
            text = ext.get("instructionsForEndUser")
            if text:
                return str(text)
    return None


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
    and the data it works on. Built once per request by `opened_task`."""

    access: TaskAccess
    model: ParsedModel
    form: FormSchema | None
    instructions: str | None
    data: dict[str, Any]

    @property
    def row(self) -> HumanTaskRow:
        return self.access.row

    @property
    def record(self) -> InstanceRecord:
        return self.access.record


def opened_task(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> OpenedTask:
    """The task if the actor may see it (`engine.access`: NotFound otherwise)."""
    access = task_access(session, actor, task_id)
    model = store.parsed_model(ctx, session, access.record.version_id)
    row = access.row
    form = model.forms.get(row.form_file) if row.form_file else None
    step = model.steps.get(row.element_id)
    return OpenedTask(
        access, model, form, step.instructions if step else None, task_data(ctx, session, row)
    )


def task_data(ctx: EngineContext, session: Session, row: HumanTaskRow) -> dict[str, Any]:
    """The data a task works on. An open task's own data (a multi-instance task's `guest`, a
    branch's values) comes from the workflow; for a finished task the instance's data."""
    record = store.get_instance(session, row.instance_id)
    if row.status == "open":
        try:
            workflow, _ = store.restore(ctx, session, record, [])
        except (ValueError, KeyError):
            # Unreadable state (e.g. bulk-loaded rows): show what the projection knows.
            return dict(record.data or {})
        task = find_task(workflow, row.id)
        if task is not None:
            return store.jsonable(task.data)
    return dict(record.data or {})


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


def _history(
    session: Session, model: ParsedModel, instance_id: int, task_id: str
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[str | None]]:
    """The instance's start and completed steps with the values each entered, what this task
    submitted (None if it has not) and everyone named in them."""
    audits = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.instance_id == instance_id, AuditRecord.action.in_(HISTORY_ACTIONS))
        .order_by(AuditRecord.id)
    ).all()
    history = []
    submitted: dict[str, Any] | None = None
    for entry in audits:
        details = entry.details or {}
        data = details.get("data") if isinstance(details.get("data"), Mapping) else {}
        if entry.action == "started":
            fields: list[dict[str, Any]] = []
            name = None
        else:
            entry_step = model.steps.get(entry.element_id or "")
            fields = form_values(model.form_for(entry.element_id or ""), data)
            name = details.get("name") or (entry_step.name if entry_step else entry.element_id)
            if entry.task_id == task_id:
                submitted = dict(data)
        history.append(
            {
                "action": entry.action,
                "at": entry.at,
                "actor": entry.actor,
                "step": name,
                "fields": fields,
                "current": entry.task_id == task_id,
            }
        )
    return history, submitted, [a.actor for a in audits]


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


def task_view(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> dict[str, Any]:
    """Everything the task page shows, to everyone who may see the task (`engine.access`:
    NotFound otherwise); the ``can_*`` flags say what they may do on it."""
    task = opened_task(ctx, session, actor, task_id)
    row, record, model = task.row, task.record, task.model
    names = process_names(session)
    history, submitted, named = _history(session, model, record.id, row.id)
    people = user_names(session, [record.started_by, row.assignee, row.completed_by, *named])
    for entry in history:
        entry["actor_name"] = people.get(entry["actor"] or "", entry["actor"])
    start_form = model.forms.get(model.start_form) if model.start_form else None
    is_open = row.status == "open"
    active = is_open and not record.suspended and record.status not in ENDED
    can_act = is_open and task.access.may("submit")
    return {
        "task": task_item(row, record.title, names, ctx.clock.now(), local_zone(ctx)),
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
        "form": task.form.raw if task.form else None,
        # What the form opens with: the task's own data; for a finished task, what was
        # submitted.
        "form_data": {**task.data, **(submitted or {})},
        "reopened": reopened(session, record.id, row.id),
        "review_document": review_document(session, model, record.id, row.element_id),
        "key_data": form_values(start_form, task.data),
        "history": history,
        "can_act": can_act,
        "can_submit": can_act and active,
        "can_claim": is_open and row.assignee is None and task.access.may("claim"),
        "can_unclaim": is_open and row.claimed_at is not None and task.access.may("unclaim"),
        "mine": row.assignee == actor.username,
    }


# --- starting ---------------------------------------------------------------------------------


def startable(ctx: EngineContext, session: Session) -> list[dict[str, Any]]:
    """发起流程: every deployed model (any active user may start any model), by name."""
    rows = session.execute(
        select(ProcessModelRecord, ProcessVersionRecord.id)
        .join(
            ProcessVersionRecord,
            (ProcessVersionRecord.model_key == ProcessModelRecord.key)
            & (ProcessVersionRecord.version == ProcessModelRecord.latest_version),
        )
        .order_by(ProcessModelRecord.name, ProcessModelRecord.key)
    ).all()
    out = []
    for record, version_id in rows:
        try:
            model = store.parsed_model(ctx, session, version_id)
            instructions = _start_instructions(model)
            has_form = bool(model.start_form and model.start_form in model.forms)
        except Exception:  # a broken stored version must not take the catalogue down
            instructions, has_form = None, False
        out.append(
            {
                "key": record.key,
                "name": record.name or record.key,
                "version": record.latest_version,
                "updated_at": record.updated_at,
                "instructions": instructions,
                "has_form": has_form,
            }
        )
    return out


def start_view(ctx: EngineContext, session: Session, key: str) -> dict[str, Any]:
    record = session.get(ProcessModelRecord, key)
    if record is None:
        raise NotFound(f"流程模型 {key} 不存在 (process model not found)", {"process": key})
    version_id = session.scalar(
        select(ProcessVersionRecord.id).where(
            ProcessVersionRecord.model_key == key,
            ProcessVersionRecord.version == record.latest_version,
        )
    )
    if version_id is None:
        raise NotFound(f"流程模型 {key} 没有版本 (no version)", {"process": key})
    model = store.parsed_model(ctx, session, version_id)
    form = model.forms.get(model.start_form) if model.start_form else None
    return {
        "key": record.key,
        "name": record.name or record.key,
        "version": record.latest_version,
        "instructions": _start_instructions(model),
        "form": form.raw if form else None,
    }


def form_for_task(ctx: EngineContext, session: Session, task_id: str) -> FormSchema | None:
    row = session.get(HumanTaskRow, task_id)
    if row is None or not row.form_file:
        return None
    record = store.get_instance(session, row.instance_id)
    return store.parsed_model(ctx, session, record.version_id).forms.get(row.form_file)


def start_form_for(ctx: EngineContext, session: Session, key: str) -> FormSchema | None:
    record = session.get(ProcessModelRecord, key)
    if record is None:
        return None
    version_id = session.scalar(
        select(ProcessVersionRecord.id).where(
            ProcessVersionRecord.model_key == key,
            ProcessVersionRecord.version == record.latest_version,
        )
    )
    if version_id is None:
        return None
    model = store.parsed_model(ctx, session, version_id)
    return model.forms.get(model.start_form) if model.start_form else None


# --- server-side field errors for form-js -----------------------------------------------------

_INDEX = re.compile(r"\[(\d+)\]")


def field_errors(form: FormSchema | None, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """FormInvalid details (keyed by data path, e.g. ``guests[1].name``) as form-js needs them:
    the component id (form-js keys errors by id), the list indexes, the label and both
    messages. Errors of fields the form cannot place keep ``id`` None."""
    by_path = {f.path: f for f in form.fields} if form else {}
    out = []
    for path, problem in fields.items():
        problem = problem if isinstance(problem, Mapping) else {"message": str(problem)}
        template = _INDEX.sub("[]", path)
        indexes = [int(i) for i in _INDEX.findall(path)]
        field = by_path.get(template)
        out.append(
            {
                "path": path,
                "id": field.id if field else None,
                "indexes": indexes,
                "label": (field.label or field.key) if field else path,
                "code": problem.get("code"),
                "message": problem.get("message") or "",
                "message_en": problem.get("message_en") or problem.get("message") or "",
            }
        )
    return out
