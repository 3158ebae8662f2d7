"""What a user task's properties resolve to when it opens: its assignee and candidate groups
(`assignee`, `candidateGroups`, `candidateGroupsExpression`, the lane), its due time
(`dueIn`, `dueInWorkdays`, `dueDate`) and its title (`titleExpression`). An expression that
fails or gives an unusable value never stops the process: the task opens without it and the
problem is returned for the caller to record
(engine.store.instance_state.record_expression_problems: a warning incident and an audit
entry)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.tables import UserRecord
from engine.time_range import FIRST_YEAR, LAST_YEAR, in_range
from engine.wall_clock import as_aware, local

if TYPE_CHECKING:
    from engine.bpmn.runtime import PlanflowScriptEngine
    from engine.bpmn.specs import HumanStep
    from engine.context import EngineContext

# Never leave a task with nobody able to see it: administrators pick it up.
FALLBACK_GROUP = "admin"


@dataclass(frozen=True)
class ExpressionProblem:
    """A user-task property expression that failed or gave an unusable value at run time."""

    prop: str  # assignee | candidateGroupsExpression | dueDate | assignees | titleExpression
    expression: str
    problem: str
    fallback: str  # what the task does instead (zh + en)


_FAILED: Any = object()


def _evaluate_property(
    engine: PlanflowScriptEngine,
    task: Task,
    prop: str,
    expression: str,
    problems: list[ExpressionProblem],
    fallback: str,
) -> Any:
    """The expression's value, or ``_FAILED`` (and a problem noted) when it raises."""
    try:
        return engine.evaluate(task, expression)
    except Exception as exc:  # NameError, TypeError, ScriptError, WorkflowTaskException ...
        problems.append(ExpressionProblem(prop, expression, expression_error_text(exc), fallback))
        return _FAILED


def expression_error_text(exc: BaseException) -> str:
    """``NameError: ...``: SpiffWorkflow wraps the script's error in WorkflowTaskException
    (its type in ``error_type``, its hints in the notes)."""
    kind = getattr(exc, "error_type", None)
    if not isinstance(kind, str) or kind == "unknown":
        kind = type(exc).__name__
    text = str(exc).strip() or kind
    notes = [n for n in getattr(exc, "__notes__", None) or [] if isinstance(n, str)]
    return "; ".join([f"{kind}: {text}", *notes])[:500]


def resolve_assignment(
    ctx: EngineContext,
    workflow: BpmnWorkflow,
    task: Task,
    step: HumanStep | None,
    groups: Mapping[str, str],
    problems: list[ExpressionProblem] | None = None,
    session: Session | None = None,
) -> tuple[str | None, list[str]]:
    """The task's assignee and candidate groups. An `assignee` expression that raises, or
    gives something other than the name of an active user, leaves the task unassigned (offered
    to its candidate groups, else to administrators) and is noted in ``problems``; so is a
    `candidateGroupsExpression` that raises or gives neither text nor a list. An expression
    giving None or "" means "nobody in particular" and is not a problem."""
    props = step.properties if step else {}
    noted: list[ExpressionProblem] = problems if problems is not None else []
    engine = workflow.script_engine
    assignee = None
    candidates: list[str] = []
    if props.get("assignee"):
        expression = props["assignee"]
        fallback = "任务未分配给个人 (the task opened unassigned)"
        value = _evaluate_property(engine, task, "assignee", expression, noted, fallback)
        if value is _FAILED or value is None or value == "":
            pass
        elif not isinstance(value, str):
            noted.append(ExpressionProblem(
                "assignee", expression,
                f"结果不是用户名 (returned a {type(value).__name__}, not a user name): "
                f"{str(value)[:100]!r}",
                fallback,
            ))
        elif session is not None and not _active_user(session, value.strip()):
            noted.append(ExpressionProblem(
                "assignee", expression,
                f"用户 {value[:100]!r} 不存在或已停用 (no active user of that name)",
                fallback,
            ))
        else:
            assignee = value.strip()
    if props.get("candidateGroupsExpression"):
        expression = props["candidateGroupsExpression"]
        fallback = "任务按泳道/管理员分配 (the task went to its lane or to administrators)"
        value = _evaluate_property(
            engine, task, "candidateGroupsExpression", expression, noted, fallback
        )
        by_lane = value is _FAILED
        if isinstance(value, str):
            candidates = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, list | tuple):
            candidates = [str(v) for v in value]
        elif value is not _FAILED and value is not None:
            by_lane = True
            noted.append(ExpressionProblem(
                "candidateGroupsExpression", expression,
                f"结果不是用户组列表 (returned a {type(value).__name__}, not group names)",
                fallback,
            ))
    elif props.get("candidateGroups"):
        candidates = [g.strip() for g in props["candidateGroups"].split(",") if g.strip()]
        by_lane = False
    else:
        by_lane = True
    if by_lane and task.task_spec.lane and task.task_spec.lane in groups:
        candidates = [groups[task.task_spec.lane]]
    if not assignee and not candidates:
        # Never leave a task with nobody able to see it: administrators pick it up.
        candidates = [FALLBACK_GROUP]
    return assignee, candidates


