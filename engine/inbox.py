"""Read side of the staff pages: 待办 (inbox), 已办 (done), 我发起的 (started by me), the task
page's context and the start catalogue.

Everything here reads the task projection, the instance rows, the audit log and the parsed
(cached) model: no workflow is ever restored. Values are returned as plain dicts with aware
datetimes; formatting for a language is the caller's business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import CompoundSelect, Row, Select, case, or_, select
from sqlalchemy.orm import Session

from engine import store
from engine.context import EngineContext
from engine.errors import Forbidden, NotFound
from engine.forms import FormSchema
from engine.list_queries import (
    count_rows,
    dialect_of,
    inbox_select,
    memo_on_connection,
    page_with_total,
    task_rows,
)
from engine.models import (
    AuditRecord,
    GroupRecord,
    HumanTaskRow,
    InstanceRecord,
    ProcessModelRecord,
    ProcessVersionRecord,
    UserRecord,
)
from engine.people import Actor, may_act_on, may_see
from engine.queries import task_data
from engine.specs import ParsedModel, all_task_specs

PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_QUERY = 100
HISTORY_ACTIONS = ("started", "task_completed")
ENDED = ("completed", "terminated")


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


# --- small helpers ----------------------------------------------------------------------------


def local_zone(ctx: EngineContext) -> ZoneInfo:
    try:
        return ZoneInfo(ctx.settings.timezone)
    except Exception:
        return ZoneInfo("Asia/Shanghai")


def days_left(due_at: datetime | None, now: datetime, zone: ZoneInfo) -> int | None:
    """Whole calendar days (in the local zone) from today to the due date; negative if past."""
    if due_at is None:
        return None
    return (due_at.astimezone(zone).date() - now.astimezone(zone).date()).days


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _clean_query(q: str | None) -> str:
    return (q or "").strip()[:MAX_QUERY]


def _paged(
    session: Session, query: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int, int, int]:
    total = count_rows(session, query)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    last = max(1, -(-total // per_page))
    page = min(max(1, page), last)
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total, page, per_page


def process_names(session: Session) -> dict[str, str]:
    """Deployed process models: key -> display name, sorted by name."""
    rows = session.execute(
        select(ProcessModelRecord.key, ProcessModelRecord.name).order_by(ProcessModelRecord.name)
    ).all()
    return {key: name or key for key, name in rows}


def user_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(
        select(UserRecord.username, UserRecord.display_name).where(UserRecord.username.in_(wanted))
    ).all()
    return {username: display or username for username, display in rows}


def group_names(session: Session) -> dict[str, dict[str, str]]:
    """Group key -> {"zh": ..., "en": ...}."""
    return {
        g.name: {"zh": g.display_name or g.name, "en": g.display_name_en or g.display_name}
        for g in session.scalars(select(GroupRecord))
    }


# --- lists ------------------------------------------------------------------------------------


def open_count(session: Session, actor: Actor) -> int:
    """Open tasks for the actor (assigned, or offered to one of their groups): one COUNT over
    two index range scans (see engine.list_queries.inbox_select). Every page's nav badge asks,
    so on SQLite the answer is kept until the database changes (memo_on_connection)."""
    key = (actor.username, tuple(sorted(actor.groups)))
    return int(
        memo_on_connection(
            session,
            "inbox_open_count",
            key,
            lambda: count_rows(session, inbox_select(actor, dialect_of(session), HumanTaskRow.id)),
        )
    )


def _task_item(
    row: HumanTaskRow | Row[Any],
    title: str,
    names: Mapping[str, str],
    now: datetime,
    zone: ZoneInfo,
    groups: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``row`` an ORM row, or a row of engine.queries.TASK_COLUMNS with its ``groups``."""
    if groups is None:
        groups = [c.group_name for c in row.candidate_groups]  # type: ignore[union-attr]
    overdue = bool(row.status == "open" and row.due_at and row.due_at < now)
    return {
        "id": row.id,
        "instance_id": row.instance_id,
        "process": row.model_key,
        "process_name": names.get(row.model_key, row.model_key),
        "title": title,
        "step": row.name,
        "lane": row.lane,
        "assignee": row.assignee,
        "claimable": row.assignee is None,
        "candidate_groups": sorted(groups),
        "status": row.status,
        "due_at": row.due_at,
        "overdue": overdue,
        "days_left": days_left(row.due_at, now, zone),
        "created_at": row.created_at,
        "claimed_at": row.claimed_at,
        "completed_at": row.completed_at,
        "completed_by": row.completed_by,
    }


