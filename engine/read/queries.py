"""Read-side queries for inboxes, lists and detail pages. They read the projection and indexed
columns only, never restore a workflow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CompoundSelect, Row, Select, select
from sqlalchemy.orm import Session

from engine.access import instance_for
from engine.errors import NotFound
from engine.people.accounts import Actor
from engine.read import instance_view
from engine.read.instance_detail import instance_detail
from engine.read.list_queries import (
    dialect_of,
    inbox_select,
    page_with_total,
    task_rows,
)
from engine.store import instance_state as store
from engine.store.records_ops import is_live
from engine.store.start_warnings import start_warnings
from engine.store.tables import HumanTaskRow, InstanceRecord, TaskValues

if TYPE_CHECKING:
    from engine.context import EngineContext

MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def task_dict(
    row: HumanTaskRow | Row[Any] | TaskValues,
    now: datetime | None = None,
    title: str | None = None,
    groups: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A task as the API shows it; ``row`` an ORM row, or a row of TASK_COLUMNS with its
    ``groups`` read in one batch (see engine.read.list_queries.task_rows)."""
    if groups is None:
        groups = [c.group_name for c in row.candidate_groups]  # type: ignore[union-attr]
    return {
        "id": row.id,
        "instance_id": row.instance_id,
        "process": row.model_key,
        "element_id": row.element_id,
        "name": row.name,
        "lane": row.lane,
        "assignee": row.assignee,
        "candidate_groups": sorted(groups),
        "status": row.status,
        "form_file": row.form_file,
        "due_at": _iso(row.due_at),
        "overdue": bool(row.status == "open" and row.due_at and now and row.due_at < now),
        "created_at": _iso(row.created_at),
        "claimed_at": _iso(row.claimed_at),
        "completed_at": _iso(row.completed_at),
        "completed_by": row.completed_by,
        **({"instance_title": title} if title is not None else {}),
    }


def instance_dict(record: InstanceRecord | Row[Any]) -> dict[str, Any]:
    return {
        "id": record.id,
        "process": record.model_key,
        "version": record.version_number,
        "title": record.title,
        "status": record.status,
        "stage": record.stage,
        "started_by": record.started_by,
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "completed_at": _iso(record.completed_at),
        "suspended": record.suspended,
    }