def _active_user(session: Session, username: str) -> bool:
    return bool(
        session.scalar(select(UserRecord.is_active).where(UserRecord.username == username))
    )


def due_at(
    ctx: EngineContext,
    workflow: BpmnWorkflow,
    task: Task,
    step: HumanStep | None,
    now: datetime,
    problems: list[ExpressionProblem] | None = None,
) -> datetime | None:
    """A user task's due time from its properties: `dueIn` (ISO duration), `dueInWorkdays`
    (n working days: 18:00 local time on the n-th working day after today) or `dueDate`
    (an expression giving an ISO date/datetime; a bare date means 18:00 that day).

    A bad due-date rule must not stop the process: the task is simply not timed, and the
    problem is noted in ``problems`` (a `dueDate` giving None or "" is "no due date")."""
    props = step.properties if step else {}
    noted: list[ExpressionProblem] = problems if problems is not None else []
    fallback = "任务没有截止时间 (the task opened without a due date)"
    tz = ctx.settings.zone
    prop = "dueIn"
    try:
        if props.get("dueIn"):
            parsed = TimerEventDefinition.parse_iso_duration(props["dueIn"])
            return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
        local_now = local(now, tz)
        if props.get("dueInWorkdays"):
            prop = "dueInWorkdays"
            day = ctx.calendar.add_workdays(local_now.date(), int(props["dueInWorkdays"]))
            return _end_of_workday(day, tz)
    except Exception as exc:  # validated at deploy: a calendar/overflow problem
        noted.append(
            ExpressionProblem(prop, props.get(prop, ""), expression_error_text(exc), fallback)
        )
        return None
    expression = props.get("dueDate")
    if not expression:
        return None
    value = _evaluate_property(workflow.script_engine, task, "dueDate", expression, noted,
                               fallback)
    if value is _FAILED or value is None or value == "":
        return None
    try:
        due = _as_due(value, tz)
    except (ValueError, TypeError, OverflowError) as exc:
        due, why = None, expression_error_text(exc)
    else:
        why = f"returned a {type(value).__name__}"
    if due is not None and not in_range(due):  # year 0 in UTC could not even be stored
        due, why = None, f"a year outside {FIRST_YEAR}–{LAST_YEAR}"
    if due is None:
        noted.append(ExpressionProblem(
            "dueDate", expression,
            f"结果不是日期 (not a date or ISO date/datetime text: {why}; value "
            f"{str(value)[:100]!r})",
            fallback,
        ))
    return due


# The projection's name column (human_tasks.name).
MAX_TITLE = 256


def task_title(
    workflow: BpmnWorkflow,
    task: Task,
    step: HumanStep | None,
    problems: list[ExpressionProblem] | None = None,
) -> str:
    """What the task is called in inboxes, on its page, in notifications and in the audit log:
    its element's name, or — with a `titleExpression` — the text the expression gives for this
    task, evaluated once when it opens with the task's own data (each instance of a
    multi-instance task has its own: 嘉宾确认：李记者（科技日报）). An expression that fails or
    gives no text leaves the element's name (a failure is noted in ``problems``)."""
    spec = task.task_spec
    default = spec.bpmn_name or getattr(spec, "bpmn_id", None) or spec.name
    expression = (step.properties if step else {}).get("titleExpression")
    if not expression:
        return default
    noted: list[ExpressionProblem] = problems if problems is not None else []
    fallback = "任务以环节名称显示 (the task shows its step's name)"
    value = _evaluate_property(
        workflow.script_engine, task, "titleExpression", expression, noted, fallback
    )
    if value is _FAILED or value is None or value == "":
        return default
    if not isinstance(value, str):
        noted.append(ExpressionProblem(
            "titleExpression", expression,
            f"结果不是文本 (returned a {type(value).__name__}, not text)", fallback,
        ))
        return default
    return " ".join(value.split())[:MAX_TITLE] or default


def _end_of_workday(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(18, 0), tz)


def _as_due(value: Any, tz: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        return as_aware(value, tz)
    if isinstance(value, date):
        return _end_of_workday(value, tz)
    if isinstance(value, str) and value:
        if len(value) == 10:
            return _end_of_workday(date.fromisoformat(value), tz)
        parsed = datetime.fromisoformat(value)
        return as_aware(parsed, tz)
    return None
