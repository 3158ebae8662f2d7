"""数据看板: aggregates for managers, from indexed columns and the narrow side tables.

Running instances by process come from the (status, model_key) index alone; stages from the open
rows of the task projection (the `stage` column sits behind the large `state` column, reading it
for every instance would be slow); overdue work from ix_tasks_due_reminded; timers from
ix_timers_due.
The 催办 tasks the models open on a late step (`_not_reminder`) are reminders, not steps: the stage
chart leaves them out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.read.instance_view import ACTIVE_STATUSES
from engine.read.names import group_labels, process_names, user_names
from engine.read.version_files import element_names
from engine.store.tables import (
    HumanTaskRow,
    InstanceRecord,
    TaskCandidateRow,
    TimerRow,
)

KPI_PROCESS = "project_initiation"
REMINDER_ELEMENT_SUFFIX = "_escalation"
REMINDER_NAME_PREFIX = "催办"
THROUGHPUT_DAYS = 30
TIMER_DAYS = 7


@dataclass(frozen=True)
class Dashboard:
    running_by_process: list[dict[str, Any]]  # process, name, counts per status, total
    running_by_stage: list[dict[str, Any]]  # process, name, stage, instances
    overdue_by_person: list[dict[str, Any]]  # username, name, tasks
    overdue_by_group: list[dict[str, Any]]  # group, name, name_en, tasks
    timers_this_week: list[dict[str, Any]]  # due_at, instance, title, element, kind
    timers_per_day: list[tuple[date, int]]
    throughput: list[tuple[date, int]]  # completed instances per local day, oldest first
    kpi: list[dict[str, Any]]  # instance id, title, completion_rate (percent)

    @property
    def overdue_total(self) -> int:
        return sum(r["tasks"] for r in self.overdue_by_person) + sum(
            r["tasks"] for r in self.overdue_by_group
        )


def build(session: Session, now: datetime, tz: ZoneInfo) -> Dashboard:
    names = process_names(session)
    timers, per_day = timers_this_week(session, now, tz)
    person, group = overdue(session, now)
    return Dashboard(
        running_by_process=running_by_process(session, names),
        running_by_stage=running_by_stage(session, names),
        overdue_by_person=person,
        overdue_by_group=group,
        timers_this_week=timers,
        timers_per_day=per_day,
        throughput=throughput(session, now, tz),
        kpi=completion_rates(session),
    )


def running_by_process(session: Session, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(InstanceRecord.model_key, InstanceRecord.status, func.count())
        .where(InstanceRecord.status.in_(ACTIVE_STATUSES))
        .group_by(InstanceRecord.model_key, InstanceRecord.status)
    ).all()
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for key, status, count in rows:
        table[key][status] += count
    out = [
        {
            "process": key,
            "name": names.get(key, key),
            "counts": {s: counts.get(s, 0) for s in ACTIVE_STATUSES},
            "total": sum(counts.values()),
        }
        for key, counts in table.items()
    ]
    out.sort(key=lambda r: (-r["total"], r["process"]))
    return out


def _not_reminder() -> Any:
    """Not a 催办 task: the models' reminder on a late step (bpmn/README.md: a boundary timer
    `Event_*_sla` leads to `Task_*_escalation`, named 催办：…). It nudges someone about a step;
    it is not a step of the process itself."""
    return ~(
        HumanTaskRow.element_id.endswith(REMINDER_ELEMENT_SUFFIX, autoescape=True)
        | HumanTaskRow.name.startswith(REMINDER_NAME_PREFIX, autoescape=True)
    )


def running_by_stage(
    session: Session, names: dict[str, str], limit: int = 30
) -> list[dict[str, Any]]:
    """Instances per step they are at (open tasks), 催办 reminders left out."""
    rows = session.execute(
        select(
            HumanTaskRow.model_key,
            HumanTaskRow.name,
            func.count(func.distinct(HumanTaskRow.instance_id)),
        )
        .where(HumanTaskRow.status == "open", _not_reminder())
        .group_by(HumanTaskRow.model_key, HumanTaskRow.name)
    ).all()
    out = [
        {"process": key, "name": names.get(key, key), "stage": stage, "instances": count}
        for key, stage, count in rows
    ]
    out.sort(key=lambda r: (-r["instances"], r["process"], r["stage"]))
    return out[:limit]


def overdue(session: Session, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open tasks past due: assigned ones by person, unassigned ones by the groups offered."""
    late = (HumanTaskRow.status == "open", HumanTaskRow.due_at < now)
    by_person = session.execute(
        select(HumanTaskRow.assignee, func.count())
        .where(*late, HumanTaskRow.assignee.is_not(None))
        .group_by(HumanTaskRow.assignee)
    ).all()
    by_group = session.execute(
        select(TaskCandidateRow.group_name, func.count())
        .join(HumanTaskRow, HumanTaskRow.id == TaskCandidateRow.task_id)
        .where(*late, HumanTaskRow.assignee.is_(None))
        .group_by(TaskCandidateRow.group_name)
    ).all()
    people = user_names(session, {u for u, _ in by_person})
    groups = group_labels(session)
    persons = [
        {"username": u, "name": people.get(u, u), "tasks": n}
        for u, n in sorted(by_person, key=lambda r: (-r[1], r[0]))
    ]
    group_rows = [
        {
            "group": name,
            # a group since removed is shown by its key
            "name": groups[name]["zh"] if name in groups else name,
            "name_en": groups[name]["en"] if name in groups else name,
            "tasks": n,
        }
        for name, n in sorted(by_group, key=lambda r: (-r[1], r[0]))
    ]
    return persons, group_rows


