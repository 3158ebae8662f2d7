"""The read behind an instance's detail (`engine.read.queries.get_instance`, which answers every
start and completion through the API): its tasks with their candidate groups, timers, incidents,
documents and audit log in one statement. Column rows, not ORM objects; the statements are built
once with bind parameters (building one costs about as much as running it).

An action's answer carries only the latest audit entries and tasks, with their totals
(``latest``): a project that runs for two years gathers thousands of entries and hundreds of
tasks, and reading and sending them all made every completion's cost grow with the instance's
age (2.5 ms with none, 14 ms with 2,000 audit entries, 6 ms with 300 tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from engine.store.audit_log import among_latest
from engine.store.prepared import Prepared
from engine.store.records_ops import is_live
from engine.store.tables import (
    AuditRecord,
    DocumentRecord,
    HumanTaskRow,
    IncidentRecord,
    TaskCandidateRow,
    TaskValues,
    TimerRow,
    UTCDateTime,
)

_instance = bindparam("instance_id")

# How much history an action's answer carries (a start, a completion, a retry...) and the
# instance page shows unless asked for all: the latest audit entries, and the live tasks with
# the latest ones; enough for what the action just did. The instance's own read has them all.
ACTION_AUDIT = 50
ACTION_TASKS = 20
_newest = aliased(HumanTaskRow)


def _text() -> Any:
    return cast(null(), String())


def _time() -> Any:
    return cast(null(), UTCDateTime())


def _audit_branch(latest: bool) -> Any:
    """The audit entries' branch: all of them, or (``latest``) the latest `ACTION_AUDIT`, found
    through the (instance_id, id) index from the ACTION_AUDIT-th newest id on (all of them when
    there are fewer). Constants are written into the statement: each bind costs per run."""
    condition = AuditRecord.instance_id == _instance
    if latest:
        condition = condition & among_latest(
            lambda entry: entry.instance_id == _instance, literal_column(str(ACTION_AUDIT - 1))
        )
    return select(
        literal_column("'a'").label("src"),
        AuditRecord.id,
        AuditRecord.task_id,
        AuditRecord.element_id,
        AuditRecord.actor.label("text1"),
        AuditRecord.action.label("text2"),
        *(_text().label(f"text{i}") for i in range(3, 9)),
        AuditRecord.at.label("time1"),
        *(_time().label(f"time{i}") for i in range(2, 5)),
        AuditRecord.details,
    ).where(condition)


def _tasks_condition(latest: bool) -> Any:
    """The instance's tasks: all of them, or (``latest``) the live ones and the latest
    `ACTION_TASKS` (by creation)."""
    condition = HumanTaskRow.instance_id == _instance
    if not latest:
        return condition
    newest = (
        select(_newest.id)
        .where(_newest.instance_id == _instance)
        .order_by(_newest.created_at.desc(), _newest.id.desc())
        .limit(literal_column(str(ACTION_TASKS)))
    )
    return condition & (is_live(HumanTaskRow.status) | HumanTaskRow.id.in_(newest))


def _detail(latest: bool) -> Any:
    """One row shape for five tables: src, id, task_id, element_id, text1…text8, time1…time4,
    details. The first branch fixes the result types (hence its typed NULLs); a task comes once
    per candidate group (text8)."""
    return union_all(
        _audit_branch(latest),
        select(
            literal_column("'i'"), IncidentRecord.id, IncidentRecord.task_id,
            IncidentRecord.element_id, null(), IncidentRecord.message, *[null()] * 6,
            IncidentRecord.created_at, IncidentRecord.resolved_at, *[null()] * 3,
        ).where(IncidentRecord.instance_id == _instance),
        select(
            literal_column("'t'"), TimerRow.id, TimerRow.task_id, TimerRow.element_id,
            TimerRow.kind, *[null()] * 7, TimerRow.due_at, *[null()] * 4,
        ).where(TimerRow.instance_id == _instance),
        select(
            literal_column("'d'"), DocumentRecord.id, null(), null(), DocumentRecord.doc_type,
            DocumentRecord.title, *[null()] * 6, DocumentRecord.created_at, *[null()] * 4,
        ).where(DocumentRecord.instance_id == _instance),
        select(
            literal_column("'k'"), null(), HumanTaskRow.id, HumanTaskRow.element_id,
            HumanTaskRow.name, HumanTaskRow.status, HumanTaskRow.model_key, HumanTaskRow.lane,
            HumanTaskRow.form_file, HumanTaskRow.assignee, HumanTaskRow.completed_by,
            TaskCandidateRow.group_name, HumanTaskRow.created_at, HumanTaskRow.due_at,
            HumanTaskRow.claimed_at, HumanTaskRow.completed_at, null(),
        )
        .outerjoin(TaskCandidateRow, TaskCandidateRow.task_id == HumanTaskRow.id)
        .where(_tasks_condition(latest)),
    )


_DETAIL = Prepared(_detail(latest=False))
_LATEST = Prepared(_detail(latest=True))
# Asked only when the latest entries may not be all of them: an old instance's action pays one
# statement more, a young one (most of them) nothing for the count.
_TOTALS = select(
    select(func.count(AuditRecord.id)).where(AuditRecord.instance_id == _instance)
    .scalar_subquery(),
    select(func.count(HumanTaskRow.id)).where(HumanTaskRow.instance_id == _instance)
    .scalar_subquery(),
)


class Detail(NamedTuple):
    """`tasks`: oldest first, each with its candidate groups; `history`: timers (by due time),
    incidents, documents and the audit log (each by id), as the API shows them."""

    tasks: list[tuple[TaskValues, list[str]]]
    history: dict[str, Any]


def instance_detail(session: Session, instance_id: int, latest: bool = False) -> Detail:
    """The instance's tasks and history, one statement; with ``latest``, only the latest
    `ACTION_AUDIT` audit entries, and the live tasks with the latest `ACTION_TASKS`
    (``audit_total`` and ``tasks_total`` count them all: one statement more when as many
    came as were asked for)."""
    tasks: dict[str, tuple[TaskValues, list[str]]] = {}
    audit: list[tuple[int, dict[str, Any]]] = []
    incidents: list[tuple[int, dict[str, Any]]] = []
    documents: list[tuple[int, dict[str, Any]]] = []
    timers: list[tuple[tuple[datetime, int], dict[str, Any]]] = []
    # A column read on the connection, after writing what the session holds (the ORM would
    # add nothing else but its per-statement cost).
    session.flush()
    connection = session.connection()
    params = {"instance_id": instance_id}
    for row in (_LATEST if latest else _DETAIL).rows(connection, params):
        (src, id_, task_id, element_id, text1, text2, text3, text4, text5, text6, text7,
         text8, time1, time2, time3, time4, details) = row
        if src == "k":
            entry = tasks.get(task_id)
            if entry is None:
                entry = tasks[task_id] = (TaskValues(
                    task_id, instance_id, text3, element_id, text1, text4, text5, text6, text2,
                    time2, time1, time3, time4, text7), [])
            if text8 is not None:
                entry[1].append(text8)
        elif src == "a":
            audit.append((id_, {
                "id": id_, "at": _iso(time1), "actor": text1, "action": text2,
                "task_id": task_id, "element_id": element_id, "details": details,
            }))
        elif src == "i":
            incidents.append((id_, {
                "id": id_, "element_id": element_id, "task_id": task_id, "message": text2,
                "created_at": _iso(time1), "resolved_at": _iso(time2),
            }))
        elif src == "t":
            timers.append(((time1, id_), {
                "element_id": element_id, "kind": text1, "due_at": _iso(time1),
                "task_id": task_id,
            }))
        else:
            documents.append((id_, {
                "id": id_, "doc_type": text1, "title": text2, "created_at": _iso(time1),
            }))
    ordered = sorted(tasks.values(), key=lambda t: (t[0].created_at, t[0].id))
    totals = (len(audit), len(ordered))
    if latest and (len(audit) >= ACTION_AUDIT or len(ordered) >= ACTION_TASKS):
        totals = tuple(connection.execute(_TOTALS, params).one())
    return Detail(ordered, {
        "timers": [d for _, d in sorted(timers, key=lambda t: t[0])],
        "incidents": [d for _, d in sorted(incidents, key=lambda t: t[0])],
        "documents": [d for _, d in sorted(documents, key=lambda t: t[0])],
        "audit": [d for _, d in sorted(audit, key=lambda t: t[0])],
        "audit_total": totals[0],
        "tasks_total": totals[1],
    })


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
