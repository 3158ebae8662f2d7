"""What a timer's expression must give: a time SpiffWorkflow can read and planflow can store.

SpiffWorkflow evaluates a timer's expression through the script engine and parses the value
afterwards, outside any error handling of its own. A value it cannot read ('next week', a
duration where a date belongs) or a time outside the years planflow takes (year 1 at +08:00 is
year 0 in UTC, which no column can hold) raised a bare ValueError, TypeError or OverflowError
out of the engine: a 500 on the start or completion that reached the timer. The script engine
checks the value where it is produced (`timer_value`), so a bad one becomes an incident at the
timer's element, like any other failing expression.

SpiffWorkflow also reads a time without an offset in the server's own zone, fixed when it is
imported: on a UTC server a timer on a date-and-time field's value ("2027-03-01T09:00") fired at
17:00 in Shanghai. `timer_value` gives such a time the department's zone first
(`engine.wall_clock.as_aware`, the rule for every time people type).
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.task import Task

from engine.time_range import FIRST_YEAR, LAST_YEAR, in_range
from engine.wall_clock import as_aware


def timer_value(task: Task, expression: str, value: Any, zone: tzinfo) -> Any:
    """What the engine goes on with after ``expression`` gave ``value`` at ``task``: for the
    task's own timer, the value with its times in ``zone`` (`with_zone`), or a
    WorkflowTaskException at the task if it is no usable time; any other value as it is."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition) or expression != definition.expression:
        return value
    if isinstance(value, str):
        value = with_zone(definition, value, zone)
    why = value_problem(definition, value)
    if why is not None:
        raise WorkflowTaskException(
            f"计时器的值不是可用的时间 (the timer's value is not a usable time: {why}): "
            f"{value!r:.200}",
            task=task,
        )
    return value


def with_zone(definition: TimerEventDefinition, value: str, zone: tzinfo) -> str:
    """``value`` with each time in it that has no offset given ``zone`` (a date is its
    midnight); durations, times with an offset and text that is no time stay as they are."""
    if isinstance(definition, DurationTimerEventDefinition):
        return value
    if isinstance(definition, CycleTimerEventDefinition):
        # R[n]/start/duration, R[n]/duration/end or R[n]/duration ("--" also separates).
        first, *rest = value.replace("--", "/").split("/")
        zoned = [_time_with_zone(part, zone) for part in rest]
        return "/".join([first, *zoned]) if zoned != rest else value
    return _time_with_zone(value, zone)


def _time_with_zone(text: str, zone: tzinfo) -> str:
    stripped = text.strip()
    if stripped.upper().startswith("P"):  # a duration
        return text
    try:
        parsed = datetime.fromisoformat(stripped)  # also week dates ("2027-W09-1T09:00")
    except ValueError:
        return text  # value_problem says what is wrong with it
    return text if parsed.tzinfo is not None else as_aware(parsed, zone).isoformat()


def literal_problem(definition: TimerEventDefinition) -> str | None:
    """For a timer whose expression is a constant ('P3D'): why its value is no usable time, or
    None (also for an expression that is not a constant: only running it tells)."""
    try:
        value = ast.literal_eval(definition.expression)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = _unquoted_date(definition.expression)
        if value is None:
            return None
        why = value_problem(definition, value)
        return f"{why} — 是否漏了引号？(quotes missing?)" if why else None
    return value_problem(definition, value)


def _unquoted_date(expression: str) -> int | None:
    """What a date typed without quotes computes to (`2027-03-01` is 2023, `0000-00-00` is 0):
    the value of an expression made of integers, + and - only, else None."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None

    def value(node: ast.AST) -> int | None:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = value(node.operand)
            return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            left, right = value(node.left), value(node.right)
            if left is None or right is None:
                return None
            return left + right if isinstance(node.op, ast.Add) else left - right
        return None

    if not isinstance(tree.body, ast.BinOp):
        return None
    try:
        return value(tree.body)
    except RecursionError:  # thousands of terms: not a date anyone typed
        return None


def value_problem(definition: TimerEventDefinition, value: Any) -> str | None:
    """Why ``value`` is no usable time for ``definition``, or None."""
    try:
        times = _times(definition, value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    if not all(in_range(t) for t in times):
        return f"a year outside {FIRST_YEAR}–{LAST_YEAR}"
    return None


def _times(definition: TimerEventDefinition, value: Any) -> list[datetime]:
    """The times SpiffWorkflow will compute from ``value``, computed the way it does."""
    if not isinstance(value, str):
        raise TypeError(f"a timer's value is ISO 8601 text, not {type(value).__name__}")
    if isinstance(definition, CycleTimerEventDefinition):
        _cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
        return [start, start + duration]
    if isinstance(definition, DurationTimerEventDefinition):
        parsed = TimerEventDefinition.parse_iso_duration(value)
        # SpiffWorkflow's own clock (engine.clock.engine_time sets it to the engine's)
        now = spiff_timer.datetime.now(UTC)
        return [now + TimerEventDefinition.get_timedelta_from_start(parsed, now)]
    due = TimerEventDefinition.parse_time_or_duration(value)
    if not isinstance(due, datetime):  # a duration in a timeDate: SpiffWorkflow cannot use it
        raise TypeError("a timeDate timer needs a date and time, not a duration")
    return [due]
