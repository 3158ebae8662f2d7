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

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

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
        from uuid import UUID

        name = dct.pop("spec")
        if name != spec.name:
            raise ValueError(f"state is for process {name!r}, spec given is {spec.name!r}")
        dct.pop("subprocess_specs", None)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
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
        dct: dict[str, Any] = super().to_dict(task)
        if not task.data and task.parent is not None:
            dct["delta"] = {}
        return dct


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
