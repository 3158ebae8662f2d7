"""Keeping long-running instances small: drop finished branches of repeating boundary events.

SpiffWorkflow keeps every task it ever ran. A non-interrupting cycle timer (a weekly report on a
two-year execution task) adds a whole branch per firing, plus a waiting boundary-event join, and
`update_waiting_tasks` walks all of it after every completed task: the state grew by ~3.7 KB and
the weekly loop got slower every week. Planflow keeps the human history in its own tables
(human_tasks rows with the submitted data, audit, documents), so the engine tree does not need old
branches.

`compact` removes, under each non-interrupting boundary event task (the *anchor*):
- finished branches (every task COMPLETED or CANCELLED, no join other than the process end join
  in them), except the newest one, so the last weekly report can still be withdrawn (撤回);
- extra waiting boundary-event joins: each firing adds one; they are all cancelled together when
  the attached activity ends, so one is enough;
- the subprocess workflows (call activities, embedded subprocesses) of removed tasks.

A branch with any other join (parallel/inclusive gateway) is never removed: a join counts and
merges its arrived branches by looking at their tasks in the tree, so a pruned branch would make
it wait forever or lose data.

What removed tasks leave behind is kept per anchor (`residue`): the element ids that completed
(the diagram's passed steps) and the values the branch set (record.data still shows them). A
reset that removes the anchor also removes its residue. A removed task is on no live task's path,
so no 退回 target is lost; a removed weekly report can no longer be withdrawn (撤回), which is
intended: only the newest one may be. One-shot boundary events (an SLA timer) have at most one
branch and are left alone; event subprocesses are not compacted (no model repeats one).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, _EndJoin  # noqa: PLC2701
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# Finished branches kept per anchor (newest first): the last one stays withdrawable.
KEEP_FINISHED = 1
_ATTR = "planflow_residue"
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


def residue(workflow: BpmnWorkflow) -> dict[str, dict[str, Any]]:
    """Anchor task id -> {"at": last change, "passed": [element ids], "data": {values}}."""
    found = getattr(workflow, _ATTR, None)
    if found is None:
        found = {}
        setattr(workflow, _ATTR, found)
    return found


def set_residue(workflow: BpmnWorkflow, value: dict[str, dict[str, Any]]) -> None:
    setattr(workflow, _ATTR, value)


def live_residue(workflow: BpmnWorkflow) -> list[dict[str, Any]]:
    """Residue entries whose anchor is still in the tree (a reset may have removed it)."""
    entries = residue(workflow)
    if not entries:
        return []
    ids = _all_task_ids(workflow)
    return [e for anchor, e in entries.items() if anchor in ids]


def compact(workflow: BpmnWorkflow) -> int:
    """Remove what the instance no longer needs; returns the number of tasks removed."""
    removed = 0
    for wf in [workflow, *list(workflow.subprocesses.values())]:
        if wf is not workflow and wf.parent_task_id not in workflow.subprocesses:
            continue  # deleted together with a branch pruned just now
        anchors = [t for t in wf.tasks.values() if _is_anchor(t)]
        for anchor in anchors:
            removed += _compact_anchor(workflow, wf, anchor)
    if getattr(workflow, _ATTR, None):
        _drop_stale(workflow)
    return removed


def _is_anchor(task: Task) -> bool:
    spec = task.task_spec
    return isinstance(spec, BoundaryEvent) and not spec.cancel_activity and len(task.children) > 1


def _compact_anchor(top: BpmnWorkflow, wf: Any, anchor: Task) -> int:
    children = list(anchor.children)
    branches = [c for c in children if not isinstance(c.task_spec, Join)]
    finished = sorted(
        (b for b in branches if _prunable(b)), key=_branch_time, reverse=True
    )[KEEP_FINISHED:]
    joins = sorted(
        (
            c
            for c in children
            if isinstance(c.task_spec, BoundaryEventJoin)
            and c.state == TaskState.WAITING
            and not c.children
        ),
        key=lambda t: t.last_state_change,
        reverse=True,
    )[1:]
    removed = 0
    for join in joins:
        removed += 1
        _remove(wf, join, anchor)
    if not finished:
        return removed
    entry = residue(top).setdefault(str(anchor.id), {"at": 0.0, "passed": [], "data": {}})
    passed = set(entry["passed"])
    # Oldest first, so a later branch's value of the same variable wins (as in merged_data).
    for branch in sorted(finished, key=_branch_time):
        tasks = list(branch)
        for task in sorted(tasks, key=lambda t: t.last_state_change):
            if task.state == TaskState.COMPLETED:
                _remember(entry, passed, anchor, task)
            if task.id in top.subprocesses:
                passed.update(
                    ident
                    for sub_task in _subprocess_tasks(top, task)
                    if sub_task.state == TaskState.COMPLETED and (ident := _bpmn_id(sub_task))
                )
                top.delete_subprocess(task)
        entry["at"] = max(entry["at"], _branch_time(branch))
        removed += len(tasks)
        _remove(wf, branch, anchor)
    entry["passed"] = sorted(passed)
    return removed


def _prunable(branch: Task) -> bool:
    for task in branch:
        if not task.has_state(_FINISHED):
            return False
        if isinstance(task.task_spec, Join) and not isinstance(task.task_spec, _EndJoin):
            return False
    return True


def _branch_time(branch: Task) -> float:
    return max(t.last_state_change for t in branch)


def _remember(entry: dict[str, Any], passed: set[str], anchor: Task, task: Task) -> None:
    ident = _bpmn_id(task)
    if ident:
        passed.add(ident)
    # Only what the branch changed: the rest is still on the anchor task.
    base = anchor.data
    for key, value in task.data.items():
        if key not in base or base[key] != value:
            entry["data"][key] = value


def _remove(wf: Any, task: Task, anchor: Task) -> None:
    ids = {t.id for t in task}
    if wf.last_task is not None and wf.last_task.id in ids:
        wf.last_task = anchor
    wf._remove_task(task.id)  # noqa: SLF001


def _subprocess_tasks(top: BpmnWorkflow, task: Task) -> list[Task]:
    sub = top.subprocesses[task.id]
    out = list(sub.tasks.values())
    for nested in [s for s in top.subprocesses.values() if s.parent_workflow is sub]:
        out.extend(_subprocess_tasks(top, top.get_task_from_id(nested.parent_task_id)))
    return out


def _bpmn_id(task: Task) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


def _all_task_ids(workflow: BpmnWorkflow) -> set[str]:
    ids = {str(t) for t in workflow.tasks}
    for sub in workflow.subprocesses.values():
        ids.update(str(t) for t in sub.tasks)
    return ids


def _drop_stale(workflow: BpmnWorkflow) -> None:
    entries = residue(workflow)
    ids = _all_task_ids(workflow)
    for anchor in [a for a in entries if a not in ids]:
        del entries[anchor]
