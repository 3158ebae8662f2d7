"""Checks of the BPMN/DMN/form data in ``bpmn/`` and end-to-end runs with plain SpiffWorkflow.

No Flask and no planflow engine code: the processes are driven with SpiffWorkflow 3.2.0 directly,
a ``TaskDataEnvironment`` providing the helper names the engine promises to scripts, and a script
engine whose ``call_service`` fakes the handlers. Time is moved by patching ``datetime`` inside
SpiffWorkflow's timer module.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree
from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
FORMS_DIR = BPMN_DIR / "forms"
PROCESS_KEYS = ("project_initiation", "product_launch", "brand_promotion")
DMN_FILE = BPMN_DIR / "budget_approval.dmn"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
ROLE_GROUPS = {
    "策划部经理": "planning_manager",
    "策划主管": "planning_supervisor",
    "策划专员": "planning_specialist",
    "需求部门": "requester",
    "财务部": "finance",
    "法务部": "legal",
    "设计部": "design",
    "销售部": "sales",
    "技术部": "tech",
    "公司高层": "executive",
}
FLOW_NODE_TAGS = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "receiveTask",
    "sendTask",
    "manualTask",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "subProcess",
    "callActivity",
}
DOC_TYPES = {
    "project_charter",
    "execution_plan",
    "weekly_report",
    "retrospective_report",
    "event_summary",
    "invitation",
    "brand_effect_report",
    "brand_health_report",
}
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
START = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)  # a Monday


# --------------------------------------------------------------------------------------------
# clock and the helper names promised to scripts
# --------------------------------------------------------------------------------------------
class Clock:
    def __init__(self, value: datetime):
        self.value = value

    def advance(self, **kwargs) -> None:
        self.value += timedelta(**kwargs)


CLOCK = Clock(START)


class FakeDateTime(datetime):
    """Replaces ``datetime`` inside SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz=None):
        value = CLOCK.value
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)


def parse_datetime(value):
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    else:
        result = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if result.tzinfo is None:
        result = result.replace(tzinfo=SHANGHAI)
    return result


