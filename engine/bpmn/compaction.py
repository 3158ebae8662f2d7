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

Loops (`_compact_loops`): a listener drawn as merge → catch/receive → … → parallel split, one
branch doing the week's (or the risk's) work and the other going back to the merge, makes each
iteration a *child* of the previous one, so none is a finished branch of its own. A loop merge is
an exclusive gateway with more than one incoming flow; merge_i's next iteration is the nearest
descendant of the same spec, merge_{i+1}. Iteration i is merge_i's subtree without
merge_{i+1}'s. A finished iteration (every task COMPLETED or CANCELLED, no join in it but the
process end join, a boundary-event join whose split is in the same iteration, or a one-input
gateway, which only splits) is spliced out: merge_{i+1} takes merge_i's place under merge_i's
parent, the rest goes. Only loops whose way back (merge_i … merge_{i+1}) has no user task: a
send-back loop (方案设计 → 评审 → back) keeps its rounds, they are 退回 targets of what follows.
The newest finished iteration stays (the last weekly report can still be withdrawn); what the
removed ones leave is kept as residue under the chain's surviving merge (re-keyed as the chain
moves on). merge_{i+1} has already run, so its new parent changes nothing it inherited.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, _EndJoin  # noqa: PLC2701
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
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
        removed += _compact_loops(workflow, wf)
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
        _forget(top, entry, passed, anchor, tasks)
        entry["at"] = max(entry["at"], _branch_time(branch))
        removed += len(tasks)
        _remove(wf, branch, anchor)
    entry["passed"] = sorted(passed)
    return removed


def _forget(
    top: BpmnWorkflow, entry: dict[str, Any], passed: set[str], base: Task, tasks: list[Task]
) -> None:
    """Keep what these tasks leave (passed steps, changed values) and delete their called
    processes; the caller removes the tasks."""
    for task in sorted(tasks, key=lambda t: t.last_state_change):
        if task.state == TaskState.COMPLETED:
            _remember(entry, passed, base, task)
        if task.id in top.subprocesses:
            passed.update(
                ident
                for sub_task in _subprocess_tasks(top, task)
                if sub_task.state == TaskState.COMPLETED and (ident := _bpmn_id(sub_task))
            )
            top.delete_subprocess(task)


def _prunable(branch: Task) -> bool:
    for task in branch:
        if not task.has_state(_FINISHED):
            return False
        if isinstance(task.task_spec, Join) and not isinstance(task.task_spec, _EndJoin):
            return False
    return True


def _branch_time(branch: Task) -> float:
    return max(t.last_state_change for t in branch)


def _remember(entry: dict[str, Any], passed: set[str], kept: Task, task: Task) -> None:
    ident = _bpmn_id(task)
    if ident:
        passed.add(ident)
    # Only what the branch changed: the rest is still on the kept task (anchor, next merge).
    base = kept.data
    for key, value in task.data.items():
        if key not in base or base[key] != value:
            entry["data"][key] = value


def _remove(wf: Any, task: Task, anchor: Task) -> None:
    ids = {t.id for t in task}
    if wf.last_task is not None and wf.last_task.id in ids:
        wf.last_task = anchor
    wf._remove_task(task.id)  # noqa: SLF001


# --- loops: merge → … → parallel split → back to the merge ------------------------------------


def _compact_loops(top: BpmnWorkflow, wf: Any) -> int:
    by_spec: dict[str, list[Task]] = {}
    for task in wf.tasks.values():
        spec = task.task_spec
        if isinstance(spec, ExclusiveGateway) and len(spec.inputs) > 1:
            by_spec.setdefault(spec.name, []).append(task)
    removed = 0
    for found in by_spec.values():
        merges = [m for m in found if m.id in wf.tasks]  # not spliced out by another chain
        # Something to remove needs two finished iterations and the merge after them.
        if len(merges) > KEEP_FINISHED + 1:
            removed += _compact_chain(top, wf, merges)
    return removed


