"""The FEEL subset of form expressions is bounded (issue 12): oversized or too-deep expressions
are refused by ``load_form`` at deploy, and evaluating one at completion never raises (a form
stored before the bounds, or an evaluator bug): the documented safe reading applies instead
(condition → visible, readonly/disabled → locked, FEEL limit → skipped)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from engine.forms import FormSchema, FormSchemaError, feel, load_form, validate_submission
from engine.forms.feel import (
    MAX_FEEL_CHARS,
    MAX_FEEL_DEPTH,
    MAX_FEEL_OPERATORS,
    feel_bounds_problem,
    feel_hides,
    feel_value,
)

DEEP = "(" * 3000 + "amount > 1" + ")" * 3000
LONG = " and ".join(["amount > 1"] * 5000)


def form(extra: dict[str, Any]) -> dict[str, Any]:
    return {"type": "default", "components": [
        {"type": "textfield", "id": "c1", "key": "note", "validate": {"required": True}, **extra}
    ]}


def unchecked(raw: dict[str, Any]) -> FormSchema:
    """A form as stored before the bounds existed (load_form would refuse it now)."""
    loaded = load_form(json.dumps(form({})))
    node = dataclasses.replace(loaded.tree[0], comp=raw["components"][0])
    return FormSchema(raw=raw, fields=loaded.fields, tree=(node,))


def test_bounds():
    assert feel_bounds_problem("amount > 1000 and not(risk = \"high\")") is None
    assert feel_bounds_problem("(" * MAX_FEEL_DEPTH + "a" + ")" * MAX_FEEL_DEPTH) is None
    assert "deeper" in feel_bounds_problem("(" * (MAX_FEEL_DEPTH + 1) + "a")
    assert "operators" in feel_bounds_problem(" or ".join(["a"] * (MAX_FEEL_OPERATORS + 2)))
    assert "longer" in feel_bounds_problem("a" * (MAX_FEEL_CHARS + 1))
    # Brackets and operators inside string literals do not count.
    assert feel_bounds_problem('a = "' + "((((" * 100 + " and " * 200 + '"') is None


@pytest.mark.parametrize("expr", [DEEP, LONG, " or ".join(["a = 1"] * 1000)])
def test_out_of_bounds_expressions_evaluate_to_unknown_without_raising(expr):
    assert feel_value(expr, {"amount": 5}) is feel.UNKNOWN
    assert feel_hides(expr, {"amount": 5}) is False  # unknown: the field stays visible


@pytest.mark.parametrize("key", ["conditional", "readonly", "validate"])
@pytest.mark.parametrize("expr", [DEEP, LONG])
def test_load_form_refuses_them_naming_the_component(key, expr):
    setting = {"conditional": {"hide": "=" + expr}, "readonly": "=" + expr,
               "validate": {"required": True, "maxLength": "=" + expr}}[key]
    with pytest.raises(FormSchemaError) as err:
        load_form(json.dumps(form({key: setting})))
    assert err.value.component == "c1" and key in str(err.value)


def test_completion_with_an_unbounded_condition_is_validated_not_a_500():
    raw = form({"conditional": {"hide": "=" + DEEP}, "readonly": "=" + LONG})
    schema = unchecked(raw)
    cleaned, errors = validate_submission(schema, {"note": "x"}, {"amount": 5, "note": "kept"})
    # readonly unknown → locked: the current value is kept; hide unknown → visible: validated.
    assert errors == {} and cleaned == {"note": "kept"}


def test_an_evaluator_error_is_the_safe_reading(monkeypatch):
    def broken(*_: Any) -> Any:
        raise RecursionError("deep")

    monkeypatch.setattr(feel, "_feel_eval", broken)
    assert feel_value("a = 1", {"a": 1}) is feel.UNKNOWN
    assert feel_hides("a = 1", {"a": 1}) is False
