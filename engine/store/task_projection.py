"""The task projection: the rows of human tasks (assignee, candidate groups, due date, status)
kept in step with the engine's ready user tasks at every save, and warnings for assignee / due
date expressions that failed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine.bpmn.runtime import element_id
from engine.bpmn.specs import ParsedModel
from engine.store.audit_log import audit, audit_row
from engine.store.held_audits import HeldAudits
from engine.store.lane_groups import LaneGroups
from engine.store.loaded import column_keys, loaded
from engine.store.prepared import Prepared
from engine.store.records_ops import is_live
from engine.store.tables import (
    HumanTaskRow,
    IncidentRecord,
    InstanceRecord,
    TaskCandidateRow,
    TaskValues,
)
from engine.store.task_properties import (
    ExpressionProblem,
    due_at,
    resolve_assignment,
    task_title,
)
from engine.store.timer_rows import Known

if TYPE_CHECKING:
    from engine.context import EngineContext

_LIVE_ROWS = (
    select(HumanTaskRow)
    # The sync never reads their candidate groups (already loaded ones stay loaded).
    .options(lazyload(HumanTaskRow.candidate_groups))
    .where(
        HumanTaskRow.instance_id == bindparam("instance_id"),
        is_live(HumanTaskRow.status),
    )
)

_ROWS_BY_ID = (
    select(HumanTaskRow)
    .options(lazyload(HumanTaskRow.candidate_groups))
    .where(HumanTaskRow.id.in_(bindparam("ids", expanding=True)))
)


def sync_tasks(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    model: ParsedModel,
    ready: list[Task],
    completed: Mapping[str, str],
    now: datetime,
    first_save: bool,
    had_ready: bool,
    assign: Mapping[str, str],
    known: Known,
    held: HeldAudits,
) -> None:
    """Bring the task rows in step with the engine's ready user tasks: close those no longer
    ready (completed by ``completed[task_id]``, else cancelled), create the new ones with
    their assignee, candidate groups and due date, then the save hooks (votes, absences,
    notifications). ``known``: what the caller already read (`timer_rows.Known`: whether the
instance has task operations, whether anything is to route; None: ask); ``held``: the save's
audit entries, which the hooks flush through."""
    # Planflow's task operations: refuse completions their rules do not allow yet; rows held
    # for signers ("on_hold") are live too; rows planflow made itself are not engine tasks.
    # Most instances never used one: a single check then skips their three lookups.
    if first_save:
        ops = False
    elif known.task_operations is not None:
        ops = known.task_operations
    else:
        ops = ctx.save_hooks.has_task_operations(session, record.id)
    if ops:
        ctx.save_hooks.guard_completions(session, completed)
    # Without ready tasks at the last save and without task operations no row can be live
    # (e.g. an instance waiting on a timer): nothing to read.
    open_rows = {} if first_save or not (ops or had_ready) else _live_rows(
        session, record.id, known.live_tasks
    )
    managed = ctx.save_hooks.managed_task_ids(session, record.id) if ops else set()
    keep = {str(t.id) for t in ready} | managed
    closing = _closing(open_rows, keep, completed, now)
    closed = [row for row, _ in closing]
    created: list[TaskValues] = []
    # The new rows' candidate groups, by task id: written and handed to the hooks as names.
    groups_of: dict[str, list[str]] = {}
    groups = LaneGroups(session)
    for task in (t for t in ready if str(t.id) not in open_rows):
        row, candidates = _new_row(ctx, session, record, workflow, model, task, groups, now,
                                   assign.get(str(task.id)), held)
        groups_of[row.id] = candidates
        created.append(row)
    _write(session, closing, created, groups_of)
    ctx.save_hooks.after_sync(
        ctx, session, record, workflow, model, created, closed, now, ops=ops,
        assign=assign, held=held, groups=groups_of, to_route=known.to_route,
    )


def _new_row(
    ctx: EngineContext,
    session: Session,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    model: ParsedModel,
    task: Task,
    groups: LaneGroups,
    now: datetime,
    given: str | None,
    held: HeldAudits,
) -> tuple[TaskValues, list[str]]:
    """A ready task's new row and its candidate groups; its task_created entry in ``held`` and
    its expression problems recorded. ``given``: who the save's caller gave it to (退回, a
    handover), which goes in with the row."""
    step = model.steps.get(element_id(task))
    problems: list[ExpressionProblem] = []
    assignee, candidates = resolve_assignment(ctx, workflow, task, step, groups, problems, session)
    row = TaskValues(
        id=str(task.id),
        instance_id=record.id,
        model_key=record.model_key,
        element_id=element_id(task),
        name=task_title(workflow, task, step, problems),
        lane=task.task_spec.lane,
        form_file=step.form_file if step else None,
        assignee=assignee if given is None else given,
        status="open",
        due_at=due_at(ctx, workflow, task, step, now, problems),
        created_at=now,
        claimed_at=None if given is None else now,
    )
    held.add(audit_row(now, "task_created", instance_id=record.id, task_id=row.id,
                       element_id=row.element_id,
                       details={"name": row.name, "assignee": assignee, "groups": candidates}))
    if problems:
        record_expression_problems(session, record.id, row, problems, now)
    return row, candidates


def attach(session: Session, task: TaskValues) -> HumanTaskRow:
    """The ORM object of a row `sync_tasks` wrote, built from its values (no read) and in the
    session as already stored, so a change to it is written as an UPDATE."""
    return loaded(session, HumanTaskRow, task._asdict())


_TASK_KEYS = column_keys(HumanTaskRow)
_CLOSING_KEYS = ("status", "completed_at", "completed_by")
_TASKS = HumanTaskRow.__table__
_INSERT_TASKS = Prepared(insert(_TASKS))
_INSERT_CANDIDATES = Prepared(insert(TaskCandidateRow.__table__))
_CLOSE = Prepared(
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("b_id"))
    .values({key: bindparam(key) for key in _CLOSING_KEYS})
)


def _upsert(dialect: str) -> Prepared:
    """New rows and closed ones in one statement: a closed row conflicts on its id and takes
    only its closing columns (SQLite and PostgreSQL spell this the same way). Only a live row
    is updated: a new row whose id names a row already closed is left out, and `_write`
    counts it (a plain INSERT failed there too)."""
    stmt = (sqlite_insert if dialect == "sqlite" else pg_insert)(_TASKS)
    return Prepared(stmt.on_conflict_do_update(
        index_elements=[_TASKS.c.id],
        set_={key: getattr(stmt.excluded, key) for key in _CLOSING_KEYS},
        where=is_live(_TASKS.c.status),
    ))


_UPSERTS = {name: _upsert(name) for name in ("sqlite", "postgresql")}

Closing = list[tuple[HumanTaskRow, dict[str, Any]]]


def _closing(
    open_rows: dict[str, HumanTaskRow],
    keep: set[str],
    completed: Mapping[str, str],
    now: datetime,
) -> Closing:
    """The live rows not in ``keep``, with their closing values: completed by whom
    ``completed`` says, else cancelled (written by `_write`)."""
    changes = []
    for task_id, row in open_rows.items():
        if task_id in keep:
            continue
        done = task_id in completed
        changes.append((row, {
            "status": "completed" if done else "cancelled",
            "completed_at": now,
            "completed_by": completed[task_id] if done else row.completed_by,
        }))
    return changes


def _write(
    session: Session, closing: Closing, created: list[TaskValues],
    groups_of: Mapping[str, list[str]],
) -> None:
    """Close and insert rows with one executemany (two when the database has no upsert), and
    the new rows' candidate groups (``groups_of``) with one more; then leave the closed rows
    holding what is stored. The ORM's unit of work would write the same rows at several times
    the cost (every completion closes one task and creates the next). The new rows get no ORM
    objects here, nor their candidate groups (each cost more than its INSERT): a reader in the
    same session loads them from what was written."""
    connection = session.connection()
    new = [task._asdict() for task in created]
    upsert = _UPSERTS.get(connection.dialect.name)
    if closing and new and upsert is not None:
        rows = new + [{**_values(row), **values} for row, values in closing]
        if upsert.run(connection, rows) != len(rows):
            raise RuntimeError(
                f"instance {created[0].instance_id}: a new task row's id names a closed row "
                "(the engine made a finished task ready again without a new id)"
            )
    else:
        if closing:
            _CLOSE.run(connection, [{"b_id": row.id, **values} for row, values in closing])
        if new:
            _INSERT_TASKS.run(connection, new)
    groups = [{"task_id": row.id, "group_name": g}
              for row in created for g in groups_of.get(row.id, ())]
    if groups:
        _INSERT_CANDIDATES.run(connection, groups)
    for row, values in closing:
        for key, value in values.items():
            set_committed_value(row, key, value)


def _values(row: HumanTaskRow) -> dict[str, Any]:
    return {key: getattr(row, key) for key in _TASK_KEYS}


def _live_rows(
    session: Session, instance_id: int, ids: frozenset[str] | None
) -> dict[str, HumanTaskRow]:
    """The instance's live rows; with their ``ids`` known (the caller's probe), those already
    in the session (the task being completed, loaded by its access check) are not read
    again."""
    if ids is None:
        return {row.id: row for row in session.scalars(_LIVE_ROWS, {"instance_id": instance_id})}
    rows: dict[str, HumanTaskRow] = {}
    missing = []
    for task_id in ids:
        row = session.identity_map.get(identity_key(HumanTaskRow, task_id))
        if row is None:
            missing.append(task_id)
        else:
            rows[task_id] = row  # type: ignore[assignment]
    if missing:
        rows.update((row.id, row) for row in session.scalars(_ROWS_BY_ID, {"ids": missing}))
    return rows


def record_expression_problems(
    session: Session,
    instance_id: int,
    row: HumanTaskRow | TaskValues,
    problems: list[ExpressionProblem],
    now: datetime,
) -> None:
    """An incident and an audit entry per problem, naming the task's element.

    Decision: these are *warning-level* incidents. The task has already opened (unassigned,
    or without a due date), so nothing waits for a person and nothing can be retried: the
    incident is written already resolved (``resolved_at`` = ``created_at``). It is listed with
    the instance's incidents (API: GET /process-instances/<id>) and in its audit log, but it
    does not put the instance in ``error`` status, block completions, schedule a retry or
    appear among the open incidents an administrator must retry. Fixing the expression means
    deploying a new version."""
    for p in problems:
        message = (
            f"警告 (warning): 用户任务 {row.name} [{row.element_id}] 的属性 {p.prop} "
            f"表达式 {p.expression[:200]!r} 出错 (expression failed): {p.problem}; {p.fallback}"
        )
        session.add(IncidentRecord(
            instance_id=instance_id,
            task_id=row.id,
            element_id=row.element_id,
            message=message,
            created_at=now,
            resolved_at=now,
            attempts=1,
            retry_at=None,
        ))
        audit(
            session,
            now,
            "expression_failed",
            instance_id=instance_id,
            task_id=row.id,
            element_id=row.element_id,
            details={
                "level": "warning",
                "property": p.prop,
                "expression": p.expression[:500],
                "problem": p.problem,
                "fallback": p.fallback,
            },
        )
