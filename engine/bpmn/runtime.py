"""Running SpiffWorkflow for one instance: the restricted script engine, engine steps,
and reading what the workflow now waits for (human tasks, timers).

Nothing here touches the database; `engine.store.instance_state` persists what this module computes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import compaction
from engine.bpmn.timer_values import timer_value
from engine.bpmn.tree_scan import LIVE, TreeScan, scan
from engine.clock import Clock, engine_time
from engine.sandbox import RestrictedEnvironment, ScriptError

if TYPE_CHECKING:
    from engine.bpmn.specs import ParsedModel

ServiceDispatch = Callable[[Task, str, dict[str, Any]], Any]


class ServiceTaskFailed(Exception):
    """A handler raised; the message is what people see on the incident."""


class PlanflowScriptEngine(PythonScriptEngine):
    """Scripts run in the shared restricted environment; service tasks go to our handlers.
    `call_service` is overridden on the engine, not the environment (library bug, see notes)."""

    def __init__(
        self, environment: RestrictedEnvironment, dispatch: ServiceDispatch, zone: tzinfo
    ) -> None:
        super().__init__(environment=environment)
        self._dispatch = dispatch
        self._zone = zone  # the department's: a timer's time without an offset is read in it

    def evaluate(self, task: Task, expression: str, external_context: Any = None) -> Any:
        value = super().evaluate(task, expression, external_context)
        # A timer's value is read and stored after this, outside the engine's error handling.
        return timer_value(task, expression, value, self._zone)

    def call_service(self, task: Task, **kwargs: Any) -> str:  # type: ignore[override]
        name = kwargs["operation_name"]
        params = {k: v["value"] for k, v in (kwargs.get("operation_params") or {}).items()}
        result = self._dispatch(task, name, params)
        try:
            # Task data must stay storable JSON: no NaN/Infinity from a handler.
            return json.dumps(result, ensure_ascii=False, default=str, allow_nan=False)
        except ValueError as exc:
            raise ServiceTaskFailed(
                f"服务任务 {name} 返回了无法保存的数值 (returned NaN or Infinity): {exc}"
            ) from None


@dataclass
class Incident:
    task_id: str | None
    element_id: str | None
    message: str
    # A failed service call may be retried automatically; a script error may not.
    retryable: bool = False
    # Retries the diagram asks for (`spiffworkflow:retry`), None for the deployment default.
    retry_limit: int | None = None


@dataclass
class WaitingTimer:
    task_id: str
    element_id: str
    kind: str  # timer | cycle
    due_at: datetime


@dataclass
class StepResult:
    incident: Incident | None = None
    fired_timers: list[WaitingTimer] = field(default_factory=list)


def new_workflow(
    model: ParsedModel, engine: PythonScriptEngine, data: dict[str, Any]
) -> BpmnWorkflow:
    workflow = BpmnWorkflow(model.spec, model.subprocess_specs, script_engine=engine)
    # Seed on the root task: tasks inherit from it; workflow.data is not seen by tasks.
    workflow.task_tree.data.update(data)
    return workflow


def run_steps(
    workflow: BpmnWorkflow, clock: Clock, refresh: bool = False, *, compact: bool = True
) -> StepResult:
    """Advance to the next wait state. With `refresh`, first let due timers fire.
    `compact=False` only for measuring SpiffWorkflow without compaction (bench)."""
    result = StepResult()
    _forget_removed_events(workflow)
    try:
        if refresh:
            now = clock.now()
            before = waiting_timers(workflow)
            # SpiffWorkflow fires a timer only when its time is strictly before "now"; we treat
            # "due at" as inclusive (as the timer table does), so look a microsecond ahead.
            with engine_time(_Ahead(clock)):
                _collapse_missed_cycles(workflow, now)
                workflow.refresh_timers()
            after = {t.task_id: t.due_at for t in waiting_timers(workflow)}
            result.fired_timers = [t for t in before if after.get(t.task_id) != t.due_at]
        with engine_time(clock):
            workflow.do_engine_steps()
    except (SpiffWorkflowException, ScriptError, ServiceTaskFailed) as exc:
        result.incident = incident_from(workflow, exc)
    if compact:
        # At every wait state: finished branches of repeating events go (engine.bpmn.compaction).
        compaction.compact(workflow)
    return result


class _Ahead:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now() + timedelta(microseconds=1)


def complete_human_task(
    workflow: BpmnWorkflow, task: Task, data: dict[str, Any], clock: Clock
) -> StepResult:
    with engine_time(clock):
        task.set_data(**data)
        try:
            task.run()
        except (SpiffWorkflowException, ScriptError, ServiceTaskFailed) as exc:
            return StepResult(incident=incident_from(workflow, exc))
    return run_steps(workflow, clock)


def retry_errored(workflow: BpmnWorkflow, clock: Clock) -> StepResult:
    errored = workflow.get_tasks(state=TaskState.ERROR)
    with engine_time(clock):
        for task in errored:
            workflow.reset_from_task_id(task.id)
    return run_steps(workflow, clock)


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, WorkflowException):
        return None


def ready_human_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return workflow.get_tasks(state=TaskState.READY, spec_class=UserTaskMixin)


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    out = []
    for task in _waiting_event_tasks(workflow):
        definition = task.task_spec.event_definition
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(definition, CycleTimerEventDefinition):
            if not isinstance(value, dict) or value.get("cycles") == 0:
                continue
            due = datetime.fromisoformat(value["next"])
            kind = "cycle"
        else:
            if task.internal_data.get("event_fired"):
                continue
            kind = "timer"
            due = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None
        if due is None:
            continue
        out.append(WaitingTimer(str(task.id), _element_id(task), kind, due))
    return out


STALLED = (
    "流程无法继续：没有可办理的任务，也没有等待中的定时器或消息 "
    "(the instance cannot make progress: nothing is ready and nothing waits for a timer or message)"
)


def stall_point(workflow: BpmnWorkflow, tree: TreeScan | None = None) -> Task | None:
    """The task an unfinished instance is stuck at when nothing can move it on: no task is
    ready (or errored, which is an incident already) and no event waits for a timer or a
    message. A join or a multi-instance parent waiting for branches that will never come is
    the typical case. None while the instance can still progress or has finished.
    ``tree``: the workflow's scan, when the caller has one (its live tasks are every task in
    these states, in `get_tasks` order)."""
    if workflow.is_completed():
        return None
    live = (tree or scan(workflow)).live
    if any(t.state & (TaskState.READY | TaskState.ERROR) for t in live):
        return None
    if _waiting_event_tasks(workflow):
        return None
    # A started parent (multi-instance, subprocess) waiting for children that have all ended
    # is where the flow stopped; a join only waits for it. The deepest names the element.
    for state in (TaskState.STARTED, TaskState.WAITING):
        stuck = [t for t in live if t.state == state]
        if stuck:
            return max(stuck, key=lambda t: t.depth)
    return workflow.task_tree


def _waiting_event_tasks(workflow: BpmnWorkflow) -> Iterable[Task]:
    return [
        t
        for t in workflow.event_manager.tasks.values()
        if t.state == TaskState.WAITING and _in_tree(workflow, t)
    ]


def _in_tree(workflow: BpmnWorkflow, task: Task) -> bool:
    wf = task.workflow
    attached = wf is workflow or wf.parent_task_id in workflow.subprocesses
    return attached and task.id in wf.tasks


def _forget_removed_events(workflow: BpmnWorkflow) -> None:
    """SpiffWorkflow 3.2 leaves a waiting event in the event manager when a reset (退回/撤回)
    removes its task from the tree; the next timer refresh then fails on the orphan
    (AttributeError on its missing parent). Drop such orphans."""
    manager = workflow.event_manager
    for task_id, task in list(manager.tasks.items()):
        if not _in_tree(workflow, task):
            del manager.tasks[task_id]


def _collapse_missed_cycles(workflow: BpmnWorkflow, now: datetime) -> None:
    """After downtime a cycle timer would fire once per missed period; fire it once instead and
    keep its schedule (the next firing stays on the original grid)."""
    for task in _waiting_event_tasks(workflow):
        definition = task.task_spec.event_definition
        value = task.internal_data.get("event_value")
        if not isinstance(definition, CycleTimerEventDefinition) or not isinstance(value, dict):
            continue
        if value.get("cycles") == 0 or not value.get("duration"):
            continue
        nxt = datetime.fromisoformat(value["next"])
        period = timedelta(seconds=value["duration"])
        missed = int((now - nxt) / period) if now > nxt else 0
        if missed >= 1:
            value["next"] = (nxt + missed * period).isoformat()
            if value["cycles"] > 0:
                value["cycles"] = max(1, value["cycles"] - missed)


def element_id(task: Task) -> str:
    return _element_id(task)


def _element_id(task: Task) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name


def merged_data(workflow: BpmnWorkflow, tree: TreeScan | None = None) -> dict[str, Any]:
    """The data a person would call 'the instance's data' right now: every variable's latest
    value across all branches (parallel branches keep their own copies until they join).
    Values of branches that compaction removed count as of when their branch finished.
    ``tree``: the workflow's scan, when the caller has one."""
    kept = compaction.live_residue(workflow)
    if workflow.is_completed():
        out: dict[str, Any] = {}
        for entry in sorted(kept, key=lambda e: e["at"]):
            out.update(entry["data"])
        out.update(workflow.data)
        return out
    tasks = (tree or scan(workflow)).live
    layers = [(t.last_state_change, _instance_wide(t)) for t in tasks]
    layers += [(e["at"], e["data"]) for e in kept]
    merged: dict[str, Any] = {}
    for _at, data in sorted(layers, key=lambda layer: layer[0]):
        merged.update(data)
    return merged


