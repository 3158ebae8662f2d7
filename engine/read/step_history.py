"""An instance's step history: its start and completed steps with the values each entered (the
task page's 处理记录 and the CC copy's).

The task page shows the latest `HISTORY_SHOWN` steps and says how many earlier ones it left out
(its 显示全部 reads them all): a project that runs for two years completes a weekly report every
week, and reading, rendering and sending every one of its steps with their values made each
opening of its task page grow with the project's age (116 steps, 93 KB after 104 weeks)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.orm import Session, aliased

from engine.bpmn.specs import ParsedModel
from engine.read.form_view import form_values
from engine.read.names import names_mentioned
from engine.store.audit_log import among_latest
from engine.store.tables import AuditRecord

# The audit entries the history shows.
HISTORY_ACTIONS = ("started", "task_completed")
# How many of them the task page shows unless asked for all of them.
HISTORY_SHOWN = 20

_counted = aliased(AuditRecord)


def _steps_of(record: Any) -> Any:
    """SQL: ``record`` is a step of the instance (the actions written into the statement)."""
    return (record.instance_id == bindparam("instance_id")) & record.action.in_(
        [literal_column(f"'{a}'") for a in HISTORY_ACTIONS]
    )


# Every step, oldest first.
_ALL = select(AuditRecord).where(_steps_of(AuditRecord)).order_by(AuditRecord.id)
# The latest ``:nth`` + 1 steps and the one the task submitted (``:task_id``), each with the
# count of them all.
_LATEST = (
    select(
        AuditRecord,
        select(func.count(_counted.id)).where(_steps_of(_counted)).scalar_subquery(),
    )
    .where(
        _steps_of(AuditRecord),
        among_latest(_steps_of, bindparam("nth")) | (AuditRecord.task_id == bindparam("task_id")),
    )
    .order_by(AuditRecord.id)
)


class StepHistory(NamedTuple):
    """``entries``: the steps shown, oldest first; ``earlier``: how many older steps are not
    among them; ``submitted``: what the task asked about submitted (None if it has not, or no
    task was asked about), shown or not; ``people``: username -> name for everyone the shown
    steps mention (who did them, the people their values name) and the caller's ``also``."""

    entries: list[dict[str, Any]]
    earlier: int
    submitted: dict[str, Any] | None
    people: dict[str, str]


def step_history(
    session: Session,
    model: ParsedModel,
    instance_id: int,
    task_id: str,
    zone: tzinfo,
    latest: int | None = None,
    *,
    also: Iterable[Any] = (),
) -> StepHistory:
    """The instance's start and completed steps with the values each entered (times in
    ``zone``): all of them, or the ``latest`` ones (at least one); ``task_id``: the task whose
    submission `StepHistory.submitted` is (``""`` for none); ``also``: what else the page
    shows whose people it names (read with the steps' in one statement)."""
    if latest is None:
        rows = session.execute(_ALL, {"instance_id": instance_id}).all()
        total, shown = len(rows), rows
    else:
        latest = max(latest, 1)
        rows = session.execute(
            _LATEST, {"instance_id": instance_id, "nth": latest - 1, "task_id": task_id}
        ).all()
        total = rows[0][1] if rows else 0
        # The task's own step may be older than the latest ones: its values, not shown.
        shown = rows[-latest:]
    submitted: dict[str, Any] | None = None
    first_shown = len(rows) - len(shown)
    entered: list[tuple[Any, Mapping[str, Any]]] = []
    for i, (entry, *_) in enumerate(rows):
        details = entry.details or {}
        data = details.get("data") if isinstance(details.get("data"), Mapping) else {}
        if entry.action != "started" and entry.task_id == task_id:
            submitted = dict(data)
        if i >= first_shown:
            entered.append((entry, data))
    people = names_mentioned(
        session,
        [entry.actor for entry, _ in entered],
        [data for entry, data in entered if entry.action != "started"],  # a start shows none
        *also,
    )
    history = []
    for entry, data in entered:
        if entry.action == "started":
            fields: list[dict[str, Any]] = []
            name = None
        else:
            step = model.steps.get(entry.element_id or "")
            fields = form_values(model.form_for(entry.element_id or ""), data, people, zone)
            name = (entry.details or {}).get("name") or (step.name if step else entry.element_id)
        history.append({
            "action": entry.action,
            "at": entry.at,
            "actor": entry.actor,
            "step": name,
            "fields": fields,
            "current": entry.task_id == task_id,
        })
    return StepHistory(history, total - len(shown), submitted, people)
