"""Parsing a deployed version's files into SpiffWorkflow specs, and the cache of parsed specs.

Parsing costs milliseconds, so each version is parsed once per process and kept by version id.
XML is read with a hardened lxml parser (no DTDs, no entities, no network) before SpiffWorkflow
sees it: uploads come from a web page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.bpmn.parse_errors import parser_error, refuse_dangling_flows
from engine.bpmn.problems import Said, refusal
from engine.errors import InvalidModel
from engine.forms import FormSchema, FormSchemaError, load_form

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
)


@dataclass(frozen=True)
class SourceFile:
    name: str
    kind: str  # bpmn | dmn | form
    content: str


@dataclass(frozen=True)
class HumanStep:
    """What the engine needs to know about a user task (or a start event with a form)."""

    element_id: str
    name: str
    lane: str | None
    form_file: str | None
    properties: Mapping[str, str]
    instructions: str | None


@dataclass
class ParsedModel:
    key: str
    name: str
    bpmn_file: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, FormSchema]
    steps: dict[str, HumanStep]
    start_form: str | None
    lanes: list[str] = field(default_factory=list)

    def form_for(self, element_id: str) -> FormSchema | None:
        step = self.steps.get(element_id)
        if step is None or not step.form_file:
            return None
        return self.forms.get(step.form_file)


def kind_of(filename: str) -> str | None:
    lower = filename.lower()
    for suffix, kind in (
        (".bpmn", "bpmn"),
        (".bpmn20.xml", "bpmn"),
        (".dmn", "dmn"),
        (".form", "form"),
    ):
        if lower.endswith(suffix):
            return kind
    return None


def read_xml(content: str | bytes, filename: str) -> etree._Element:
    """Parse untrusted XML: refuse any DOCTYPE (entity expansion, XXE) outright."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
    )
    try:
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise refusal(filename, Said(
            f"不是格式正确的 XML 文件（第 {line} 行）" if line else "不是格式正确的 XML 文件",
            f"not well-formed XML: {exc}",
        ), "xml_syntax", line=line) from exc
    if root.getroottree().docinfo.doctype:
        raise refusal(filename, Said(
            "文件中不允许有 DOCTYPE 声明", "DOCTYPE declarations are not allowed"
        ), "doctype")
    return root


def read_dmn(f: SourceFile) -> etree._Element:
    root = read_xml(f.content, f.name)
    namespace = root.tag.partition("}")[0].lstrip("{")
    if root.tag.rpartition("}")[2] != "definitions" or namespace not in DMN_NAMESPACES:
        raise refusal(f.name, Said(
            "不是 DMN 1.x 决策表文件", f"not a DMN 1.x file (root is {root.tag})"
        ), "namespace")
    return root


def executable_process_ids(root: etree._Element) -> list[str]:
    return [
        p.get("id")
        for p in root.iter(f"{{{BPMN_NS}}}process")
        if p.get("isExecutable", "false").lower() == "true"
    ]


def _main_process(root: etree._Element, filename: str) -> str:
    """The id of the model's process, after refusing what the engine cannot run."""
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise refusal(filename, Said(
            "不是 BPMN 2.0 流程文件", f"not a BPMN 2.0 file (root is {root.tag})"
        ), "namespace")
    for sub in root.iter(f"{{{BPMN_NS}}}subProcess"):
        if sub.get("triggeredByEvent", "false").lower() == "true":
            # SpiffWorkflow 3.2 creates no task for it and awaits none of its start events:
            # it would deploy and be silently ignored.
            raise refusal(filename, Said(
                "流程引擎暂不支持事件子流程，请改用边界事件",
                "event subprocesses are not supported by the engine; use a boundary event",
            ), "event_subprocess", sub.get("id"), sub.get("name"))
    # Processes that a call activity of the same file calls are part of the model, not models
    # of their own: exactly one executable process is called by nobody, and that is the model.
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    ids = [i for i in executable_process_ids(root) if i not in called]
    if len(ids) != 1:
        raise refusal(filename, Said(
            f"文件中应有且只有一个可执行的主流程（找到 {len(ids)} 个）",
            f"expected exactly one executable process that no call activity calls, "
            f"found {len(ids)}",
        ), "executable_process_count", found=ids)
    return ids[0]


