"""One walk over an instance's task tree for everything a save reads from it.

A save needs the ready user tasks, the tasks whose data make up the instance's data and the
elements that have completed. Asked of SpiffWorkflow one by one, that is three `get_tasks`
walks (four with the subprocesses), each through its general-purpose iterator. `scan` visits
every task once, in the order `get_tasks` returns them, and answers all three exactly as those
calls do (`tests/engine/test_tree_scan.py` compares them on every model).
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# The states whose data count as the instance's (`runtime.merged_data`).
LIVE = (
    TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
)


@dataclass(frozen=True)
class TreeScan:
    live: list[Task]  # get_tasks(state=LIVE)
    ready_human: list[Task]  # get_tasks(state=READY, spec_class=UserTaskMixin)
    passed: frozenset[str]  # bpmn ids of get_tasks(state=COMPLETED), every subprocess included


def scan(workflow: BpmnWorkflow) -> TreeScan:
    """Depth first, a subprocess's tree before the children of the task that runs it, as
    SpiffWorkflow's BpmnTaskIterator goes. Its descent rules differ by the states asked for:
    a walk for definite states (live, ready) enters the children of any task from FUTURE up;
    a walk for COMPLETED only those of finished tasks (a started multi-instance parent's
    completed children are not among them). Both always enter subprocesses. `on_path` carries
    the second rule along the first walk. Not replicated: the iterator's 1000-level depth limit
    (compaction keeps trees far shallower; past it the iterator would hide tasks), and a
    subprocess no task of the tree runs (the engine and compaction delete a subprocess with its
    task, so none exists: no save in the test suite met one)."""
    subprocesses = workflow.subprocesses
    live: list[Task] = []
    ready: list[Task] = []
    passed: set[str] = set()
    stack: list[tuple[Task, bool]] = [(workflow.task_tree, True)]
    while stack:
        task, on_path = stack.pop()
        state = task.state
        if state & LIVE:
            live.append(task)
            if state == TaskState.READY and isinstance(task.task_spec, UserTaskMixin):
                ready.append(task)
            elif state == TaskState.COMPLETED and on_path:
                bpmn_id = getattr(task.task_spec, "bpmn_id", None)
                if bpmn_id:
                    passed.add(bpmn_id)
        subprocess = subprocesses.get(task.id)
        if subprocess is None and state < TaskState.FUTURE:
            continue  # predicted: its children are predictions too
        child_on_path = on_path and (state >= TaskState.COMPLETED or subprocess is not None)
        stack.extend((child, child_on_path) for child in reversed(task.children))
        if subprocess is not None:
            # `passed_elements` walked every subprocess from its own root as well
            stack.append((subprocess.task_tree, True))
    return TreeScan(live, ready, frozenset(passed))