def timers_this_week(
    session: Session, now: datetime, tz: ZoneInfo, limit: int = 100
) -> tuple[list[dict[str, Any]], list[tuple[date, int]]]:
    until = now + timedelta(days=TIMER_DAYS)
    rows = session.execute(
        select(
            TimerRow.due_at,
            TimerRow.element_id,
            TimerRow.kind,
            InstanceRecord.id,
            InstanceRecord.title,
            InstanceRecord.model_key,
            InstanceRecord.version_id,
        )
        .join(InstanceRecord, InstanceRecord.id == TimerRow.instance_id)
        .where(TimerRow.due_at >= now, TimerRow.due_at < until)
        .order_by(TimerRow.due_at, TimerRow.id)
        .limit(limit)
    ).all()
    labels: dict[int, dict[str, str]] = {}
    items = []
    today = now.astimezone(tz).date()
    per_day: Counter[date] = Counter()
    for due_at, element, kind, instance_id, title, key, version_id in rows:
        if version_id not in labels:
            labels[version_id] = element_names(session, version_id)
        items.append(
            {
                "due_at": due_at,
                "element_id": element,
                "element": labels[version_id].get(element, element),
                "kind": kind,
                "instance_id": instance_id,
                "title": title,
                "process": key,
            }
        )
        per_day[due_at.astimezone(tz).date()] += 1
    days = [today + timedelta(days=i) for i in range(TIMER_DAYS + 1)]
    return items, [(d, per_day.get(d, 0)) for d in days]


def throughput(session: Session, now: datetime, tz: ZoneInfo) -> list[tuple[date, int]]:
    """Completed instances per local day, counted by the database (one row per day back).

    Each local day is the span between two local midnights, reckoned in Python with the zone's
    rules, so a day of a daylight-saving change (23 or 25 hours) counts what happened in it; the
    database only compares ``completed_at`` with those instants (one CASE, the same on every
    dialect: no time-zone arithmetic in SQL, which SQLite does not have)."""
    today = now.astimezone(tz).date()
    first = today - timedelta(days=THROUGHPUT_DAYS - 1)
    days = [first + timedelta(days=i) for i in range(THROUGHPUT_DAYS)]
    bounds = [datetime.combine(d, datetime.min.time(), tzinfo=tz)
              for d in [*days, today + timedelta(days=1)]]
    column = InstanceRecord.completed_at
    day = case(*((column < bounds[i + 1], i) for i in range(THROUGHPUT_DAYS))).label("day")
    rows = session.execute(
        select(day, func.count())
        .where(InstanceRecord.status == "completed", column >= bounds[0], column < bounds[-1])
        # by the label: PostgreSQL takes the CASE with its own parameters for another expression
        .group_by("day")
    )
    counts = {days[index]: n for index, n in rows if index is not None}
    return [(d, counts.get(d, 0)) for d in days]


def _rate(data: Any) -> float | None:
    if not isinstance(data, dict):
        return None
    value = data.get("completion_rate")
    if value is None and isinstance(data.get("completion_result"), dict):
        value = data["completion_result"].get("completion_rate")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        rate = float(value)
    except ValueError:
        return None
    return rate if rate == rate else None  # NaN


def completion_rates(session: Session, limit: int = 30) -> list[dict[str, Any]]:
    """目标完成率 (percent) of the latest completed 项目立项 instances that recorded one."""
    rows = session.execute(
        select(InstanceRecord.id, InstanceRecord.title, InstanceRecord.data)
        .where(InstanceRecord.status == "completed", InstanceRecord.model_key == KPI_PROCESS)
        .order_by(InstanceRecord.completed_at.desc(), InstanceRecord.id.desc())
        .limit(limit * 2)
    ).all()
    out = []
    for instance_id, title, data in rows:
        rate = _rate(data)
        if rate is not None:
            name = data.get("project_name") if isinstance(data, dict) else None
            out.append(
                {"id": instance_id, "title": str(name or title), "completion_rate": round(rate, 1)}
            )
    return list(reversed(out[:limit]))
