"""Static checks of the forms in ``bpmn/forms/``: every user task and start event names one, every
form is used, and each keeps to the form-js subset the engine supports (unique ids and keys that
do not shadow script names, Chinese labels, only the validation rules it knows)."""

from __future__ import annotations

import re

import pytest

from tests.engine.bpmn_files import FORMS_DIR, INPUT_TYPES, NS, PROCESS_KEYS, load_form, load_xml
from tests.engine.bpmn_scripts import SAFE_BUILTINS, SCRIPT_GLOBALS

CHOICE_TYPES = {"select", "radio", "checklist", "taglist"}
ALLOWED_VALIDATE = {
    "textfield": {"required", "minLength", "maxLength", "pattern", "validationType"},
    "textarea": {"required", "minLength", "maxLength"},
    "number": {"required", "min", "max"},
}
KEY_RE = re.compile(r"^\w+(\.\w+)*$", re.ASCII)


def extension_properties(node) -> dict:
    return {
        prop.get("name"): prop.get("value")
        for prop in node.xpath(
            "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
            namespaces=NS,
        )
    }


def iter_components(components):
    for comp in components:
        yield comp
        if comp.get("type") == "dynamiclist":
            yield from iter_components(comp.get("components", []))


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
