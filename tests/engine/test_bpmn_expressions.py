"""Static checks of the Python inside the BPMN files (conditions, timers, scripts, service
parameters, task properties): it compiles under RestrictedPython and names only what the process
provides (script helpers, form fields, results and variables set earlier)."""

from __future__ import annotations

import ast

import pytest
from RestrictedPython import compile_restricted_eval, compile_restricted_exec

from tests.engine.bpmn_files import INPUT_TYPES, NS, PROCESS_KEYS, load_form, load_xml
from tests.engine.bpmn_scripts import ENGINE_PROVIDED, SAFE_BUILTINS, SCRIPT_GLOBALS


def top_level_keys(form: dict) -> set[str]:
    keys = set()
    for comp in form["components"]:
        if comp["type"] in INPUT_TYPES:
            keys.add(comp["key"])
        elif comp["type"] == "dynamiclist":
            keys.add(comp["path"])
    return keys


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
