"""Going back in a running workflow (退回 return, 撤回 withdraw) — pure SpiffWorkflow, no database.

SpiffWorkflow keeps a task *tree*: a parallel split gives each branch its own subtree, and a
parallel join exists once per arriving branch — the join task of the branch that arrived last
fires (COMPLETED, the continuation hangs below it), the others are CANCELLED.
`workflow.reset_from_task_id(t)` drops t's subtree and makes t runnable again. That is exactly
right inside one branch (the other branch is a different subtree and is left alone), but not
across a join that fired in *another* branch: the continuation is not in t's subtree and would
stay open while t's branch is redone (verified with SpiffWorkflow 3.2.0; the library only cleans
it up once the branch re-arrives at the join, leaving two live paths in between).

So before resetting we "unfire" such joins: the fired join task goes back to CANCELLED and its
subtree (the continuation) is dropped. When the redone branch reaches the join again, the join
sees every other branch's last task still COMPLETED and fires once; data of the untouched
branches is merged in as usual.

Return targets are the completed user tasks on the path that led to the current task: its
ancestors in the tree plus, across every join on the way, the branches that were merged there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.runtime import element_id


def is_user_task(task: Task) -> bool:
    return isinstance(task.task_spec, UserTaskMixin)


def _is_join(task: Task) -> bool:
    return isinstance(task.task_spec, Join)


def _is_instance_of_multi(task: Task) -> bool:
    parent = task.parent
    return parent is not None and parent.task_spec.__class__.__name__.endswith("MultiInstanceTask")


def _same_round(fired: Task, other: Task) -> bool:
    """Both join tasks belong to the same pass through the split (not an earlier loop)."""
    ancestors = set()
    t: Task | None = other
    while t is not None:
        ancestors.add(t.id)
        t = t.parent
    t = fired.parent
    while t is not None and t.id not in ancestors:
        if t.task_spec is fired.task_spec:
            return False
        t = t.parent
    return t is not None


class SpecIndex:
    """`workflow.get_tasks(spec_name=…)` from one walk of each (sub)workflow's tree: planning
    asks it for every join on a path and every cancelled join in a target's subtree, each
    question a walk of the whole tree (a project's task page lists about ten targets: 80 % of
    its CPU went to those walks). Valid while the tree does not change: for planning only."""

    def __init__(self) -> None:
        self._walked: dict[int, tuple[object, dict[str, list[Task]]]] = {}

    def tasks(self, workflow: object, spec_name: str) -> list[Task]:
        walked = self._walked.get(id(workflow))
        if walked is None:
            by_name: dict[str, list[Task]] = {}
            # the walk get_tasks(spec_name=…) makes (the same filter state, order kept)
            for t in workflow.get_tasks():  # type: ignore[attr-defined]
                by_name.setdefault(t.task_spec.name, []).append(t)
            # the workflow is kept with its tasks so that its id cannot be reused meanwhile
            walked = self._walked[id(workflow)] = (workflow, by_name)
        return walked[1].get(spec_name, [])


def predecessors(task: Task, index: SpecIndex | None = None) -> list[Task]:
    """Completed user tasks on the path that led to `task` (same (sub)process), most recent
    instance of each element, newest first; `task`'s own element excluded. ``index``: one
    shared by the caller's other plans of the same, unchanged tree."""
    index = index or SpecIndex()
    found: dict[str, Task] = {}
    seen: set[uuid.UUID] = set()
    stack = [task]
    while stack:
        current = stack.pop()
        a = current.parent
        while a is not None and a.id not in seen:
            seen.add(a.id)
            if is_user_task(a) and a.state == TaskState.COMPLETED and not _is_instance_of_multi(a):
                key = element_id(a)
                if key not in found or found[key].last_state_change < a.last_state_change:
                    found[key] = a
            if _is_join(a) and a.state == TaskState.COMPLETED:
                for other in index.tasks(a.workflow, a.task_spec.name):
                    if (
                        other is not a
                        and other.state == TaskState.CANCELLED
                        and other.parent is not None
                        and other.parent.state == TaskState.COMPLETED
                        and not a.is_descendant_of(other)
                        and _same_round(a, other)
                    ):
                        stack.append(other)
            a = a.parent
    found.pop(element_id(task), None)
    return sorted(found.values(), key=lambda t: t.last_state_change, reverse=True)


@dataclass
class RewindPlan:
    target: Task
    unfire: list[Task] = field(default_factory=list)
    # Every task that goes away or is redone: the target's subtree and the unfired joins'
    # continuations (target included).
    region: list[Task] = field(default_factory=list)

    def user_tasks(self, states: int) -> list[Task]:
        return [
            t
            for t in self.region
            if t is not self.target and is_user_task(t) and t.has_state(states)
        ]


def plan(workflow: BpmnWorkflow, target: Task, index: SpecIndex | None = None) -> RewindPlan:
    """What rewinding to ``target`` would unfire and drop (``index``: as for `predecessors`)."""
    index = index or SpecIndex()
    result = RewindPlan(target)
    queue = list(target)  # the subtree, target first
    region = {t.id for t in queue}
    i = 0
    while i < len(queue):
        t = queue[i]
        i += 1
        if not (
            _is_join(t)
            and t.state == TaskState.CANCELLED
            and t.parent is not None
            and t.parent.state == TaskState.COMPLETED
        ):
            continue
        for fired in index.tasks(t.workflow, t.task_spec.name):
            if (
                fired.id in region
                or fired.state != TaskState.COMPLETED
                or not fired.children
                or t.is_descendant_of(fired)
                or not _same_round(fired, t)
            ):
                continue
            result.unfire.append(fired)
            for d in list(fired)[1:]:
                if d.id not in region:
                    region.add(d.id)
                    queue.append(d)
    result.region = queue
    return result


def rewind(workflow: BpmnWorkflow, rewind_plan: RewindPlan) -> str:
    """Apply the plan: unfire joins, reset to the target, and give the target a new id (its old
    id names the completed projection row, which stays as history). Returns the new id."""
    for fired in rewind_plan.unfire:
        for d in list(fired)[1:]:
            if d.id in workflow.subprocesses:
                workflow.delete_subprocess(d)
        # SpiffWorkflow has no public way to un-fire a join or re-key a task: its own reset
        # (`reset_from_task_id`) uses these same private members.
        fired._drop_children(force=True)  # noqa: SLF001
        fired._set_state(TaskState.CANCELLED)  # noqa: SLF001
    target = rewind_plan.target
    workflow.reset_from_task_id(target.id)
    return renew_id(target)


def renew_id(task: Task) -> str:
    wf = task.workflow
    old, new = task.id, uuid.uuid4()
    # Keep the task's place in `workflow.tasks`: the serializer stores each task's data as a
    # delta against its parent and restores tasks in this order, so a parent must stay before
    # its children (moving it to the end silently loses the children's data on restore).
    items = list(wf.tasks.items())
    wf.tasks.clear()
    for key, value in items:
        wf.tasks[new if key == old else key] = value
    task.id = new
    parent = task.parent
    if parent is not None:
        parent._children = [new if c == old else c for c in parent._children]  # noqa: SLF001
    for child_id in task._children:  # noqa: SLF001
        child = wf.tasks.get(child_id)
        if child is not None:
            child._parent = new  # noqa: SLF001
    return str(new)
