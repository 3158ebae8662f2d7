"""Where the appraisal numbers (考核维度, `engine.read.kpis`) come from, one query each; every
one reads what the processes already wrote:

- **tasks with a due date** (`human_tasks`): due in the period, on time when completed by the
  due time, late when completed after it or still open past it (a task not yet due does not
  count); a cancelled task does not count either;
- **finished projects** (`process_instances`): completed in the period with a
  `completion_result` (the retrospective's 目标完成率, `handlers/kpi.py`);
- **what a step submitted** (`audit_log`, `task_completed`): the rows of a form field, e.g.
  `adopted_ideas` (whose ideas the internal review adopted) and `collaboration_ratings` (the
  retrospective's 1–5 rating per department) — read wherever a model records them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from engine.store.tables import (
    AuditRecord,
    HumanTaskRow,
    InstanceRecord,
    MembershipRecord,
    UserRecord,
)

LIVE = ("open", "on_hold")


@dataclass(frozen=True)
class DueTask:
    instance_id: int
    person: str | None  # who completed it, else who holds it
    on_time: bool


@dataclass(frozen=True)
class Submission:
    instance_id: int
    actor: str | None
    at: datetime
    rows: list[Mapping[str, Any]]


def due_tasks(session: Session, start: datetime, end: datetime, now: datetime) -> list[DueTask]:
    """Tasks due in [start, end) that were done or are overdue by ``now``."""
    rows = session.execute(
        select(HumanTaskRow.instance_id, HumanTaskRow.status, HumanTaskRow.assignee,
               HumanTaskRow.completed_by, HumanTaskRow.due_at, HumanTaskRow.completed_at)
        .where(HumanTaskRow.due_at >= start, HumanTaskRow.due_at < end,
               HumanTaskRow.status.in_(("completed", *LIVE)))
    ).all()
    out = []
    for instance_id, status, assignee, completed_by, due_at, completed_at in rows:
        if status == "completed" and completed_at is not None:
            out.append(DueTask(instance_id, completed_by, completed_at <= due_at))
        elif status in LIVE and due_at < now:
            out.append(DueTask(instance_id, assignee, False))
    return out


def finished_projects(session: Session, start: datetime, end: datetime) -> list[Any]:
    """(id, data) of the instances completed in [start, end) whose data has a
    `completion_result` with a rate."""
    rows = session.execute(
        select(InstanceRecord.id, InstanceRecord.data)
        .where(InstanceRecord.status == "completed", InstanceRecord.completed_at >= start,
               InstanceRecord.completed_at < end)
    ).all()
    out = []
    for iid, data in rows:
        result = data.get("completion_result") if isinstance(data, Mapping) else None
        if isinstance(result, Mapping) and isinstance(result.get("completion_rate"),
                                                      int | float):
            out.append((iid, data))
    return out


def submitted_rows(
    session: Session, key: str, start: datetime, end: datetime
) -> list[Submission]:
    """Every completed step in [start, end) that submitted rows under ``key`` (oldest first)."""
    found = session.execute(
        select(AuditRecord.instance_id, AuditRecord.actor, AuditRecord.at, AuditRecord.details)
        .where(AuditRecord.action == "task_completed", AuditRecord.at >= start,
               AuditRecord.at < end, cast(AuditRecord.details, String).like(f'%"{key}"%'))
        .order_by(AuditRecord.id)
    ).all()
    out = []
    for instance_id, actor, at, details in found:
        data = details.get("data") if isinstance(details, Mapping) else None
        rows = data.get(key) if isinstance(data, Mapping) else None
        if instance_id is not None and isinstance(rows, list):
            out.append(Submission(instance_id, actor, at,
                                  [r for r in rows if isinstance(r, Mapping)]))
    return out


def instances(session: Session, ids: set[int]) -> dict[int, Any]:
    """id -> (title, model_key, status, started_by, data, completed_at)."""
    if not ids:
        return {}
    rows = session.execute(
        select(InstanceRecord.id, InstanceRecord.title, InstanceRecord.model_key,
               InstanceRecord.status, InstanceRecord.started_by, InstanceRecord.data,
               InstanceRecord.completed_at)
        .where(InstanceRecord.id.in_(sorted(ids)))
    ).all()
    return {row[0]: row for row in rows}


def completers(session: Session, ids: set[int]) -> set[tuple[int, str]]:
    """(instance, person) for everyone who completed a step of these instances."""
    if not ids:
        return set()
    rows = session.execute(
        select(HumanTaskRow.instance_id, HumanTaskRow.completed_by)
        .where(HumanTaskRow.instance_id.in_(sorted(ids)), HumanTaskRow.completed_by.is_not(None))
        .distinct()
    ).all()
    return {(iid, who) for iid, who in rows}


def memberships(session: Session) -> dict[str, set[str]]:
    """username -> the groups (departments) they belong to."""
    out: dict[str, set[str]] = {}
    rows = session.execute(
        select(UserRecord.username, MembershipRecord.group_name)
        .join(MembershipRecord, MembershipRecord.user_id == UserRecord.id)
    ).all()
    for username, group in rows:
        out.setdefault(username, set()).add(group)
    return out