def parse_model(
    bpmn_file: str, files: Mapping[str, SourceFile], validate_xsd: bool = True
) -> ParsedModel:
    """Parse one model: its BPMN file plus the DMN and form files given alongside."""
    bpmn = files[bpmn_file]
    root = read_xml(bpmn.content, bpmn.name)
    key = _main_process(root, bpmn.name)
    if validate_xsd:  # deploying (a stored version loads as it was accepted)
        refuse_dangling_flows(root, bpmn.name)  # before SpiffWorkflow, which says it badly
    parser = SpiffBpmnParser(validator=VALIDATOR if validate_xsd else None)
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename=bpmn.name)
        for f in files.values():
            if f.kind == "dmn":
                parser.add_dmn_xml(read_dmn(f), filename=f.name)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except InvalidModel:
        raise
    except SpiffWorkflowException as exc:
        raise parser_error(bpmn.name, exc, root) from exc
    except Exception as exc:  # lxml / ValueError raised from deep inside the parser
        raise refusal(bpmn.name, Said(
            f"流程引擎无法解析这个模型（{exc}）", f"cannot parse: {exc}"
        ), "parse") from exc

    for process in (spec, *subprocess_specs.values()):
        _wire_loop_children(process)

    forms: dict[str, FormSchema] = {}
    for f in files.values():
        if f.kind == "form":
            try:
                forms[f.name] = load_form(f.content)
            except FormSchemaError as exc:
                raise refusal(f.name, Said(
                    f"表单无效：{exc}", f"invalid form: {exc}"
                ), "form", exc.component) from exc

    steps: dict[str, HumanStep] = {}
    start_form = None
    top_level = {id(t) for t in spec.task_specs.values()}
    for task_spec in _all_task_specs(spec, subprocess_specs):
        is_start = isinstance(task_spec, StartEvent) and task_spec.bpmn_id is not None
        if not isinstance(task_spec, UserTaskMixin) and not is_start:
            continue
        ext: dict[str, Any] = getattr(task_spec, "extensions", {}) or {}
        props: dict[str, str] = dict(ext.get("properties", {}))
        form_file = props.get("formFile")
        if is_start:
            if form_file and id(task_spec) in top_level:
                start_form = form_file
            continue
        steps[task_spec.bpmn_id] = HumanStep(
            element_id=task_spec.bpmn_id,
            name=task_spec.bpmn_name or task_spec.bpmn_id,
            lane=task_spec.lane,
            form_file=form_file,
            properties=props,
            instructions=ext.get("instructionsForEndUser"),
        )
    lanes = sorted({s.lane for s in steps.values() if s.lane})
    return ParsedModel(
        key=key,
        name=spec.description or key,
        bpmn_file=bpmn.name,
        spec=spec,
        subprocess_specs=subprocess_specs,
        forms=forms,
        steps=steps,
        start_form=start_form,
        lanes=lanes,
    )


def _wire_loop_children(process: BpmnProcessSpec) -> None:
    """Connect each loop/multi-instance child spec's `completed_event` to its parent's
    `merge_child`, as SpiffWorkflow's spec deserializer does. The parser leaves it to the parent
    to connect when it creates children at run time, so a process that restores an instance
    whose children someone else created never hears them complete: the parent stays STARTED
    and the instance stalls silently (tests/engine/test_restore_equivalence.py)."""
    for task_spec in list(process.task_specs.values()):
        if isinstance(task_spec, LoopTask):
            child = process.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def _all_task_specs(
    spec: BpmnProcessSpec, subprocess_specs: Mapping[str, BpmnProcessSpec]
) -> list[Any]:
    out = list(spec.task_specs.values())
    for sub in subprocess_specs.values():
        out.extend(sub.task_specs.values())
    return out


def all_task_specs(model: ParsedModel) -> list[Any]:
    return _all_task_specs(model.spec, model.subprocess_specs)


class SpecCache:
    """Parsed models by version id. A version's files never change, so entries never go stale."""

    def __init__(self) -> None:
        self._models: dict[int, ParsedModel] = {}
        self._lock = threading.Lock()

    def get(self, version_id: int, load: Callable[[], ParsedModel]) -> ParsedModel:
        model = self._models.get(version_id)
        if model is not None:
            return model
        with self._lock:
            model = self._models.get(version_id)
            if model is None:
                # Stored versions were validated at deploy; skip the XSD pass on reload.
                model = load()
                self._models[version_id] = model
            return model

    def put(self, version_id: int, model: ParsedModel) -> None:
        with self._lock:
            self._models[version_id] = model
