"""The harness that runs the models of ``bpmn/`` end to end with plain SpiffWorkflow 3.2.0: no
Flask and no planflow engine code. A `Runner` starts a process, fills each user task's form with
its required fields (plus the test's values) and restores the workflow from JSON after every step,
as the service does; scripts get the environment of `tests.engine.bpmn_scripts`."""

from __future__ import annotations

import json

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from tests.engine.bpmn_files import BPMN_DIR, DMN_FILE, INPUT_TYPES, PROCESS_KEYS, load_form
from tests.engine.bpmn_scripts import CLOCK, FakeServiceEngine, now, today


def make_parser() -> SpiffBpmnParser:
    """A parser holding the three processes and the budget DMN, schema-validated (for a
    module-scoped `parser` fixture)."""
    p = SpiffBpmnParser(validator=VALIDATOR)
    p.add_dmn_file(str(DMN_FILE))
    for key in PROCESS_KEYS:
        p.add_bpmn_file(str(BPMN_DIR / f"{key}.bpmn"))
    return p


# --------------------------------------------------------------------------------------------
# form helpers
# --------------------------------------------------------------------------------------------
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
