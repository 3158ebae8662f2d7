"""`planflow doctor`: instances that cannot move on, and projections that disagree with the
stored state.

Each unfinished instance is restored the way a freshly started process would restore it (a
renewed context: no warm spec cache can hide a problem) and checked for:

* ``unreadable`` — the state does not restore at all;
* ``stalled`` — running, yet nothing is ready and no timer or message is awaited
  (`runtime.stall_point`); new saves turn this into an incident, older instances may carry it;
* ``task_row_missing`` / ``task_row_stale`` — a ready user task without an open task row, or an
  open row for a task the engine no longer has ready (what people see in their inbox is wrong);
* ``timer_missing`` / ``timer_stale`` — a waiting timer the timer table does not know (it would
  never fire), or a timer row for a timer the engine no longer waits for.

Read-only: it reports, a person decides (retry, 退回, terminate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.runtime import element_id, stall_point, waiting_timers
from engine.bpmn.tree_scan import scan
from engine.store import instance_state as store
from engine.store.records_ops import is_live
from engine.store.tables import HumanTaskRow, InstanceRecord, TimerRow

if TYPE_CHECKING:
    from engine.context import EngineContext

UNFINISHED = ("running", "waiting", "error", "suspended")


@dataclass(frozen=True)
class Finding:
    instance_id: int
    kind: str
    element_id: str | None
    detail: str
    # The step's name from the diagram (what people read); the element id when it has none.
    element_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnose(fresh: EngineContext, session: Session) -> list[Finding]:
    """`fresh`: a renewed context (`engine.context.renewed`), so the check restores instances
    as a freshly started process would; the caller builds it (context is the top layer)."""
    records = session.scalars(
        select(InstanceRecord)
        .where(InstanceRecord.status.in_(UNFINISHED))
        .order_by(InstanceRecord.id)
    )
    findings: list[Finding] = []
    for record in records:
        findings.extend(_check(fresh, session, record))
    return findings


def _check(ctx: EngineContext, session: Session, record: InstanceRecord) -> list[Finding]:
    iid = record.id
    try:
        workflow, _model = store.restore(ctx, session, record, [])
    except Exception as exc:  # whatever the state holds, the report must go on
        return [Finding(iid, "unreadable", None, f"{type(exc).__name__}: {exc}"[:500])]
    out: list[Finding] = []
    scanned = scan(workflow)  # one walk for the stall check and the ready user tasks
    stuck = stall_point(workflow, scanned)
    if stuck is not None and record.status != "suspended":
        out.append(Finding(iid, "stalled", element_id(stuck), "", _name(stuck)))

    tree = {str(t.id): t for t in workflow.get_tasks()}
    ready = {str(t.id): t for t in scanned.ready_human}
    rows = session.scalars(
        select(HumanTaskRow).where(
            HumanTaskRow.instance_id == iid,
            is_live(HumanTaskRow.status),
        )
    ).all()
    live = {row.id for row in rows}
    for task_id, task in ready.items():
        if task_id not in live:
            out.append(Finding(iid, "task_row_missing", element_id(task), task_id, _name(task)))
    for row in rows:
        if row.id in tree and row.id not in ready:
            out.append(Finding(iid, "task_row_stale", row.element_id, row.id, row.name))

    waiting = {t.task_id: t for t in waiting_timers(workflow)}
    timer_rows = session.scalars(
        select(TimerRow).where(TimerRow.instance_id == iid, TimerRow.kind != "retry")
    ).all()
    known = {row.task_id for row in timer_rows}
    for task_id, timer in waiting.items():
        if task_id not in known:
            task = tree.get(task_id)
            name = _name(task) if task is not None else None
            out.append(
                Finding(iid, "timer_missing", timer.element_id, timer.due_at.isoformat(), name)
            )
    for row in timer_rows:
        if row.task_id not in waiting:
            out.append(Finding(iid, "timer_stale", row.element_id, row.task_id))
    return out


def _name(task: Any) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_name", None) or element_id(task)
