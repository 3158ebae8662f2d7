"""Read side of the 流程实例 pages: the filtered instance list and what the detail page draws.

Everything here reads indexed columns, the task projection, timers, incidents and the audit log;
no workflow is restored. Written to stay fast at 100k instances:

* the list never loads `state` or `data` (large columns), only the 50 rows it shows;
* each filter maps onto an index: status+process -> ix_instances_status_model (a process filter
  alone is given every status, so the same index answers it), starter -> ix_instances_started_by,
  dates -> ix_instances_created_at, overdue -> ix_tasks_due_reminded, stage -> the open tasks;
* the staff visibility rule of `engine.read.queries.list_instances` (started it, or assigned to or
  completed one of its tasks) is the same, written as a union of three indexed look-ups;
* the total is counted up to COUNT_CAP matches ("10000+" beyond): exact totals of huge
  unselective filters cost a full scan and tell a person nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, intersect, select, text
from sqlalchemy.orm import Session

from engine.access import listed_instance_ids
from engine.read.list_queries import (
    INSTANCE_COLUMNS,
    dialect_of,
    open_step_names,
    page_with_total,
)
from engine.read.names import process_names
from engine.store.tables import (
    HumanTaskRow,
    InstanceRecord,
    UserRecord,
)
from engine.time_range import clamped

if TYPE_CHECKING:
    from engine.people.accounts import Actor

STATUSES = ("running", "waiting", "suspended", "error", "completed", "terminated")
ACTIVE_STATUSES = ("running", "waiting", "suspended", "error")
PER_PAGE = 50
COUNT_CAP = 10_000
# Audit actions whose element is a step the instance has passed.
PASSED_ACTIONS = ("task_completed", "timer_fired", "service_called", "handler_note")


@dataclass(frozen=True)
class InstanceFilter:
    process: str | None = None
    status: str | None = None
    stage: str | None = None
    started_by: str | None = None
    overdue: bool = False
    created_from: date | None = None  # calendar dates in the department zone, inclusive
    created_to: date | None = None

    def active(self) -> bool:
        return any(
            (
                self.process,
                self.status,
                self.stage,
                self.started_by,
                self.overdue,
                self.created_from,
                self.created_to,
            )
        )


@dataclass(frozen=True)
class InstancePage:
    items: list[dict[str, Any]]
    total: int
    capped: bool  # total is COUNT_CAP and there are more
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.capped or self.page < self.pages


def sees_all(actor: Actor) -> bool:
    """Whether the actor's lists show every instance (`engine.access.listed_instance_ids`)."""
    return listed_instance_ids(actor) is None


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def _task_filters(flt: InstanceFilter, now: datetime) -> list[Select[Any]]:
    """The filters answered by the task projection: ids of instances with such an open task."""
    parts: list[Select[Any]] = []
    if flt.overdue:
        parts.append(
            select(HumanTaskRow.instance_id).where(
                HumanTaskRow.status == "open",
                HumanTaskRow.due_at.is_not(None),
                HumanTaskRow.due_at < now,
            )
        )
    if flt.stage:
        at_stage = select(HumanTaskRow.instance_id).where(
            HumanTaskRow.status == "open", HumanTaskRow.name == flt.stage
        )
        if flt.process:
            at_stage = at_stage.where(HumanTaskRow.model_key == flt.process)
        parts.append(at_stage)
    return parts


def _instance_filtered(flt: InstanceFilter) -> bool:
    return bool(
        flt.process or flt.status or flt.started_by or flt.created_from or flt.created_to
    )


def filtered_ids(actor: Actor, flt: InstanceFilter, now: datetime, tz: ZoneInfo) -> Select[Any]:
    return _filtered_ids(listed_instance_ids(actor), flt, now, tz)


