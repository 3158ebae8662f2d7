"""Read side of the staff lists: 待办 (inbox), 已办 (done), 我发起的 (started by me), and the
names and counts they show (the task page and start catalogue are in `engine.read.task_page`).

Everything here reads the task projection, the instance rows, the audit log and the parsed
(cached) model: no workflow is ever restored. Values are returned as plain dicts with aware
datetimes; formatting for a language is the caller's business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import CompoundSelect, Row, Select, case, or_, select
from sqlalchemy.orm import Session

from engine.read.list_queries import (
    count_rows,
    dialect_of,
    inbox_select,
    memo_on_connection,
    page_with_total,
    task_rows,
)
from engine.read.names import process_names
from engine.store.tables import (
    HumanTaskRow,
    InstanceRecord,
)

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor

PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_QUERY = 100
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


def days_left(due_at: datetime | None, now: datetime, zone: ZoneInfo) -> int | None:
    """Whole calendar days (in the local zone) from today to the due date; negative if past."""
    if due_at is None:
        return None
    return (due_at.astimezone(zone).date() - now.astimezone(zone).date()).days


def like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def clean_query(q: str | None) -> str:
    return (q or "").strip()[:MAX_QUERY]


def paged(
    session: Session, query: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int, int, int]:
    total = count_rows(session, query)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    last = max(1, -(-total // per_page))
    page = min(max(1, page), last)
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total, page, per_page


# --- lists ------------------------------------------------------------------------------------


def open_count(session: Session, actor: Actor) -> int:
    """Open tasks for the actor (assigned, or offered to one of their groups): one COUNT over
    two index range scans (see engine.read.list_queries.inbox_select). Every page's nav badge asks,
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


def task_item(
    row: HumanTaskRow | Row[Any],
    title: str,
    names: Mapping[str, str],
    now: datetime,
    zone: ZoneInfo,
    groups: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``row`` an ORM row, or a row of engine.read.queries.TASK_COLUMNS with its ``groups``."""
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


# The instance columns the task lists show (one tuple, so task_rows builds its statement once).
_LISTING_COLUMNS = (InstanceRecord.title, InstanceRecord.status.label("instance_status"))


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
    rows, groups = task_rows(session, wanted, *_LISTING_COLUMNS)
    now = ctx.clock.now()
    names = process_names(session)
    zone = ctx.settings.zone
    items = []
    for task_id in wanted:
        if task_id not in rows:  # removed between the two reads
            continue
        row = rows[task_id]
        item = task_item(row, row.title, names, now, zone, groups[task_id])
        item["instance_status"] = row.instance_status
        items.append(item)
    return Listing(items, total, page, per_page)


def _title_search(q: str | None) -> list[Any]:
    """Conditions for a search in instance titles and step names (needs the instance join)."""
    text = clean_query(q)
    if not text:
        return []
    pattern = like(text)
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
        join_instance=bool(clean_query(q)),
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
    if clean_query(q):
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
    text = clean_query(q)
    if text:
        query = query.where(InstanceRecord.title.ilike(like(text), escape="\\"))
    query = query.order_by(InstanceRecord.created_at.desc(), InstanceRecord.id.desc())
    rows, total, page, per_page = paged(session, query, page, per_page)
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