def list_tasks(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    *,
    status: str = "open",
    process: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    per_page = max(1, min(per_page, MAX_PAGE))
    page = max(1, page)
    where = [HumanTaskRow.model_key == process] if process else []
    ids: Select[Any] | CompoundSelect
    if status == "completed":
        # ix_tasks_completed_by (completed_by, status, completed_at, id) covers it.
        ids = select(HumanTaskRow.id, HumanTaskRow.completed_at).where(
            HumanTaskRow.completed_by == actor.username,
            HumanTaskRow.status == "completed",
            *where,
        )

        def order(c: Any) -> list[Any]:
            return [c.completed_at.desc(), c.id]
    else:
        ids = inbox_select(
            actor, dialect_of(session), HumanTaskRow.id, HumanTaskRow.created_at, where=where
        )

        def order(c: Any) -> list[Any]:
            return [c.created_at.desc(), c.id]

    found, total, page = page_with_total(session, ids, order, page, per_page)
    wanted = [r.id for r in found]
    rows, groups = task_rows(session, wanted, InstanceRecord.title)
    now = ctx.clock.now()
    items = [
        task_dict(rows[i], now, rows[i].title, groups[i]) for i in wanted if i in rows
    ]
    return Page(items, total, page, per_page)


def list_instances(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    process: str | None = None,
    started_by: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """The 流程实例 list's read model (`engine.read.instance_view.list_instances`: who sees
    which instances, filters, order, paging) in the API's shape. Like the page, a total over
    COUNT_CAP is reported as COUNT_CAP."""
    found = instance_view.list_instances(
        session,
        actor,
        instance_view.InstanceFilter(process=process, status=status, started_by=started_by),
        now=ctx.clock.now(),
        tz=ctx.settings.zone,
        page=page,
        per_page=max(1, min(per_page, MAX_PAGE)),
    )
    items = [
        {
            **{k: _iso(v) if isinstance(v, datetime) else v for k, v in row.items()},
            "title": row["title"] or "",
        }
        for row in found.items
    ]
    return Page(items, found.total, found.page, found.per_page)


def get_instance(
    ctx: EngineContext, session: Session, actor: Actor, instance_id: int, *,
    latest: bool = False,
) -> dict[str, Any]:
    """An instance with its tasks, timers, incidents, documents and audit log, for whoever may
    see it: one statement after the instance record. ``latest``: only the latest of its
    history, as an action answers (`detail_of`)."""
    record = instance_for(session, actor, "view", instance_id)
    return detail_of(session, acted_on(record), ctx.clock.now(), latest=latest)


def monitored(
    ctx: EngineContext, session: Session, record: InstanceRecord, everything: bool = False
) -> dict[str, Any]:
    """The instance page's detail of ``record`` (which the caller may view): the latest of its
    history, as an action answers, unless ``everything``. All of it for an instance saved
    before it recorded the elements it passed: its diagram's highlights then come from its
    tasks and audit entries alone."""
    latest = not everything and record.passed_elements is not None
    return detail_of(session, acted_on(record), ctx.clock.now(), latest=latest)


def acted_on(record: InstanceRecord) -> dict[str, Any]:
    """The instance as the caller's action left it, taken from memory before the answer's
    reads (on SQLite the write commits first, which would make the record reload). No view
    permission is asked: the caller has just acted on it."""
    return {**instance_dict(record), "data": record.data}


def start_warnings_of(record: InstanceRecord) -> list[str]:
    """What the model warned its starter of (`engine.store.start_warnings`: e.g. an event less
    than 30 days away), for the start's answer on every channel."""
    return start_warnings(record.data)


def detail_of(session: Session, head: dict[str, Any], now: datetime, *,
              latest: bool = False) -> dict[str, Any]:
    """`head` (an `acted_on` instance) with its tasks and history and their totals: one
    statement. ``latest``: as an action answers (a start, a completion, a retry...) and the
    instance page shows it, only the latest audit entries and the live and latest tasks
    (`instance_detail`), so that it costs the same however old the instance is."""
    detail = instance_detail(session, head["id"], latest=latest)
    shown = [task_dict(t, now, groups=groups) for t, groups in detail.tasks]
    return {
        **head,
        "open_tasks": [t for t in shown if t["status"] == "open"],
        "tasks": shown,
        **detail.history,
    }


def open_task_rows(session: Session, instance_id: int) -> list[HumanTaskRow]:
    """The instance's live task rows (open, or held for signers), oldest first."""
    return list(
        session.scalars(
            select(HumanTaskRow)
            .where(
                HumanTaskRow.instance_id == instance_id, is_live(HumanTaskRow.status)
            )
            .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
        )
    )


def operation_result(
    ctx: EngineContext,
    session: Session,
    *,
    instance_id: int | None = None,
    task_id: str | None = None,
) -> dict[str, Any]:
    """What an operation answers: the task (if given), the instance (given, or the task's) and
    its open tasks. No view permission is asked: the caller has just acted on the instance."""
    now = ctx.clock.now()
    row = session.get(HumanTaskRow, task_id) if task_id is not None else None
    if row is None and instance_id is None:
        raise NotFound(f"任务 {task_id} 不存在 (task not found)", {"task_id": task_id})
    record = store.get_instance(session, row.instance_id if instance_id is None else instance_id)
    out: dict[str, Any] = {
        "instance": instance_dict(record),
        "open_tasks": [task_dict(t, now) for t in open_task_rows(session, record.id)],
    }
    if row is not None:
        out["task"] = task_dict(row, now)
    return out


def step_name(session: Session, task_id: str) -> str:
    """The name of a step the caller has just acted on ("" if there is none)."""
    row = session.get(HumanTaskRow, task_id)
    return row.name if row is not None else ""