def _filtered_ids(listed: Any, flt: InstanceFilter, now: datetime, tz: ZoneInfo) -> Select[Any]:
    """``listed``: `engine.access.listed_instance_ids` of the actor (None: sees all)."""
    if listed is not None and not _instance_filtered(flt):
        # Straight from the visibility UNION's covering index look-ups: no instance row read.
        visible = listed.subquery()
        only_visible: Select[Any] = select(visible.c.id)
        for part in _task_filters(flt, now):
            only_visible = only_visible.where(visible.c.id.in_(part))
        return only_visible
    query: Select[Any] = select(InstanceRecord.id)
    if listed is not None:
        query = query.where(InstanceRecord.id.in_(listed))
    if flt.status:
        query = query.where(InstanceRecord.status == flt.status)
    elif flt.process:
        # Lets the (status, model_key) index answer a process filter on its own.
        query = query.where(InstanceRecord.status.in_(STATUSES))
    if flt.process:
        query = query.where(InstanceRecord.model_key == flt.process)
    if flt.started_by:
        query = query.where(InstanceRecord.started_by == flt.started_by)
    # Days clamped into the years planflow takes: near the ends of the calendar a day's bounds
    # do not exist (year 1 at +08:00 is year 0 in UTC; no day follows 9999-12-31).
    if flt.created_from:
        first = local_day_bounds(clamped(flt.created_from), tz)[0]
        query = query.where(InstanceRecord.created_at >= first)
    if flt.created_to:
        after = local_day_bounds(clamped(flt.created_to), tz)[1]
        query = query.where(InstanceRecord.created_at < after)
    for part in _task_filters(flt, now):
        query = query.where(InstanceRecord.id.in_(part))
    return query