def _loop_parent(task: Task) -> MultiInstanceTask | None:
    parent = task.parent
    spec = parent.task_spec if parent is not None else None
    if isinstance(spec, MultiInstanceTask) and spec.task_spec == task.task_spec.name:
        return spec
    return None


def branch_local_names(task: Task) -> frozenset[str]:
    """Variables that belong to one branch only: a multi-instance child's input and output item
    (`guest` of one guest confirmation). They are never instance-wide data."""
    spec = _loop_parent(task)
    if spec is None:
        return frozenset()
    items = (spec.input_item, spec.output_item)
    return frozenset(item.bpmn_id for item in items if item is not None)


def apply_external_changes(workflow: BpmnWorkflow, changes: dict[str, Any]) -> None:
    """Data changed from outside the diagram (`update_data`: API, CLI, pages) becomes the value
    every branch carries. A parallel join merges the data its arrived branches finished with,
    and a multi-instance parent the data of its finished children, so updating only the open
    tasks let a join bring the old value back (the event day three days early). Every task
    that has run or is running gets the new value, finished ones included: the engine tree is
    the instance's working data; what each step submitted stays in audit and the task rows.
    Branch-local names (a multi-instance child's item) are left alone: they are per branch."""
    for task in workflow.get_tasks(state=LIVE):
        local = branch_local_names(task)
        for key, value in changes.items():
            if key not in local:
                task.data[key] = copy.deepcopy(value)  # no shared mutable values between tasks
    for entry in compaction.live_residue(workflow):
        for key, value in changes.items():
            if key in entry["data"]:
                entry["data"][key] = copy.deepcopy(value)


