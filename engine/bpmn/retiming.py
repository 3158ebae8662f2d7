"""Date-relative timers follow their date.

SpiffWorkflow evaluates a timer's expression once, when the timer starts waiting. When data it
depends on changes later (the launch moves from 1 March to 15 March), we give the waiting timer
the new values and evaluate its expression again. Steps that already ran are not touched; a
timer moved into the past fires on the next refresh.

A new value the timer cannot use (a date that is no date, a time outside the years planflow
takes) is refused as bad input naming the changed field: the change is not applied, rather than
applied and leaving the instance in error at the timer.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.runtime import element_id
from engine.clock import Clock, engine_time
from engine.errors import InvalidInput


@dataclass(frozen=True)
class Rescheduled:
    task_id: str
    element_id: str
    old_due: str | None
    new_due: str


@lru_cache(maxsize=1024)
def names_in(expression: str) -> frozenset[str]:
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return frozenset()
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def follow_data(
    workflow: BpmnWorkflow, changes: Mapping[str, Any], clock: Clock
) -> list[Rescheduled]:
    """Re-evaluate every waiting date timer whose expression reads a changed variable."""
    out: list[Rescheduled] = []
    with engine_time(clock):
        for task in list(workflow.event_manager.tasks.values()):
            definition = getattr(task.task_spec, "event_definition", None)
            if task.state != TaskState.WAITING or not isinstance(definition, TimerEventDefinition):
                continue
            # Durations count from when they started and cycles keep their grid: only dates move.
            if isinstance(definition, CycleTimerEventDefinition | DurationTimerEventDefinition):
                continue
            relevant = {k: v for k, v in changes.items() if k in names_in(definition.expression)}
            if not relevant or all(task.data.get(k) == v for k, v in relevant.items()):
                continue
            old = task.internal_data.get("event_value")
            task.data.update(relevant)
            try:
                new = workflow.script_engine.evaluate(task, definition.expression)
            except Exception as exc:  # any failure of the expression on the new values
                raise refused(task, relevant, exc) from exc
            task.internal_data["event_value"] = new
            task.internal_data.pop("event_fired", None)
            out.append(Rescheduled(str(task.id), element_id(task), old, str(new)))
    return out


def refused(task: Any, relevant: Mapping[str, Any], exc: Exception) -> InvalidInput:
    """The refusal of a change the timer at ``task`` cannot use, naming the changed field."""
    key = next(iter(relevant))
    field = f"data.{key}" if key.isidentifier() else f"data[{json.dumps(key[:60])}]"
    name = task.task_spec.bpmn_name or element_id(task)
    why = str(exc).split("\n", 1)[0][:300]
    return InvalidInput(
        f"计时器「{name}」无法使用这个新值 "
        f"(field {field}: the timer {element_id(task)!r} cannot use the new value: {why})",
        {"field": field, "problem": "timer_value", "element_id": element_id(task)},
    )