def _compact_chain(top: BpmnWorkflow, wf: Any, merges: list[Task]) -> int:
    follower: dict[Any, Task] = {}
    blocked: set[Any] = set()
    for merge in merges:
        way_back = []
        before = merge.parent
        while before is not None and before.task_spec is not merge.task_spec:
            way_back.append(before)
            before = before.parent
        if before is None:
            continue
        if before.id in follower or any(isinstance(t.task_spec, UserTaskMixin) for t in way_back):
            blocked.add(before.id)  # two ways back, or a send-back loop: left alone
        follower[before.id] = merge
    finished = []
    for merge in merges:
        if merge.id in follower and merge.id not in blocked:
            tasks = _iteration(merge, follower[merge.id])
            if _iteration_prunable(tasks):
                finished.append((merge, tasks))
    doomed = sorted(finished, key=lambda it: _tasks_time(it[1]), reverse=True)[KEEP_FINISHED:]
    # Outermost first: each splice moves the next merge up into a place that stays.
    for merge, tasks in sorted(doomed, key=lambda it: _depth(it[0])):
        _splice(top, wf, merge, follower[merge.id], tasks)
    return sum(len(tasks) for _merge, tasks in doomed)


def _iteration(merge: Task, nxt: Task) -> list[Task]:
    out, stack = [], [merge]
    while stack:
        task = stack.pop()
        if task is not nxt:
            out.append(task)
            stack.extend(task.children)
    return out


def _iteration_prunable(tasks: list[Task]) -> bool:
    ids = {t.id for t in tasks}
    for task in tasks:
        if not task.has_state(_FINISHED):
            return False
        spec = task.task_spec
        if not isinstance(spec, Join) or isinstance(spec, _EndJoin) or len(spec.inputs) <= 1:
            continue
        if isinstance(spec, BoundaryEventJoin):
            split = task.find_ancestor(spec.split_task)
            if split is not None and split.id in ids:
                continue  # its split went by in this iteration: it counts nothing any more
        return False  # a join that may still count arrivals from this iteration
    return True


def _tasks_time(tasks: list[Task]) -> float:
    return max(t.last_state_change for t in tasks)


def _depth(task: Task) -> int:
    depth = 0
    while (task := task.parent) is not None:
        depth += 1
    return depth


def _splice(top: BpmnWorkflow, wf: Any, merge: Task, nxt: Task, tasks: list[Task]) -> None:
    """nxt (merge_{i+1}, already run) takes merge's place; merge's iteration goes."""
    entries = residue(top)
    entry = entries.pop(str(merge.id), None) or {"at": 0.0, "passed": [], "data": {}}
    for task in tasks[1:]:  # residue of repeating boundary events inside the iteration
        if (inner := entries.pop(str(task.id), None)) is not None:
            _fold(entry, inner)
    passed = set(entry["passed"])
    _forget(top, entry, passed, nxt, tasks)
    entry["passed"] = sorted(passed)
    entry["at"] = max(entry["at"], _tasks_time(tasks))
    if (later := entries.pop(str(nxt.id), None)) is not None:
        _fold(entry, later)
    entries[str(nxt.id)] = entry
    parent = merge.parent
    old_parent = nxt.parent
    # SpiffWorkflow keeps the tree as ids (task._parent, task._children); its own reset and
    # _remove_task edit them the same way.
    old_parent._children.remove(nxt.id)  # noqa: SLF001
    siblings = parent._children  # noqa: SLF001
    siblings.insert(siblings.index(merge.id) + 1, nxt.id)
    nxt._parent = parent.id  # noqa: SLF001
    if wf.last_task is not None and wf.last_task.id in {t.id for t in tasks}:
        wf.last_task = nxt
    wf._remove_task(merge.id)  # noqa: SLF001


def _fold(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Merge two residue entries; the values of the one that changed last win."""
    if other["at"] >= into["at"]:
        into["data"].update(other["data"])
    else:
        for key, value in other["data"].items():
            into["data"].setdefault(key, value)
    into["passed"] = sorted(set(into["passed"]) | set(other["passed"]))
    into["at"] = max(into["at"], other["at"])


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