def _instance_wide(task: Task) -> dict[str, Any]:
    """What of a task's data is the instance's. A multi-instance child whose parent collects an
    output item contributes only through that item (SpiffWorkflow merges nothing else back), so
    what its form set (`rsvp_status` of one guest) stays with the child; without an output
    item the child's data is merged into the parent, all but its input item."""
    spec = _loop_parent(task)
    if spec is None:
        return task.data
    if spec.data_output is not None and spec.output_item is not None:
        return {}
    local = branch_local_names(task)
    return {k: v for k, v in task.data.items() if k not in local}


def passed_elements(workflow: BpmnWorkflow, tree: TreeScan | None = None) -> list[str]:
    """Ids of the BPMN elements that have completed at least once (compacted branches too)."""
    ids = set((tree or scan(workflow)).passed)
    for entry in compaction.live_residue(workflow):
        ids.update(entry["passed"])
    return sorted(ids)


def incident_from(workflow: BpmnWorkflow, exc: Exception) -> Incident:
    task = getattr(exc, "task", None)
    if task is None:
        errored = workflow.get_tasks(state=TaskState.ERROR)
        task = errored[0] if errored else None
    message = _describe(exc)
    retryable = any(isinstance(e, ServiceTaskFailed) for e in _chain(exc))
    limit = getattr(task.task_spec, "retries", None) if task is not None else None
    return Incident(
        task_id=str(task.id) if task is not None else None,
        element_id=_element_id(task) if task is not None else None,
        message=message,
        retryable=retryable,
        retry_limit=int(limit) if isinstance(limit, int | str) and str(limit).isdigit() else None,
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "exception", None) or current.__cause__
    return seen


def _describe(exc: BaseException) -> str:
    parts = [str(exc) or exc.__class__.__name__]
    inner = getattr(exc, "exception", None) or exc.__cause__
    if inner is not None and str(inner) and str(inner) not in parts[0]:
        parts.append(f"{inner.__class__.__name__}: {inner}")
    notes = getattr(exc, "__notes__", None) or []
    parts.extend(n for n in notes if n not in parts)
    return " — ".join(parts)[:4000]