def parse_date(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return parse_datetime(value).astimezone(SHANGHAI).date()


def now():
    return CLOCK.value


def today():
    return CLOCK.value.astimezone(SHANGHAI).date()


def is_workday(value):
    return parse_date(value).weekday() < 5


def add_workdays(value, n):
    """As the engine's helper: a date for a date (or date-only text), else an aware Shanghai
    datetime with the same time of day."""
    current = parse_date(value)
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        current += timedelta(days=step)
        if is_workday(current):
            remaining -= 1
    if isinstance(value, date) and not isinstance(value, datetime):
        return current
    if isinstance(value, str) and len(value.strip()) == 10:
        return current
    local = parse_datetime(value).astimezone(SHANGHAI)
    return datetime.combine(current, local.timetz())


SCRIPT_GLOBALS = {
    "datetime": datetime,
    "date": date,
    "timedelta": timedelta,
    "timezone": timezone,
    "parse_datetime": parse_datetime,
    "parse_date": parse_date,
    "now": now,
    "today": today,
    "add_workdays": add_workdays,
    "is_workday": is_workday,
}
SAFE_BUILTINS = {
    "len",
    "min",
    "max",
    "sum",
    "sorted",
    "round",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "range",
    "enumerate",
    "zip",
    "abs",
    "any",
    "all",
    "None",
    "True",
    "False",
}
ENGINE_PROVIDED = {"started_by"}


# --------------------------------------------------------------------------------------------
# fake service handlers
# --------------------------------------------------------------------------------------------
def _fake_generate_document(params, counter):
    doc_type = params["doc_type"]
    assert doc_type in DOC_TYPES, doc_type
    doc_id = f"doc-{next(counter)}"
    return {
        "document_id": doc_id,
        "doc_type": doc_type,
        "title": doc_type,
        "file_name": f"{doc_id}.docx",
        "url": f"/documents/{doc_id}",
    }


def _fake_completion_rate(params, _counter):
    rows = []
    for metric in params["metrics"]:
        rate = round(100.0 * metric["actual"] / metric["target"], 1) if metric["target"] else 100.0
        rows.append(
            {
                "name": metric["name"],
                "target": metric["target"],
                "actual": metric["actual"],
                "rate": rate,
            }
        )
    overall = round(sum(min(r["rate"], 100.0) for r in rows) / len(rows), 1) if rows else 0.0
    return {
        "completion_rate": overall,
        "metrics": rows,
        "met_count": sum(1 for r in rows if r["rate"] >= 100),
        "total_count": len(rows),
    }


def _fake_case_entry(params, counter):
    assert params["title"] and params["project_name"]
    return {"case_id": f"case-{next(counter)}", "title": params["title"]}


def _fake_select_approver(params, _counter):
    # no directory here: nobody is a member of any tier, so the decision table's tier stands
    assert params["group"] in params["tiers"] and isinstance(params["avoid"], dict)
    return params["group"]


def _fake_handover(params, counter):
    leads = params["leads"]
    assert isinstance(leads, list)
    return {
        "handed_over": len(leads),
        "lead_ids": [f"lead-{next(counter)}" for _ in leads],
        "assigned_group": "sales",
    }


def _fake_evaluate(params, _counter):
    targets = params["targets"]
    under = []
    for row in params["channel_metrics"]:
        for metric in ("exposure", "interaction_rate", "search_volume"):
            if row[metric] < targets[metric]:
                under.append(
                    {
                        "channel": row["channel"],
                        "metric": metric,
                        "actual": row[metric],
                        "target": targets[metric],
                    }
                )
    return {
        "needs_optimisation": bool(under),
        "underperforming": under,
        "evaluated_channels": len(params["channel_metrics"]),
    }


def _fake_record_month(params, _counter):
    history = params["history"]
    assert isinstance(history, list) and isinstance(params["evaluation"], dict)
    assert params["period"] and params["label"] and params["quarter"]
    return [*history, {"period": params["period"], "quarter": params["quarter"]}]


FAKE_SERVICES = {
    "generate_document": _fake_generate_document,
    "generate_instance_document": _fake_generate_document,
    "generate_project_document": _fake_generate_document,
    "compute_completion_rate": _fake_completion_rate,
    "add_case_library_entry": _fake_case_entry,
    "handover_leads": _fake_handover,
    "select_budget_approver": _fake_select_approver,
    "evaluate_brand_metrics": _fake_evaluate,
    "record_brand_month": _fake_record_month,
}


class FakeServiceEngine(PythonScriptEngine):
    def __init__(self):
        super().__init__(environment=TaskDataEnvironment(dict(SCRIPT_GLOBALS)))
        self.calls: list[tuple[str, dict, str]] = []
        self._counter = itertools.count(1)

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        self.calls.append((operation_name, params, task.task_spec.bpmn_id))
        return json.dumps(FAKE_SERVICES[operation_name](params, self._counter))

    def docs(self):
        return [
            p["doc_type"]
            for op, p, _ in self.calls
            if op.startswith("generate_") and op.endswith("document")
        ]


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def load_xml(key: str):
    return etree.parse(str(BPMN_DIR / f"{key}.bpmn"))


def load_form(name: str) -> dict:
    return json.loads((FORMS_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parser():
    p = SpiffBpmnParser(validator=VALIDATOR)
    p.add_dmn_file(str(DMN_FILE))
    for key in PROCESS_KEYS:
        p.add_bpmn_file(str(BPMN_DIR / f"{key}.bpmn"))
    return p


@pytest.fixture
def clock(monkeypatch):
    CLOCK.value = START
    monkeypatch.setattr(timer_module, "datetime", FakeDateTime)
    return CLOCK


def extension_properties(node) -> dict:
    return {
        prop.get("name"): prop.get("value")
        for prop in node.xpath(
            "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
            namespaces=NS,
        )
    }


# --------------------------------------------------------------------------------------------
# form helpers
# --------------------------------------------------------------------------------------------
INPUT_TYPES = {
    "textfield",
    "textarea",
    "number",
    "select",
    "radio",
    "checkbox",
    "checklist",
    "taglist",
    "datetime",
}
CHOICE_TYPES = {"select", "radio", "checklist", "taglist"}
ALLOWED_VALIDATE = {
    "textfield": {"required", "minLength", "maxLength", "pattern", "validationType"},
    "textarea": {"required", "minLength", "maxLength"},
    "number": {"required", "min", "max"},
}
KEY_RE = re.compile(r"^\w+(\.\w+)*$", re.ASCII)


def iter_components(components):
    for comp in components:
        yield comp
        if comp.get("type") == "dynamiclist":
            yield from iter_components(comp.get("components", []))


def top_level_keys(form: dict) -> set[str]:
    keys = set()
    for comp in form["components"]:
        if comp["type"] in INPUT_TYPES:
            keys.add(comp["key"])
        elif comp["type"] == "dynamiclist":
            keys.add(comp["path"])
    return keys


def _text_value(comp, n=0):
    pattern = comp.get("validate", {}).get("pattern")
    if pattern and "https?" in pattern:
        return f"https://files.example.com/{comp['key']}/{n}"
    if pattern:
        return f"user{n:02d}"
    min_len = int(comp.get("validate", {}).get("minLength", 0) or 0)
    text = f"{comp.get('label', comp['key'])}内容"
    while len(text) < min_len:
        text += "，补充说明"
    return text


def fill_component(comp, data, n=0):
    typ = comp["type"]
    if typ in ("textfield", "textarea"):
        return _text_value(comp, n)
    if typ == "number":
        v = comp.get("validate", {})
        return max(1, v.get("min", 1)) if "max" not in v else min(max(1, v.get("min", 1)), v["max"])
    if (comp.get("properties") or {}).get("people"):  # a person picker: some username
        return "zhangsan" if typ == "select" else ["zhangsan"]
    if typ in ("select", "radio"):
        values = comp.get("values") or [{"value": v} for v in data.get(comp["valuesKey"], [])]
        return values[n % len(values)]["value"]
    if typ in ("checklist", "taglist"):
        values = comp.get("values") or [{"value": v} for v in data.get(comp["valuesKey"], [])]
        return [values[0]["value"]]
    if typ == "checkbox":
        return True
    if typ == "datetime":
        return (
            today().isoformat() if comp["subtype"] == "date" else now().strftime("%Y-%m-%dT%H:%M")
        )
    raise AssertionError(f"cannot fill {typ}")


def fill_form(form: dict, data: dict, overrides: dict) -> dict:
    """Values for the REQUIRED fields only (optional ones are left out on purpose, so that
    expressions depending on optional fields fail the tests), then the overrides."""
    result = {}
    for comp in form["components"]:
        typ = comp["type"]
        if typ == "dynamiclist":
            if comp["path"] not in overrides:
                row = {}
                for sub in comp["components"]:
                    if sub.get("validate", {}).get("required"):
                        row[sub["key"]] = fill_component(sub, data)
                result[comp["path"]] = [row]
            continue
        if typ not in INPUT_TYPES or comp.get("readonly"):
            continue
        if comp.get("validate", {}).get("required"):
            result[comp["key"]] = fill_component(comp, data)
    result.update(overrides)
    return result


# --------------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------------
class Runner:
    """Drives one workflow; restores it from JSON after every step (as the service will)."""

    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def __init__(self, parser, key, start_overrides, started_by="starter"):
        self.key = key
        self.engine = FakeServiceEngine()
        spec = parser.get_spec(key)
        self.wf = BpmnWorkflow(spec, parser.get_subprocess_specs(key), script_engine=self.engine)
        start_form = load_form(f"{key}_start.form")
        data = fill_form(start_form, {}, start_overrides)
        data["started_by"] = started_by
        self.wf.task_tree.data.update(data)
        self.wf.do_engine_steps()
        self.roundtrip()

    def roundtrip(self):
        state = self.serializer.serialize_json(self.wf)
        self.wf = self.serializer.deserialize_json(state)
        self.wf.script_engine = self.engine

    def ready(self, bpmn_id=None):
        tasks = self.wf.get_tasks(state=TaskState.READY, spec_class=UserTaskMixin)
        if bpmn_id is not None:
            tasks = [t for t in tasks if t.task_spec.bpmn_id == bpmn_id]
        return tasks

    def ready_ids(self):
        return sorted(t.task_spec.bpmn_id for t in self.ready())

    def task(self, bpmn_id):
        tasks = self.ready(bpmn_id)
        assert tasks, f"{bpmn_id} is not ready; ready: {self.ready_ids()}"
        return tasks[0]

    def complete(self, bpmn_id, task=None, **overrides):
        task = task or self.task(bpmn_id)
        form_name = task.task_spec.extensions["properties"]["formFile"]
        data = fill_form(load_form(form_name), task.data, overrides)
        task.data.update(data)
        task.run()
        self.wf.do_engine_steps()
        self.roundtrip()
        return task

    def tick(self, **kwargs):
        CLOCK.advance(**kwargs)
        self.wf.refresh_timers()
        self.wf.do_engine_steps()
        self.roundtrip()

    def message(self, name, payload):
        self.wf.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
        self.wf.do_engine_steps()
        self.roundtrip()

    def waiting_timers(self):
        result = {}
        for task in self.wf.get_tasks(state=TaskState.WAITING):
            event_def = getattr(task.task_spec, "event_definition", None)
            if isinstance(event_def, TimerEventDefinition):
                result.setdefault(task.task_spec.bpmn_id, []).append(
                    task.internal_data.get("event_value")
                )
        return result

    def waiting_messages(self):
        return sorted(
            {e.name for e in self.wf.waiting_events() if e.event_type == "MessageEventDefinition"}
        )

    def assert_json_only(self):
        for task in self.wf.get_tasks():
            json.dumps(task.data)  # raises on dates, sets, objects ...


# --------------------------------------------------------------------------------------------
# static checks
# --------------------------------------------------------------------------------------------
def test_files_parse_with_schema_validation(parser):
    for key in PROCESS_KEYS:
        spec = parser.get_spec(key)
        assert spec.name == key
        process = load_xml(key).find(".//bpmn:process", NS)
        assert process.get("id") == key
        assert process.get("isExecutable") == "true"
    assert "budget_approval" in parser.dmn_parsers


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_collaboration_pool_and_lanes(key):
    doc = load_xml(key)
    participants = doc.findall(".//bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [key]
    lanes = doc.findall(".//bpmn:process/bpmn:laneSet/bpmn:lane", NS)
    names = [lane.get("name") for lane in lanes]
    assert names and set(names) <= set(ROLE_GROUPS), names
    assert len(names) == len(set(names)), "one lane per role"
    process = doc.find(".//bpmn:process", NS)
    nodes = [el.get("id") for el in process if etree.QName(el).localname in FLOW_NODE_TAGS]
    refs = [ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(nodes), "every flow node is in exactly one lane"


def _bounds(shape):
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _inside(inner, outer, tol=0.0):
    return (
        inner[0] >= outer[0] - tol
        and inner[1] >= outer[1] - tol
        and inner[0] + inner[2] <= outer[0] + outer[2] + tol
        and inner[1] + inner[3] <= outer[1] + outer[3] + tol
    )


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_diagram_interchange_is_complete(key):
    doc = load_xml(key)
    process = doc.find(".//bpmn:process", NS)
    shapes = {s.get("bpmnElement"): s for s in doc.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in doc.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    plane = doc.find(".//bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == doc.find(".//bpmn:collaboration", NS).get("id")

    participant = doc.find(".//bpmn:participant", NS).get("id")
    assert participant in shapes
    pool = _bounds(shapes[participant])
    lanes = doc.findall(".//bpmn:lane", NS)
    for lane in lanes:
        assert lane.get("id") in shapes, f"lane {lane.get('id')} has no shape"
        assert _inside(_bounds(shapes[lane.get("id")]), pool)

    nodes = {el.get("id"): el for el in process if etree.QName(el).localname in FLOW_NODE_TAGS}
    for node_id in nodes:
        assert node_id in shapes, f"{node_id} has no BPMNShape"
        assert _inside(_bounds(shapes[node_id]), pool)

    flows = process.findall("bpmn:sequenceFlow", NS)
    for flow in flows:
        fid = flow.get("id")
        assert fid in edges, f"{fid} has no BPMNEdge"
        points = [
            (float(w.get("x")), float(w.get("y"))) for w in edges[fid].findall("di:waypoint", NS)
        ]
        assert len(points) >= 2, fid
        src, tgt = _bounds(shapes[flow.get("sourceRef")]), _bounds(shapes[flow.get("targetRef")])
        assert _inside((*points[0], 0, 0), src, tol=2), f"{fid} does not start at its source"
        assert _inside((*points[-1], 0, 0), tgt, tol=2), f"{fid} does not end at its target"

    hosts = {
        el.get("id"): el.get("attachedToRef") for el in process.findall("bpmn:boundaryEvent", NS)
    }
    for lane in lanes:
        lane_box = _bounds(shapes[lane.get("id")])
        members = [ref.text for ref in lane.findall("bpmn:flowNodeRef", NS)]
        for member in members:
            assert _inside(_bounds(shapes[member]), lane_box), f"{member} outside its lane"
        for a, b in itertools.combinations(members, 2):
            if hosts.get(a) == b or hosts.get(b) == a:
                continue
            assert not _overlap(_bounds(shapes[a]), _bounds(shapes[b])), f"{a} overlaps {b}"


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_references_resolve(key):
    """bpmn.io silently drops references it cannot resolve when it saves a diagram (e.g. a
    loopDataInputRef naming a plain task-data variable), so every reference must be an id."""
    doc = load_xml(key)
    ids = {el.get("id") for el in doc.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in (
            "messageRef",
            "signalRef",
            "attachedToRef",
            "sourceRef",
            "targetRef",
            "default",
            "processRef",
            "bpmnElement",
        ):
            if el.get(attr) is not None:
                assert el.get(attr) in ids, (el.get("id"), attr, el.get(attr))
        if etree.QName(el).localname in ("loopDataInputRef", "loopDataOutputRef", "flowNodeRef"):
            assert el.text in ids, (etree.QName(el).localname, el.text)


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_gateways_have_defaults_and_conditions(key):
    process = load_xml(key).find(".//bpmn:process", NS)
    flows = process.findall("bpmn:sequenceFlow", NS)
    for gateway in process.findall("bpmn:exclusiveGateway", NS):
        outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) < 2:
            continue
        default = gateway.get("default")
        assert default in {f.get("id") for f in outgoing}, f"{gateway.get('id')} needs a default"
        for flow in outgoing:
            if flow.get("id") != default:
                assert flow.find("bpmn:conditionExpression", NS) is not None, flow.get("id")


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_user_tasks_and_start_events_reference_forms(key):
    process = load_xml(key).find(".//bpmn:process", NS)
    for task in process.findall("bpmn:userTask", NS):
        props = extension_properties(task)
        assert "formFile" in props, f"{task.get('id')} has no formFile"
        form = load_form(props["formFile"])
        assert form["type"] == "default" and form["components"]
        instructions = task.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
        assert instructions is not None and instructions.text
    starts = process.findall("bpmn:startEvent", NS)
    assert len(starts) == 1
    assert extension_properties(starts[0])["formFile"] == f"{key}_start.form"


def _all_form_refs():
    refs = set()
    for key in PROCESS_KEYS:
        for prop in load_xml(key).iter(f"{{{NS['spiffworkflow']}}}property"):
            if prop.get("name") == "formFile":
                refs.add(prop.get("value"))
    return refs


def test_every_form_file_is_used():
    files = {p.name for p in FORMS_DIR.glob("*.form")}
    assert files == _all_form_refs()


@pytest.mark.parametrize("name", sorted(p.name for p in FORMS_DIR.glob("*.form")))
def test_form_schema(name):
    form = load_form(name)
    assert form["type"] == "default"
    assert form["id"] and form["schemaVersion"] == 16
    assert isinstance(form["components"], list) and form["components"]
    ids = [c["id"] for c in iter_components(form["components"])]
    assert len(ids) == len(set(ids)), "component ids are unique"
    scopes = [form["components"]] + [
        c["components"] for c in iter_components(form["components"]) if c["type"] == "dynamiclist"
    ]
    for scope in scopes:
        keys = [c["key"] for c in scope if c["type"] in INPUT_TYPES]
        assert len(keys) == len(set(keys)), f"duplicate keys in {name}"
    for comp in iter_components(form["components"]):
        typ = comp["type"]
        if typ == "text":
            assert comp["text"]
            continue
        if typ == "dynamiclist":
            assert KEY_RE.match(comp["path"]) and comp["components"] and comp["isRepeating"]
            continue
        assert typ in INPUT_TYPES, typ
        assert KEY_RE.match(comp["key"]), comp["key"]
        assert comp["key"] not in SCRIPT_GLOBALS and comp["key"] not in SAFE_BUILTINS
        label = comp.get("dateLabel") if typ == "datetime" else comp.get("label")
        assert label and re.search(r"[\u4e00-\u9fff]", label), f"{comp['key']}: zh label"
        validate = comp.get("validate", {})
        if typ in ALLOWED_VALIDATE:
            assert set(validate) <= ALLOWED_VALIDATE[typ], (comp["key"], validate)
        else:
            assert set(validate) <= {"required"}, (comp["key"], validate)
        if typ in CHOICE_TYPES:
            # a person field's options are the people directory (engine/forms/people.py)
            person = (comp.get("properties") or {}).get("people")
            assert comp.get("values") or comp.get("valuesKey") or person, comp["key"]
            for value in comp.get("values", []):
                assert value["label"] and value["value"] not in (None, "")
        if typ == "datetime":
            assert comp["subtype"] in ("date", "datetime")
        if "pattern" in validate:
            re.compile(validate["pattern"])


def _expressions(doc):
    """(kind, where, source) for every piece of Python in a BPMN document."""
    found = []
    for cond in doc.iter(f"{{{NS['bpmn']}}}conditionExpression"):
        found.append(("eval", cond.getparent().get("id"), cond.text))
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        for el in doc.iter(f"{{{NS['bpmn']}}}{tag}"):
            found.append(("eval", el.getparent().getparent().get("id"), el.text))
    for el in doc.iter(f"{{{NS['bpmn']}}}script"):
        found.append(("exec", el.getparent().get("id"), el.text))
    for tag in ("preScript", "postScript"):
        for el in doc.iter(f"{{{NS['spiffworkflow']}}}{tag}"):
            found.append(("exec", el.getparent().getparent().get("id"), el.text))
    for el in doc.iter(f"{{{NS['spiffworkflow']}}}parameter"):
        found.append(("eval", el.get("id"), el.get("value")))
    for el in doc.iter(f"{{{NS['spiffworkflow']}}}property"):
        if el.get("name") in (
            "candidateGroupsExpression", "assignee", "dueDate", "titleExpression"
        ):
            found.append(("eval", el.get("name"), el.get("value")))
    return found


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_expressions_compile_under_restricted_python(key):
    for kind, where, source in _expressions(load_xml(key)):
        assert source and source.strip(), where
        compiler = compile_restricted_eval if kind == "eval" else compile_restricted_exec
        result = compiler(source)
        assert not result.errors, (where, source, result.errors)
        names = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
        assert not any(n.startswith("_") for n in names), (where, names)
        assert "print" not in names and "import" not in source


def _provided_names(doc):
    names = set(SCRIPT_GLOBALS) | SAFE_BUILTINS | ENGINE_PROVIDED | {"approver_group"}
    for prop in doc.iter(f"{{{NS['spiffworkflow']}}}property"):
        if prop.get("name") == "formFile":
            names |= top_level_keys(load_form(prop.get("value")))
    for op in doc.iter(f"{{{NS['spiffworkflow']}}}serviceTaskOperator"):
        names.add(op.get("resultVariable"))
    for el in doc.iter(f"{{{NS['spiffworkflow']}}}messageVariable"):
        names.add(el.text)
    for tag in ("inputDataItem", "outputDataItem"):
        for el in doc.iter(f"{{{NS['bpmn']}}}{tag}"):
            names.add(el.get("name"))
    for tag in ("loopDataOutputRef",):
        for el in doc.iter(f"{{{NS['bpmn']}}}{tag}"):
            names.add(el.text)
    for kind, _where, source in _expressions(doc):
        if kind == "exec":
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_expressions_only_use_names_the_process_provides(key):
    doc = load_xml(key)
    provided = _provided_names(doc)
    for _kind, where, source in _expressions(doc):
        tree = ast.parse(source)
        local = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        for comp in ast.walk(tree):
            if isinstance(comp, ast.comprehension):
                local |= {n.id for n in ast.walk(comp.target) if isinstance(n, ast.Name)}
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - local
        assert used <= provided, (where, used - provided)


# --------------------------------------------------------------------------------------------
# DMN
# --------------------------------------------------------------------------------------------
def test_dmn_structure():
    doc = etree.parse(str(DMN_FILE))
    decision = doc.find(".//dmn:decision", NS)
    assert decision.get("id") == "budget_approval"
    table = decision.find("dmn:decisionTable", NS)
    assert table.get("hitPolicy") == "UNIQUE"
    assert table.find("dmn:input/dmn:inputExpression/dmn:text", NS).text == "budget"
    assert table.find("dmn:output", NS).get("name") == "approver_group"
    assert doc.find(".//{https://www.omg.org/spec/DMN/20191111/DMNDI/}DMNShape") is not None


@pytest.mark.parametrize(
    ("budget", "group"),
    [
        (1, "planning_supervisor"),
        (50000, "planning_supervisor"),
        (50000.01, "planning_manager"),
        (120000, "planning_manager"),
        (200000, "planning_manager"),
        (200001, "executive"),
        (5_000_000, "executive"),
    ],
)
def test_dmn_budget_tiers(parser, budget, group):
    engine = parser.get_engine("budget_approval", None)
    task = type("T", (), {})()
    task.data = {"budget": budget}
    task.workflow = type("W", (), {"script_engine": FakeServiceEngine()})()
    matches = engine.decide(task)
    assert len(matches) == 1, "rules must not overlap (UNIQUE)"
    assert engine.result(task) == {"approver_group": group}


# --------------------------------------------------------------------------------------------
# project_initiation end to end
# --------------------------------------------------------------------------------------------
PROJECT_START = {
    "project_name": "Q3 旺季促销",
    "requirement_source": "business_department",
    "requesting_department": "销售部",
    "a_owner": "zhangsan",
    "b_owner": "lisi",
}


def test_project_initiation_end_to_end(parser, clock):
    run = Runner(parser, "project_initiation", PROJECT_START, started_by="wangwu")
    assert run.ready_ids() == ["Task_external_research", "Task_internal_research"]
    run.complete("Task_internal_research")
    run.complete("Task_external_research")

    # charter: the requesting department sends it back once
    assert (
        run.task("Task_charter_draft").task_spec.extensions["properties"]["assignee"] == "a_owner"
    )
    run.complete("Task_charter_draft", budget=80000)
    assert run.engine.docs() == ["project_charter"]
    assert run.ready_ids() == ["Task_manager_confirm", "Task_requester_confirm"]
    run.complete("Task_manager_confirm")
    run.complete(
        "Task_requester_confirm",
        requester_charter_decision="return",
        requester_charter_return_reason="预算不足以覆盖线下体验",
    )
    draft = run.task("Task_charter_draft")
    assert draft.data["requester_charter_return_reason"] == "预算不足以覆盖线下体验"
    run.complete("Task_charter_draft", budget=120000)
    assert run.engine.docs() == ["project_charter", "project_charter"]
    run.complete("Task_manager_confirm")
    run.complete("Task_requester_confirm")

    # plan: internal review sends it back, then finance rejects in the external review
    run.complete("Task_plan_design", budget=150000)
    run.complete(
        "Task_internal_review",
        internal_review_decision="return",
        internal_review_return_reason="创意不够聚焦",
    )
    run.complete("Task_plan_design", budget=150000)
    run.complete("Task_internal_review")
    assert run.ready_ids() == ["Task_finance_review", "Task_legal_review", "Task_requester_review"]
    run.complete("Task_requester_review")
    run.complete(
        "Task_finance_review",
        finance_review_decision="return",
        finance_review_return_reason="物料预算超支",
    )
    assert run.ready_ids() == ["Task_legal_review"], "all parallel reviewers still decide"
    run.complete("Task_legal_review")
    design = run.task("Task_plan_design")
    assert design.data["finance_review_return_reason"] == "物料预算超支"
    run.complete("Task_plan_design", budget=180000)
    run.complete("Task_internal_review")
    for task_id in ("Task_requester_review", "Task_finance_review", "Task_legal_review"):
        run.complete(task_id)

    # tiered budget approval through the DMN
    approval = run.task("Task_budget_approval")
    assert approval.data["approver_group"] == "planning_manager"
    assert (
        approval.task_spec.extensions["properties"]["candidateGroupsExpression"] == "approver_group"
    )
    assert approval.task_spec.lane == "策划部经理"
    run.complete("Task_budget_approval")
    assert run.engine.docs()[-1] == "execution_plan"

    # execution: weekly cycle timer, risks at any time, extra budget
    assert run.ready_ids() == ["Task_execution_monitoring"]
    assert run.waiting_messages() == ["raise_risk", "request_extra_budget"]
    run.tick(days=6)
    assert run.ready_ids() == ["Task_execution_monitoring"]
    run.tick(days=1, hours=1)
    assert run.ready_ids() == ["Task_execution_monitoring", "Task_weekly_report"]
    run.tick(days=7)
    assert len(run.ready("Task_weekly_report")) == 2
    while run.ready("Task_weekly_report"):
        run.complete("Task_weekly_report")
    assert run.engine.docs().count("weekly_report") == 2

    run.message(
        "raise_risk",
        {"risk_description": "活动当天暴雨", "risk_level": "high", "raised_by": "zhangsan"},
    )
    run.message("raise_risk", {"risk_description": "预售页面故障", "raised_by": "lisi"})
    risks = run.ready("Task_risk_response")
    assert sorted(t.data["risk_description"] for t in risks) == ["活动当天暴雨", "预售页面故障"]
    assert "Task_execution_monitoring" in run.ready_ids(), "a risk does not stop the project"
    assert run.waiting_messages() == ["raise_risk", "request_extra_budget"], "still listening"
    while run.ready("Task_risk_response"):
        task = run.ready("Task_risk_response")[0]
        page_bug = task.data["risk_description"] == "预售页面故障"
        run.complete(
            "Task_risk_response", task=task, tech_support_needed="yes" if page_bug else "no"
        )
    run.complete("Task_tech_support")
    assert run.ready("Task_risk_response") == [] and run.ready("Task_tech_support") == []

    run.message(
        "request_extra_budget",
        {
            "extra_budget_amount": 30000,
            "extra_budget_reason": "加投小红书",
            "requested_by": "zhaoliu",
        },
    )
    request = run.task("Task_extra_budget_request")
    assert request.data["extra_budget_amount"] == 30000
    run.complete("Task_extra_budget_request", extra_budget_amount=30000)
    extra = run.task("Task_extra_budget_approval")
    # judged on the running total 180,000 + 30,000, not on the 30,000 alone
    assert extra.data["budget_running_total"] == 210000
    assert extra.data["approver_group"] == "executive"
    assert extra.data["budget"] == 180000, "project budget restored after the extra DMN"
    run.complete("Task_extra_budget_approval")

    run.tick(days=7)
    assert len(run.ready("Task_weekly_report")) == 1
    run.complete("Task_weekly_report")
    run.complete("Task_execution_monitoring")
    assert run.waiting_timers() == {}, "the weekly cycle stops with execution"
    assert run.waiting_messages() == []
    with pytest.raises(WorkflowException):
        run.wf.send_event(BpmnEvent(MessageEventDefinition("raise_risk"), payload={}))

    # retrospective
    run.complete(
        "Task_retrospective",
        metrics=[
            {"name": "销售额", "target": 1000000, "actual": 1200000, "unit": "元"},
            {"name": "曝光量", "target": 500000, "actual": 400000},
        ],
    )
    ops = [op for op, _p, _t in run.engine.calls]
    assert ops[-2:] == ["compute_completion_rate", "generate_project_document"]
    # the manager signs the retrospective off: once sent back, then confirmed
    assert run.ready_ids() == ["Task_retrospective_signoff"]
    run.complete(
        "Task_retrospective_signoff",
        retrospective_signoff_decision="return",
        retrospective_signoff_return_reason="补充线下体验的参与数据",
    )
    again = run.task("Task_retrospective")
    assert again.data["retrospective_signoff_return_reason"] == "补充线下体验的参与数据"
    run.complete("Task_retrospective", task=again, metrics=again.data["metrics"])
    assert run.task("Task_retrospective_signoff").data["retrospective_signoff_decision"] is None
    run.complete("Task_retrospective_signoff", retrospective_signoff_decision="approve")
    ops = [op for op, _p, _t in run.engine.calls]
    assert ops[-3:] == [
        "compute_completion_rate", "generate_project_document", "add_case_library_entry"
    ]
    case_params = run.engine.calls[-1][1]
    assert case_params["completion_rate"] == 90.0
    assert case_params["project_name"] == "Q3 旺季促销"
    assert run.wf.is_completed()
    assert run.engine.docs().count("retrospective_report") == 2  # one per round
    assert run.wf.data["case_library_entry"]["case_id"].startswith("case-")
    run.assert_json_only()


def test_project_initiation_budget_returned_goes_back_to_plan_design(parser, clock):
    run = Runner(parser, "project_initiation", PROJECT_START)
    run.complete("Task_internal_research")
    run.complete("Task_external_research")
    run.complete("Task_charter_draft", budget=300000)
    run.complete("Task_manager_confirm")
    run.complete("Task_requester_confirm")
    run.complete("Task_plan_design", budget=300000)
    run.complete("Task_internal_review")
    for task_id in ("Task_requester_review", "Task_finance_review", "Task_legal_review"):
        run.complete(task_id)
    assert run.task("Task_budget_approval").data["approver_group"] == "executive"
    run.complete(
        "Task_budget_approval",
        budget_approval_decision="return",
        budget_approval_return_reason="请压缩到20万以内",
    )
    run.complete("Task_plan_design", budget=45000)
    run.complete("Task_internal_review")
    for task_id in ("Task_requester_review", "Task_finance_review", "Task_legal_review"):
        run.complete(task_id)
    assert run.task("Task_budget_approval").data["approver_group"] == "planning_supervisor"


# --------------------------------------------------------------------------------------------
# product_launch end to end
# --------------------------------------------------------------------------------------------
DESIGN_TASKS = ("Task_teaser_poster", "Task_highlight_video", "Task_countdown_poster")


def launch_start(days_ahead):
    event = (START + timedelta(days=days_ahead)).replace(hour=14, minute=0)
    return {
        "event_name": "2025 新品发布会",
        "theme": "科技赋能,重构未来",
        "event_date": event.strftime("%Y-%m-%dT%H:%M"),
        "venue": "上海国际会议中心",
    }


@pytest.mark.parametrize(
    ("days_ahead", "ready_now"),
    [
        (40, ()),
        (10, DESIGN_TASKS[:2]),
        (2, DESIGN_TASKS),
    ],
)
def test_product_launch_communication_rhythm(parser, clock, days_ahead, ready_now):
    run = Runner(parser, "product_launch", launch_start(days_ahead))
    warnings = run.ready("Task_guest_list")[0].data["start_warnings"]
    assert bool(warnings) == bool(ready_now)  # an event too close warns its starter
    design_ready = sorted(i for i in run.ready_ids() if i in DESIGN_TASKS)
    assert design_ready == sorted(ready_now)
    assert {"Task_venue_negotiation", "Task_guest_list"} <= set(run.ready_ids())


def test_product_launch_end_to_end(parser, clock):
    run = Runner(parser, "product_launch", launch_start(10))  # event 2025-03-13 14:00 +08:00
    # 10 days ahead: T-30 and T-15 production is overdue, so it starts at once, and their
    # publication is compressed to 3 working days after the start; T-3 production starts
    # 3 working days before 2025-03-10 14:00.
    assert sorted(run.ready_ids()) == [
        "Task_guest_list",
        "Task_highlight_video",
        "Task_teaser_poster",
        "Task_venue_negotiation",
    ]
    # the starter is warned which steps are compressed (start_warnings, engine.store)
    data = run.task("Task_guest_list").data
    steps = [s["step"] for s in data["compressed_steps"]]
    assert steps == ["T-30 悬念预热海报", "T-15 亮点揭秘视频"]
    assert data["compressed_steps"][0]["publish_deadline"] == "2025-03-06T09:00:00+08:00"
    [warning] = data["start_warnings"]
    assert warning.startswith("活动距今仅 10 天") and "T-3 倒计时" not in warning
    timers = run.waiting_timers()
    assert timers["Event_t3"] == ["2025-03-05T09:00:00+08:00"]
    assert timers["Event_event_day"] == ["2025-03-13T00:00:00+08:00"]
    assert timers["Event_teaser_poster_deadline"] == ["2025-03-06T09:00:00+08:00"]
    assert set(timers) == {
        "Event_t3",
        "Event_event_day",
        "Event_teaser_poster_sla",
        "Event_teaser_poster_deadline",
        "Event_highlight_video_sla",
        "Event_highlight_video_deadline",
    }

    # the 24h design SLA escalates to the supervisor, without cancelling the design task;
    # a delivered design goes to the specialists for publication
    run.complete("Task_teaser_poster")
    assert "Task_teaser_poster_publish" in run.ready_ids()
    run.tick(hours=25)
    assert run.ready_ids().count("Task_highlight_video_escalation") == 1
    assert "Task_teaser_poster_escalation" not in run.ready_ids()
    escalation = run.task("Task_highlight_video_escalation")
    assert escalation.task_spec.lane == "策划主管"
    run.complete("Task_highlight_video_escalation")
    run.complete("Task_highlight_video")
    run.complete("Task_highlight_video_publish", highlight_video_publish_status="published")

    # guests: one invitation document and one confirmation task per guest; the blogger
    # never answers
    guests = [
        {"guest_name": "王总", "organization": "某客户", "guest_type": "client"},
        {"guest_name": "李记者", "organization": "某媒体", "guest_type": "media"},
        {"guest_name": "科技博主", "organization": "", "guest_type": "kol"},
    ]
    run.complete("Task_guest_list", guests=guests)
    assert run.engine.docs() == ["invitation"] * 3
    confirmations = run.ready("Task_guest_confirmation")
    assert sorted(t.data["guest"]["guest_name"] for t in confirmations) == sorted(
        g["guest_name"] for g in guests
    )
    assert all(t.data["guest"]["invitation_doc"]["doc_type"] == "invitation" for t in confirmations)
    for guest_type, status in (("client", "confirmed"), ("media", "declined")):
        # (the blogger does not answer; tasks are re-read after each step's restore)
        ready = run.ready("Task_guest_confirmation")
        [task] = [t for t in ready if t.data["guest"]["guest_type"] == guest_type]
        run.complete("Task_guest_confirmation", task=task, rsvp_status=status)
    run.complete("Task_venue_negotiation")

    # the teaser is still not published on its (compressed) date: escalated
    run.tick(days=2)  # 2025-03-06 10:00
    assert "Task_teaser_poster_publish_escalation" in run.ready_ids()
    run.complete("Task_teaser_poster_publish_escalation")
    run.complete("Task_teaser_poster_publish", teaser_poster_publish_status="published")

    # T-3 production: the countdown poster is designed but never published
    run.tick(days=1, hours=5)  # 2025-03-07 15:00
    assert "Task_countdown_poster_escalation" in run.ready_ids()  # designed 29 h after opening
    run.complete("Task_countdown_poster_escalation")
    run.complete("Task_countdown_poster")
    assert "Task_countdown_poster_publish" in run.ready_ids()

    # event day: the on-site tasks open although a poster and a guest are still open
    run.tick(days=6)  # 2025-03-13 15:00
    ready = run.ready_ids()
    for task_id in (
        "Task_checkin",
        "Task_emergency",
        "Task_livestream",
        "Task_onsite_command",
        "Task_realtime_comms",
    ):
        assert task_id in ready, task_id
    assert "Task_countdown_poster_publish_escalation" in ready  # T-3 passed unpublished
    assert "Task_guest_confirmation" in ready
    for task_id in (
        "Task_checkin",
        "Task_emergency",
        "Task_livestream",
        "Task_onsite_command",
        "Task_realtime_comms",
    ):
        run.complete(task_id)

    # wrap-up due 3 days after the event date (18:00), else escalation; the summary does not
    # wait for the open preparation
    assert "Task_wrap_up" in run.ready_ids()
    assert run.waiting_timers()["Event_wrap_up_sla"] == ["2025-03-16T18:00:00+08:00"]
    run.tick(days=3, hours=4)  # 2025-03-16 19:00
    assert "Task_wrap_up_escalation" in run.ready_ids()
    run.complete("Task_wrap_up_escalation")
    leads = [
        {"customer_name": "甲公司", "contact": "13800000000", "interest_level": "high"},
        {"customer_name": "乙公司", "contact": "13900000000", "interest_level": "medium"},
    ]
    run.complete("Task_wrap_up", leads=leads)
    assert run.engine.docs() == ["invitation"] * 3 + ["event_summary"]
    handover = [p for op, p, _t in run.engine.calls if op == "handover_leads"]
    assert handover == [{"leads": leads, "event_name": "2025 新品发布会"}]
    sales = run.task("Task_sales_followup")
    assert sales.task_spec.lane == "销售部"
    assert sales.data["lead_handover"]["handed_over"] == 2
    run.complete("Task_sales_followup")
    assert not run.wf.is_completed()  # late preparation is still open, not cancelled

    run.complete("Task_countdown_poster_publish_escalation")
    run.complete(
        "Task_countdown_poster_publish",
        countdown_poster_publish_status="cancelled",
        countdown_poster_publish_note="活动已结束，不再发布",
    )
    run.complete("Task_guest_confirmation", rsvp_status="no_response")
    assert run.ready_ids() == []
    assert run.wf.is_completed()
    run.assert_json_only()


# --------------------------------------------------------------------------------------------
# brand_promotion end to end
# --------------------------------------------------------------------------------------------
def test_brand_promotion_monthly_loop(parser, clock):
    start = {
        "brand_positioning": "年轻化科技品牌",
        "target_audience": "Z世代职场新人",
        "annual_theme": "科技潮玩计划",
        "campaign_start": "2025-03-03",
        "campaign_months": 12,
        "channels": ["小红书", "B站", "行业媒体"],
        "target_exposure": 10000,
        "target_interaction_rate": 5,
        "target_search_volume": 1000,
    }
    run = Runner(parser, "brand_promotion", start)
    strategy = run.task("Task_quarterly_strategy")
    form = load_form("quarterly_strategy.form")
    defaults = {c["key"]: c.get("defaultValue") for c in form["components"] if "key" in c}
    assert [defaults[f"q{q}_theme"] for q in range(1, 5)] == [
        "产品体验官",
        "跨界联名",
        "线下快闪",
        "年度盛典",
    ]
    run.complete(
        "Task_quarterly_strategy",
        task=strategy,
        **{f"q{q}_theme": defaults[f"q{q}_theme"] for q in range(1, 5)},
    )
    run.complete(
        "Task_strategy_approval", strategy_decision="return", strategy_return_reason="Q3 预算不足"
    )
    run.complete("Task_quarterly_strategy")
    run.complete("Task_strategy_approval")
    schedule = [
        {"channel": c, "content_type": "短视频", "frequency": "每周2篇"} for c in start["channels"]
    ]
    run.complete("Task_content_plan", placement_schedule=schedule)

    good = {"exposure": 20000, "interaction_rate": 8.5, "search_volume": 3000}
    periods, adjustments, reviews, health_checks = [], 0, [], []
    for month in range(12):
        if run.ready("Task_quarter_review"):  # a new calendar quarter: its strategy revisited
            review = run.task("Task_quarter_review")
            quarter = review.data["report_quarter"]
            assert review.data["quarter_theme"] == review.data[f"q{quarter}_theme"]
            reviews.append((review.data["quarter_label"], quarter))
            run.complete("Task_quarter_review", task=review)
        assert run.ready_ids() == []
        (due,) = run.waiting_timers()["Event_month_end"]
        expected_due = datetime(
            2025 + (3 + month) // 12, (3 + month) % 12 + 1, 1, 9, tzinfo=SHANGHAI
        )
        assert parse_datetime(due) == expected_due
        CLOCK.value = parse_datetime(due) + timedelta(minutes=30)
        run.tick()
        metrics_task = run.task("Task_monthly_metrics")
        periods.append(metrics_task.data["report_period"])
        rows = [dict(good, channel=c) for c in start["channels"]]
        if month == 1:
            rows[0]["interaction_rate"] = 2.0  # 小红书 under target
        run.complete("Task_monthly_metrics", channel_metrics=rows)
        if run.ready("Task_adjust_content"):
            adjustments += 1
            run.complete(
                "Task_adjust_content",
                adjusted_channels=["小红书"],
                new_content_direction="从产品参数转向使用场景",
            )
        if run.ready("Task_brand_health_check"):  # the quarter (or the campaign) ended
            check = run.task("Task_brand_health_check")
            health_checks.append(check.data["quarter_label"])
            run.complete("Task_brand_health_check", task=check)
    assert adjustments == 1
    assert periods[:3] == ["2025-03", "2025-04", "2025-05"] and periods[-1] == "2026-02"
    # by calendar quarter, not by campaign month: March is Q1, April opens Q2
    assert [r[0] for r in reviews] == [
        "2025年第2季度",
        "2025年第3季度",
        "2025年第4季度",
        "2026年第1季度",
    ]
    assert [r[1] for r in reviews] == [2, 3, 4, 1]
    # a 《品牌健康度报告》 after each calendar quarter's last month, and at the campaign's end
    assert health_checks == [
        "2025年第1季度",
        "2025年第2季度",
        "2025年第3季度",
        "2025年第4季度",
        "2026年第1季度",
    ]
    effect, health = ["brand_effect_report"], ["brand_health_report"]
    assert run.engine.docs() == (
        effect + health + effect * 3 + health + effect * 3 + health + effect * 3 + health
        + effect * 2 + health
    )
    evaluations = [p for op, p, _t in run.engine.calls if op == "evaluate_brand_metrics"]
    assert evaluations[0]["targets"] == {
        "exposure": 10000,
        "interaction_rate": 5,
        "search_volume": 1000,
    }
    assert run.ready_ids() == ["Task_annual_summary"]
    run.complete("Task_annual_summary")
    assert run.wf.is_completed()
    assert run.wf.data["month_index"] == 12
    assert [m["period"] for m in run.wf.data["brand_months"]] == periods
    assert [c["quarter"] for c in run.wf.data["health_checks"]] == [
        "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"
    ]
    run.assert_json_only()