def _task_listing(
    ctx: EngineContext,
    session: Session,
    ids: Select[Any] | CompoundSelect,
    order: Callable[[Any], list[Any]],
    page: int,
    per_page: int,
) -> Listing:
    """One page of tasks in two cheap steps: the ids (count, sort and cut in one statement on
    the narrow, index-covered task columns), then those rows and their groups."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    found, total, page = page_with_total(session, ids, order, max(1, page), per_page, clamp=True)
    wanted = [r.id for r in found]
    rows, groups = task_rows(
        session, wanted, InstanceRecord.title, InstanceRecord.status.label("instance_status")
    )
    now = ctx.clock.now()
    names = process_names(session)
    zone = local_zone(ctx)
    items = []
    for task_id in wanted:
        if task_id not in rows:  # removed between the two reads
            continue
        row = rows[task_id]
        item = _task_item(row, row.title, names, now, zone, groups[task_id])
        item["instance_status"] = row.instance_status
        items.append(item)
    return Listing(items, total, page, per_page)


def _title_search(q: str | None) -> list[Any]:
    """Conditions for a search in instance titles and step names (needs the instance join)."""
    text = _clean_query(q)
    if not text:
        return []
    pattern = _like(text)
    return [
        or_(
            InstanceRecord.title.ilike(pattern, escape="\\"),
            HumanTaskRow.name.ilike(pattern, escape="\\"),
        )
    ]


def _inbox_order(c: Any) -> list[Any]:
    return [case((c.due_at.is_(None), 1), else_=0), c.due_at, c.created_at.desc(), c.id]


def inbox(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    *,
    process: str | None = None,
    overdue_only: bool = False,
    q: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Listing:
    """待办: open tasks of the actor and their groups; overdue first, then by due date, then
    newest first."""
    conditions: list[Any] = _title_search(q)
    if process:
        conditions.append(HumanTaskRow.model_key == process)
    if overdue_only:
        now = ctx.clock.now()
        conditions += [HumanTaskRow.due_at.is_not(None), HumanTaskRow.due_at < now]
    ids = inbox_select(
        actor,
        dialect_of(session),
        HumanTaskRow.id,
        HumanTaskRow.due_at,
        HumanTaskRow.created_at,
        where=conditions,
        join_instance=bool(_clean_query(q)),
    )
    return _task_listing(ctx, session, ids, _inbox_order, page, per_page)


def done(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    *,
    process: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Listing:
    """已办: tasks the actor completed, most recent first."""
    ids = select(HumanTaskRow.id, HumanTaskRow.completed_at).where(
        HumanTaskRow.status == "completed",
        HumanTaskRow.completed_by == actor.username,
        *_title_search(q),
    )
    if _clean_query(q):
        ids = ids.join(InstanceRecord, InstanceRecord.id == HumanTaskRow.instance_id)
    if process:
        ids = ids.where(HumanTaskRow.model_key == process)

    def order(c: Any) -> list[Any]:
        return [c.completed_at.desc(), c.id]

    return _task_listing(ctx, session, ids, order, page, per_page)


def started(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Listing:
    """我发起的: instances the actor started, newest first, with status and current stage."""
    query: Select[Any] = select(InstanceRecord).where(InstanceRecord.started_by == actor.username)
    if status == "active":
        query = query.where(InstanceRecord.status.not_in(ENDED))
    elif status:
        query = query.where(InstanceRecord.status == status)
    text = _clean_query(q)
    if text:
        query = query.where(InstanceRecord.title.ilike(_like(text), escape="\\"))
    query = query.order_by(InstanceRecord.created_at.desc(), InstanceRecord.id.desc())
    rows, total, page, per_page = _paged(session, query, page, per_page)
    names = process_names(session)
    items = [
        {
            "id": r.id,
            "title": r.title,
            "process": r.model_key,
            "process_name": names.get(r.model_key, r.model_key),
            "version": r.version_number,
            "status": "suspended" if r.suspended and r.status not in ENDED else r.status,
            "stage": r.stage,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "completed_at": r.completed_at,
        }
        for (r,) in rows
    ]
    return Listing(items, total, page, per_page)


# --- the task page ----------------------------------------------------------------------------


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


def task_view(ctx: EngineContext, session: Session, actor: Actor, task_id: str) -> dict[str, Any]:
    """Everything the task page shows. NotFound for an unknown task, Forbidden for a task the
    actor may not see (not theirs, not their groups', not completed by them)."""
    row = session.get(HumanTaskRow, task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在 (task not found)", {"task_id": task_id})
    if not may_see(actor, row):
        raise Forbidden("无权查看该任务 (not your task)", {"task_id": task_id})
    record = store.get_instance(session, row.instance_id)
    model = store.parsed_model(ctx, session, record.version_id)
    now = ctx.clock.now()
    zone = local_zone(ctx)
    names = process_names(session)
    form = model.forms.get(row.form_file) if row.form_file else None
    step = model.steps.get(row.element_id)

    audits = session.scalars(
        select(AuditRecord)
        .where(
            AuditRecord.instance_id == record.id,
            AuditRecord.action.in_(HISTORY_ACTIONS),
        )
        .order_by(AuditRecord.id)
    ).all()
    people = user_names(
        session,
        [record.started_by, row.assignee, row.completed_by, *(a.actor for a in audits)],
    )
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
            entry_form = (
                model.forms.get(entry_step.form_file)
                if entry_step and entry_step.form_file
                else None
            )
            fields = form_values(entry_form, data)
            name = details.get("name") or (entry_step.name if entry_step else entry.element_id)
            if entry.task_id == row.id:
                submitted = dict(data)
        history.append(
            {
                "action": entry.action,
                "at": entry.at,
                "actor": entry.actor,
                "actor_name": people.get(entry.actor or "", entry.actor),
                "step": name,
                "fields": fields,
                "current": entry.task_id == row.id,
            }
        )

    start_form = model.forms.get(model.start_form) if model.start_form else None
    data = task_data(ctx, session, row)
    # What the form opens with: the task's own data; for a finished task, what was submitted.
    form_data = {**data, **(submitted or {})}
    is_open = row.status == "open"
    active = is_open and not record.suspended and record.status not in ENDED
    can_act = is_open and may_act_on(actor, row)
    return {
        "task": _task_item(row, record.title, names, now, zone),
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
        "instructions": step.instructions if step else None,
        "form": form.raw if form else None,
        "form_data": form_data,
        "key_data": form_values(start_form, data),
        "history": history,
        "can_act": can_act,
        "can_submit": can_act and active,
        "can_claim": can_act and row.assignee is None,
        "can_unclaim": is_open
        and row.claimed_at is not None
        and (row.assignee == actor.username or actor.is_admin),
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
