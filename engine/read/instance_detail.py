"""The reads behind an instance's detail (`engine.read.queries.get_instance`, which answers every
start and completion through the API): its tasks with their candidate groups in one statement,
and its timers, incidents, documents and audit log in another. Column rows, not ORM objects;
both statements are built once with bind parameters (building one costs about as much as
running it)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, bindparam, cast, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from engine.read.list_queries import TASK_COLUMNS
from engine.store.tables import (
    AuditRecord,
    DocumentRecord,
    HumanTaskRow,
    IncidentRecord,
    TaskCandidateRow,
    TimerRow,
    UTCDateTime,
)

if TYPE_CHECKING:
    pass

_instance = bindparam("instance_id")

_TASKS = (
    select(*TASK_COLUMNS, TaskCandidateRow.group_name.label("group_name"))
    .outerjoin(TaskCandidateRow, TaskCandidateRow.task_id == HumanTaskRow.id)
    .where(HumanTaskRow.instance_id == _instance)
    .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
)

# One row shape for four tables: src, id, task_id, element_id, text1, text2, time1, time2,
# details. The first branch fixes the result types (hence the one typed NULL there).
_HISTORY = union_all(
    select(
        literal_column("'a'").label("src"),
        AuditRecord.id,
        AuditRecord.task_id,
        AuditRecord.element_id,
        AuditRecord.actor.label("text1"),
        AuditRecord.action.label("text2"),
        AuditRecord.at.label("time1"),
        cast(null(), UTCDateTime()).label("time2"),
        AuditRecord.details,
    ).where(AuditRecord.instance_id == _instance),
    select(
        literal_column("'i'"),
        IncidentRecord.id,
        IncidentRecord.task_id,
        IncidentRecord.element_id,
        null(),
        IncidentRecord.message,
        IncidentRecord.created_at,
        IncidentRecord.resolved_at,
        null(),
    ).where(IncidentRecord.instance_id == _instance),
    select(
        literal_column("'t'"),
        TimerRow.id,
        TimerRow.task_id,
        TimerRow.element_id,
        TimerRow.kind,
        null(),
        TimerRow.due_at,
        null(),
        null(),
    ).where(TimerRow.instance_id == _instance),
    select(
        literal_column("'d'"),
        DocumentRecord.id,
        null(),
        null(),
        DocumentRecord.doc_type,
        DocumentRecord.title,
        DocumentRecord.created_at,
        null(),
        null(),
    ).where(DocumentRecord.instance_id == _instance),
)


def instance_tasks(session: Session, instance_id: int) -> list[tuple[Row[Any], list[str]]]:
    """The instance's tasks (oldest first), each with its candidate groups."""
    out: dict[str, tuple[Row[Any], list[str]]] = {}
    for row in session.execute(_TASKS, {"instance_id": instance_id}):
        entry = out.setdefault(row.id, (row, []))
        if row.group_name is not None:
            entry[1].append(row.group_name)
    return list(out.values())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def instance_history(session: Session, instance_id: int) -> dict[str, list[dict[str, Any]]]:
    """Timers (by due time), incidents, documents and the audit log (each by id), as the API
    shows them."""
    audit: list[tuple[int, dict[str, Any]]] = []
    incidents: list[tuple[int, dict[str, Any]]] = []
    documents: list[tuple[int, dict[str, Any]]] = []
    timers: list[tuple[tuple[datetime, int], dict[str, Any]]] = []
    rows = session.execute(_HISTORY, {"instance_id": instance_id})
    for src, id_, task_id, element_id, text1, text2, time1, time2, details in rows:
        if src == "a":
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
    return {
        "timers": [d for _, d in sorted(timers, key=lambda t: t[0])],
        "incidents": [d for _, d in sorted(incidents, key=lambda t: t[0])],
        "documents": [d for _, d in sorted(documents, key=lambda t: t[0])],
        "audit": [d for _, d in sorted(audit, key=lambda t: t[0])],
    }
