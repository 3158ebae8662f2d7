"""Loading a form-js schema (engine.forms.load_form): the fields, paths and defaults it
yields, and the malformed schemas it refuses, naming the component at fault."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.forms import FormSchemaError, defaults, field_keys, load_form, validate_submission
from tests.engine.form_helpers import form_fixture, make  # noqa: F401  (fixtures)


def test_fields_and_paths(form):
    assert field_keys(form) == [
        "projectCode", "title", "attendees", "eventType", "priority", "channels", "eventDate",
        "description", "contactEmail", "needsBudget", "budgetAmount", "venue.city",
        "venue.room", "guests[].name", "guests[].phone", "confirmed",
    ]
    code = form.fields[0]
    assert (code.key, code.type, code.id, code.label, code.required) == (
        "projectCode", "textfield", "Field_code", "项目编号", True,
    )
    assert form.raw["id"] == "EventRequest"
    # a date field's caption is its dateLabel (what people read in history and data panels)
    [date_field] = [f for f in form.fields if f.key == "eventDate"]
    assert date_field.label == "活动日期"


def test_defaults(form):
    assert defaults(form) == {"attendees": 10, "priority": "normal", "needsBudget": False}
    grouped = make([{"type": "group", "path": "a", "components": [
        {"type": "textfield", "key": "b", "defaultValue": "x"}]}])
    assert defaults(grouped) == {"a": {"b": "x"}}


def schema_error(components: Any, **root: Any) -> str:
    with pytest.raises(FormSchemaError) as info:
        load_form(json.dumps({"type": "default", "components": components, **root}))
    return str(info.value)


def test_schema_not_json():
    with pytest.raises(FormSchemaError, match="JSON"):
        load_form("{not json")


def test_schema_without_components():
    with pytest.raises(FormSchemaError, match="components"):
        load_form('{"type": "default"}')


def test_schema_unknown_type_names_the_component():
    message = schema_error([{"type": "signature", "id": "Field_sign", "key": "sign"}])
    assert "Field_sign" in message and "signature" in message


@pytest.mark.parametrize("key", ["_secret", "1st", "first-name", "class", "名字", "a..b", 7])
def test_schema_invalid_keys(key):
    message = schema_error([{"type": "textfield", "id": "Field_bad", "key": key}])
    assert "Field_bad" in message


def test_schema_input_without_key():
    assert "Field_nokey" in schema_error([{"type": "number", "id": "Field_nokey"}])


def test_schema_duplicate_key():
    message = schema_error([
        {"type": "textfield", "id": "Field_a", "key": "title"},
        {"type": "textarea", "id": "Field_b", "key": "title"},
    ])
    assert "Field_b" in message and "title" in message


def test_schema_key_colliding_with_a_group_path():
    message = schema_error([
        {"type": "group", "id": "Group_1", "path": "venue",
         "components": [{"type": "textfield", "id": "Field_city", "key": "city"}]},
        {"type": "textfield", "id": "Field_venue", "key": "venue"},
    ])
    assert "Field_venue" in message


def test_schema_same_key_in_different_scopes_is_fine():
    f = make([
        {"type": "textfield", "key": "name"},
        {"type": "group", "path": "venue", "components": [{"type": "textfield", "key": "name"}]},
        {"type": "group", "path": "venue", "components": [{"type": "textfield", "key": "room"}]},
        {"type": "dynamiclist", "path": "guests",
         "components": [{"type": "textfield", "key": "name"}]},
    ])
    assert field_keys(f) == ["name", "venue.name", "venue.room", "guests[].name"]


def test_schema_duplicate_id():
    message = schema_error([
        {"type": "textfield", "id": "Field_1", "key": "a"},
        {"type": "textfield", "id": "Field_1", "key": "b"},
    ])
    assert "Field_1" in message


def test_schema_bad_pattern():
    message = schema_error([{"type": "textfield", "id": "Field_re", "key": "code",
                             "validate": {"pattern": "(\\d{4}"}}])
    assert "Field_re" in message
    # JavaScript's named groups, which re refused, compile and match as in the browser
    f = make([{"type": "textfield", "key": "code", "validate": {"pattern": "^(?<year>\\d{4})$"}}])
    assert validate_submission(f, {"code": "2026"})[1] == {}
    assert validate_submission(f, {"code": "26"})[1]["code"].code == "pattern"


def test_schema_dynamic_list_without_path():
    assert "List_1" in schema_error([{"type": "dynamiclist", "id": "List_1", "components": []}])


def test_schema_malformed_values():
    message = schema_error([{"type": "select", "id": "Field_sel", "key": "s",
                             "values": ["a", "b"]}])
    assert "Field_sel" in message


def test_schema_nested_component_is_named():
    message = schema_error([{"type": "group", "id": "Group_1", "components": [
        {"type": "textfield", "id": "Field_inner", "key": "bad-key"}]}])
    assert "Field_inner" in message
