"""Workflow state <-> JSON, without the spec.

The stock serializer embeds the whole process spec in every instance. We write only the spec's
name and restore it from the cache of parsed specs for the instance's version: about half the
bytes and nearly twice the save/restore throughput (see shared notes). The format carries
SpiffWorkflow's serializer version so its migrations still apply, plus our own marker.

Format 2 adds `planflow_residue`: what `engine.bpmn.compaction` kept of the branches it removed.
A state without it is written as format 1 (it is exactly that), so older readers reject only
the states they could not restore correctly; both formats load.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task, TaskState
from SpiffWorkflow.util.deep_merge import DeepMerge

from engine.bpmn import compaction
from engine.errors import InvalidInput

FORMAT_1 = "planflow-state/1"
FORMAT = "planflow-state/2"
READABLE = (FORMAT_1, FORMAT)


class _SpecByNameConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["spec"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        kept = compaction.residue(workflow)
        if kept:
            dct["planflow_residue"] = self.registry.convert(kept)
        return dct

    def from_dict(  # type: ignore[override]
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec,
        subprocess_specs: dict[str, BpmnProcessSpec],
    ) -> BpmnWorkflow:
        name = dct.pop("spec")
        if name != spec.name:
            raise ValueError(f"state is for process {name!r}, spec given is {spec.name!r}")
        dct.pop("subprocess_specs", None)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        # Each task id is written 3-4 times (key, id, its parent's children, its children's
        # parent); parse it once (UUID() was the largest single cost of a restore).
        ids = {key: UUID(key) for key in dct["tasks"]}
        workflow.tasks = {
            ids[key]: self.registry.restore(task, workflow=workflow, uuids=ids)
            for key, task in dct["tasks"].items()
        }
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        compaction.set_residue(workflow, self.registry.restore(dct.pop("planflow_residue", {})))
        return workflow


class _EmptyDataTaskConverter(TaskConverter):
    """Predicted tasks (FUTURE, MAYBE) have no data yet; the stock delta then lists every key of
    the parent as deleted (~1 KB each in project_initiation, a quarter of a fresh state). Write
    them as plain empty data: the stock loader reads an empty delta exactly that way."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        if task.data or task.parent is None:
            dct: dict[str, Any] = super().to_dict(task)
            return dct
        # The stock to_dict's fields, without computing the delta we would throw away.
        return {
            "id": str(task.id),
            "parent": str(task._parent),  # noqa: SLF001
            "children": [str(child) for child in task._children],  # noqa: SLF001
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": {},
            "delta": {},
        }

    def from_dict(  # type: ignore[override]
        self, dct: dict[str, Any], workflow: Any, uuids: dict[str, UUID] | None = None
    ) -> Task:
        """The stock from_dict (SpiffWorkflow 3.x), taking parsed ids from `uuids` (the
        workflow's task ids, parsed once by `_SpecByNameConverter.from_dict`) when given."""
        if uuids is None:  # a subprocess's tasks: the stock path
            return super().from_dict(dct, workflow)  # type: ignore[no-any-return]

        def parse(text: str) -> UUID:
            known = uuids.get(text)
            return known if known is not None else UUID(text)

        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=parse(dct["id"]))
        task._parent = parse(dct["parent"]) if dct["parent"] is not None else None  # noqa: SLF001
        task._children = [parse(child) for child in dct["children"]]  # noqa: SLF001
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


def _registry() -> Any:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpecByNameConverter
    config[Task] = _EmptyDataTaskConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Scripts may leave `date` values (e.g. add_workdays on a date); the stock registry knows
    # datetime but not date.
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]))
    return registry


# In the ASCII text `json.dumps` writes, every non-ASCII character is a \uXXXX escape. Removing,
# left to right, the escaped backslashes (so a literal "\ud800" someone typed is never taken for
# an escape) and the surrogate pairs (emoji) leaves a "\ud..." only where a surrogate stands
# alone: not Unicode, so not storable as UTF-8, and unreadable once stored.
_PAIRS_AND_BACKSLASHES = re.compile(r"\\(?:\\|ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2})")


def check_state_text(text: str) -> None:
    """The state is valid JSON that any reader can store and show again: no lone surrogate
    (NaN/Infinity are refused while encoding). Cheap: one substring search in the common case
    (no emoji); a C-level substitution otherwise."""
    if "\\ud" in text and "\\ud" in _PAIRS_AND_BACKSLASHES.sub("", text):
        raise InvalidInput(
            "流程数据含有无效的 Unicode 字符（孤立代理项），未保存 "
            "(process data holds invalid Unicode (a lone surrogate); not saved)",
            {"problem": "not_unicode"},
        )


class StateSerializer:
    """One registry, chosen once: the wrong registry restores silently with the wrong classes."""

    def __init__(self) -> None:
        self._serializer = BpmnWorkflowSerializer(_registry())

    def dumps(self, workflow: BpmnWorkflow) -> str:
        """The state as JSON text; InvalidInput (nothing is written: the caller's transaction
        rolls back) if the workflow's data cannot be stored as valid JSON: a NaN/Infinity or a
        lone surrogate, whatever put it there (the edge refuses both in requests, but a script
        can compute them). `BpmnWorkflowSerializer.serialize_json`, with `allow_nan=False`."""
        serializer = self._serializer
        # serialize_json's own steps, to pass allow_nan=False (it takes no json arguments)
        serializer.registry._encoder_mode = True  # noqa: SLF001
        try:
            dct = serializer.to_dict(workflow)
            dct[serializer.VERSION_KEY] = serializer.VERSION
            text = json.dumps(dct, cls=serializer._encoder_cls, allow_nan=False)  # noqa: SLF001
        except ValueError as exc:
            if "JSON compliant" not in str(exc):
                raise
            raise InvalidInput(
                "流程数据含有 NaN 或无穷大，未保存 (process data holds NaN or Infinity; not saved)",
                {"problem": "not_finite"},
            ) from None
        finally:
            serializer.registry._encoder_mode = False  # noqa: SLF001
        check_state_text(text)
        fmt = FORMAT if compaction.residue(workflow) else FORMAT_1
        # serialize_json adds the library's version; add ours without re-encoding the whole dict.
        return '{"planflow_format":"' + fmt + '",' + text[1:]

    def loads(
        self,
        state: str,
        spec: BpmnProcessSpec,
        subprocess_specs: dict[str, BpmnProcessSpec],
    ) -> BpmnWorkflow:
        dct = json.loads(state)
        fmt = dct.pop("planflow_format", None)
        if fmt not in READABLE:
            raise ValueError(f"unknown state format {fmt!r}")
        self._serializer.migrate(dct)
        return self._serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
