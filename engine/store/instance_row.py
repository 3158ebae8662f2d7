"""The instance row's columns as a save leaves them: its state, data, passed elements, status,
stage and title (a fresh dict of values; `engine.store.versioning.write_checked` writes them)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task

from engine.bpmn.runtime import element_id, merged_data, passed_elements
from engine.bpmn.specs import ParsedModel
from engine.bpmn.tree_scan import TreeScan
from engine.store.audit_log import jsonable
from engine.store.tables import InstanceRecord

if TYPE_CHECKING:
    from engine.context import EngineContext


def row_values(
    ctx: EngineContext,
    record: InstanceRecord,
    workflow: BpmnWorkflow,
    model: ParsedModel,
    tree: TreeScan,
    ready: list[Task],
    has_incident: bool,
    now: datetime,
) -> dict[str, Any]:
    """The instance row's columns as this save leaves them (``tree``: the workflow's scan)."""
    data = jsonable(merged_data(workflow, tree))
    values: dict[str, Any] = {
        "state": ctx.serializer.dumps(workflow),
        "data": data,
        "passed_elements": passed_elements(workflow, tree),
        "updated_at": now,
    }
    if not record.title:
        values["title"] = _title(data, record.id, model)
    if record.status != "terminated":
        values["status"] = status = _status(record, workflow, ready, has_incident)
        if status == "completed" and record.completed_at is None:
            values["completed_at"] = now
    # the steps' names are the department's Chinese: listed with 、 (migration 0012 rewrote ", ")
    stage = "、".join(sorted({t.task_spec.bpmn_name or element_id(t) for t in ready}))
    values["stage"] = stage[:256] or None
    return values


def _status(
    record: InstanceRecord, workflow: BpmnWorkflow, ready: list[Task], has_incident: bool
) -> str:
    if has_incident:
        return "error"
    if workflow.is_completed():
        return "completed"
    if record.suspended:
        return "suspended"
    return "running" if ready else "waiting"


def _title(data: dict[str, Any] | None, instance_id: int, model: ParsedModel) -> str:
    # An event is known by its name (2026 新品发布会), not its theme (issue 14).
    data = data or {}
    for key in ("title", "project_name", "event_name", "event_theme", "theme", "annual_theme"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return f"{model.name} #{instance_id}"
