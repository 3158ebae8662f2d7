"""Which submitted values count: a field hidden by its FEEL condition is neither required
nor kept, and a read-only or disabled field keeps the current value."""

from __future__ import annotations

from typing import Any

import pytest

from engine.forms import validate_submission
from tests.engine.form_helpers import form_fixture, make, only_error, submit  # noqa: F401  (fixtures)


def test_hidden_field_is_neither_required_nor_kept(form):
    cleaned, errors = submit(form, needsBudget=False, budgetAmount="not even a number")
    assert errors == {}
    assert "budgetAmount" not in cleaned


def test_visible_conditional_field_is_validated(form):
    assert only_error(submit(form, budgetAmount=...)[1], "budgetAmount").code == "required"


def hidden_by(condition: str, data: dict[str, Any], current: dict[str, Any] | None = None):
    f = make([
        {"type": "textfield", "key": "kind"},
        {"type": "number", "key": "amount"},
        {"type": "checkbox", "key": "flag"},
        {"type": "textfield", "key": "extra", "validate": {"required": True},
         "conditional": {"hide": condition}},
    ])
    cleaned, errors = validate_submission(f, data, current)
    assert ("extra" in errors) == ("extra" in cleaned)  # visible <=> required error here
    return "extra" not in cleaned


@pytest.mark.parametrize(("condition", "data", "hidden"), [
    ('=kind = "internal"', {"kind": "internal"}, True),
    ('=kind = "internal"', {"kind": "external"}, False),
    ('=kind != "internal"', {"kind": "external"}, True),
    ('=kind != "internal"', {"kind": "internal"}, False),
    ("=not(flag)", {"flag": False}, True),
    ("=not(flag)", {"flag": True}, False),
    ("=flag", {"flag": True}, True),
    ("=flag", {"flag": False}, False),
    ("=flag = true", {"flag": True}, True),
    ("=flag = true", {"flag": False}, False),
    ("=amount > 10", {"amount": "11"}, True),
    ("=amount > 10", {"amount": 10}, False),
    ("=amount >= 10 and kind = \"a\"", {"amount": 10, "kind": "a"}, True),
    ("=amount < 0 or kind = \"a\"", {"amount": 5, "kind": "b"}, False),
    # FEEL: a null result equals the (null) unary-test input, so form-js hides the field
    ("=amount > 10", {"amount": None}, True),
    ('=kind = "internal"', {}, False),
    # outside the supported subset: visible
    ('=kind in ["a", "b"]', {"kind": "a"}, False),
    ("=string length(kind) > 2", {"kind": "abcd"}, False),
    ('=amount = "10"', {"amount": 10}, False),
    ("kind = \"a\"", {"kind": "a"}, False),  # not an expression (no leading '=')
])
def test_hide_conditions(condition, data, hidden):
    assert hidden_by(condition, data) is hidden


def test_conditions_see_current_process_data():
    assert hidden_by('=role = "manager"', {}, {"role": "manager"}) is True
    assert hidden_by('=role = "manager"', {}, {"role": "staff"}) is False


def test_conditions_inside_a_dynamic_list_use_this():
    f = make([{"type": "dynamiclist", "path": "items", "components": [
        {"type": "checkbox", "key": "free"},
        {"type": "number", "key": "price", "validate": {"required": True},
         "conditional": {"hide": "=this.free"}},
    ]}])
    cleaned, errors = validate_submission(
        f, {"items": [{"free": True, "price": 5}, {"free": False}]}
    )
    assert list(errors) == ["items[1].price"]
    assert cleaned["items"][0] == {"free": True}


def test_hidden_group_hides_its_children():
    f = make([
        {"type": "checkbox", "key": "online"},
        {"type": "group", "path": "venue", "conditional": {"hide": "=online"},
         "components": [{"type": "textfield", "key": "city", "validate": {"required": True}}]},
    ])
    assert validate_submission(f, {"online": True, "venue": {"city": ""}}) == (
        {"online": True}, {},
    )
    assert list(validate_submission(f, {"online": False})[1]) == ["venue.city"]


def test_readonly_and_disabled_keep_the_current_value():
    f = make([
        {"type": "number", "key": "approved", "readonly": True, "validate": {"max": 10}},
        {"type": "textfield", "key": "requester", "disabled": True},
        {"type": "textfield", "key": "note"},
    ])
    current = {"approved": 5000, "requester": "张三", "note": "old"}
    submitted = {"approved": 1, "requester": "黑客", "note": "new"}
    assert validate_submission(f, submitted, current) == (
        {"approved": 5000, "requester": "张三", "note": "new"}, {},
    )
    no_current = {"approved": None, "requester": "", "note": "new"}
    assert validate_submission(f, submitted)[0] == no_current


def test_readonly_expression():
    f = make([
        {"type": "textfield", "key": "status"},
        {"type": "textfield", "key": "title", "readonly": '=status = "approved"'},
        {"type": "textfield", "key": "memo", "readonly": "=some unsupported(expression)"},
    ])
    current = {"title": "原标题", "memo": "原备注"}
    cleaned, _ = validate_submission(
        f, {"status": "draft", "title": "新标题", "memo": "新备注"}, current
    )
    assert cleaned["title"] == "新标题"
    assert cleaned["memo"] == "原备注"  # cannot evaluate: treated as read-only
    cleaned, _ = validate_submission(f, {"status": "approved", "title": "新标题"}, current)
    assert cleaned["title"] == "原标题"