def list_instances(
    session: Session,
    actor: Actor,
    flt: InstanceFilter,
    *,
    now: datetime,
    tz: ZoneInfo,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> InstancePage:
    page = max(1, page)
    # Asked once: building the staff's visibility UNION costs more than running this page's
    # small queries.
    listed = listed_instance_ids(actor)
    task_parts = _task_filters(flt, now)
    if task_parts and listed is None and not _instance_filtered(flt):
        # Only task filters (overdue, stage): the projection alone answers both the count and
        # the page, without touching the large instance rows.
        only = task_parts[0] if len(task_parts) == 1 else intersect(*task_parts)
        tids = select(only.subquery().c.instance_id.label("id")).distinct().subquery()
        counted = session.scalar(
            select(func.count()).select_from(select(tids.c.id).limit(COUNT_CAP + 1).subquery())
        ) or 0
        page_ids = list(
            session.scalars(
                select(tids.c.id)
                .order_by(tids.c.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
        return _capped_page(session, page_ids, counted, now, page, per_page)
    ids = _filtered_ids(listed, flt, now, tz)
    if listed is not None and not _instance_filtered(flt):
        # The visibility UNION (the actor's own work) is built whole for the sort anyway: one
        # statement pages and counts it (a window count).
        found, counted, _ = page_with_total(session, ids, lambda c: [c.id.desc()], page, per_page)
        return _capped_page(session, [r.id for r in found], counted, now, page, per_page)
    capped_ids = ids.limit(COUNT_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped_ids)) or 0
    order: Any = ids.selected_columns[0].desc()
    if _instance_filtered(flt) and session.get_bind().dialect.name == "sqlite":
        # With statistics (ANALYZE) SQLite likes to walk the primary key backwards and test
        # each (large) row until a page is full: fine for common values, hundreds of ms at
        # 100k rows for a rare process or starter. `+id` rules that plan out, so the filter's
        # index narrows first and only the matching ids are sorted.
        order = text("+process_instances.id DESC")
    page_ids = list(
        session.scalars(ids.order_by(order).limit(per_page).offset((page - 1) * per_page))
    )
    return _capped_page(session, page_ids, counted, now, page, per_page)


def _capped_page(
    session: Session, page_ids: list[int], counted: int, now: datetime, page: int, per_page: int
) -> InstancePage:
    """The page's rows; the total shown stops at COUNT_CAP (``counted`` may be COUNT_CAP + 1)."""
    return InstancePage(
        _rows(session, page_ids, now), min(counted, COUNT_CAP), counted > COUNT_CAP, page, per_page
    )


def _rows(session: Session, ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """The page's rows in one statement: the listed columns, the starter's name and whether an
    open task is overdue (no instance row is read beyond the page's)."""
    if not ids:
        return []
    overdue = (
        select(HumanTaskRow.id)
        .where(
            HumanTaskRow.instance_id == InstanceRecord.id,
            HumanTaskRow.status == "open",
            HumanTaskRow.due_at < now,
        )
        .exists()
    )
    found = (
        select(*INSTANCE_COLUMNS, UserRecord.display_name, overdue.label("overdue"))
        .outerjoin(UserRecord, UserRecord.username == InstanceRecord.started_by)
        .where(InstanceRecord.id.in_(ids))
    )
    rows = {r.id: r for r in session.execute(found)}
    names = process_names(session)
    out = []
    for i in ids:
        r = rows.get(i)
        if r is None:
            continue
        out.append(
            {
                "id": r.id,
                "process": r.model_key,
                "process_name": names.get(r.model_key, r.model_key),
                "version": r.version_number,
                "title": r.title,
                "status": r.status,
                "stage": r.stage,
                "started_by": r.started_by,
                "started_by_name": r.display_name or r.started_by,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "completed_at": r.completed_at,
                "overdue": bool(r.overdue),
                "suspended": r.suspended,
            }
        )
    return out


def stage_options(session: Session, process: str | None, limit: int = 200) -> list[str]:
    """Names of the steps instances are waiting in now (open tasks), for the stage filter."""
    if dialect_of(session) == "sqlite":
        # A skip scan of ix_tasks_status_name: one probe per distinct (process, step), not a
        # read of every open task (SQLite has no loose index scan of its own).
        statement, params = open_step_names(process, limit)
        return sorted(set(session.scalars(statement, params)))
    query = select(HumanTaskRow.name).where(HumanTaskRow.status == "open")
    if process:
        query = query.where(HumanTaskRow.model_key == process)
    return sorted(set(session.scalars(query.distinct().limit(limit))))


def starter_options(session: Session) -> list[tuple[str, str]]:
    return [
        (u, d)
        for u, d in session.execute(
            select(UserRecord.username, UserRecord.display_name).order_by(UserRecord.username)
        )
    ]


# --- detail ------------------------------------------------------------------------------------


@dataclass
class Highlights:
    """Element ids to mark on the diagram, by meaning."""

    completed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    waiting: dict[str, str] = field(default_factory=dict)  # element id -> ISO due time
    errors: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "completed": sorted(self.completed - self.active - self.errors),
            "active": sorted(self.active),
            "waiting": dict(sorted(self.waiting.items())),
            "errors": sorted(self.errors),
        }


def highlights(detail: dict[str, Any], passed: Iterable[str] | None = None) -> Highlights:
    """From `engine.read.queries.get_instance`'s answer: human tasks, audit entries (timers fired,
    services called), waiting timers and open incidents; and ``passed``, the element ids every
    save records (`InstanceRecord.passed_elements`: script tasks, decision tables, gateways and
    events too, compacted branches included). No workflow restore."""
    out = Highlights()
    out.completed.update(passed or ())
    for task in detail["tasks"]:
        if task["status"] == "open":
            out.active.add(task["element_id"])
        elif task["status"] == "completed":
            out.completed.add(task["element_id"])
    for entry in detail["audit"]:
        if entry["action"] in PASSED_ACTIONS and entry["element_id"]:
            out.completed.add(entry["element_id"])
    for timer in detail["timers"]:
        out.waiting[timer["element_id"]] = timer["due_at"]
    for incident in detail["incidents"]:
        if incident["resolved_at"] is None and incident["element_id"]:
            out.errors.add(incident["element_id"])
    return out
