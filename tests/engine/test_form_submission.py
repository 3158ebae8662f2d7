"""A submission as a whole (engine.forms.validate_submission): a valid one is cleaned,
missing optional values get their type's empty value, required fields must be filled, data
that is not an object is refused, and errors use the documented codes."""

from __future__ import annotations

import pytest

from engine.forms import FIELD_ERROR_CODES, validate_submission
from tests.engine.form_helpers import GOOD, form_fixture, make, only_error, submit  # noqa: F401  (fixtures)


def test_valid_submission_is_cleaned(form):
    cleaned, errors = submit(form, unknownKey="dropped", _internal="dropped")
    assert errors == {}
    assert cleaned == {
        **GOOD,
        "budgetAmount": 12000.5,  # numeric string -> number
        "guests": [{"name": "张三", "phone": "+8613812345678"}, {"name": "李四", "phone": ""}],
    }
    assert "unknownKey" not in cleaned and "_internal" not in cleaned


def test_missing_optional_values_get_the_empty_value_of_their_type(form):
    cleaned, errors = submit(
        form, priority=..., channels=..., description=..., contactEmail=..., guests=...,
        venue={"city": "北京"},
    )
    assert errors == {}
    assert cleaned["priority"] is None
    assert cleaned["channels"] == []
    assert cleaned["description"] == ""
    assert cleaned["contactEmail"] == ""
    assert cleaned["guests"] == []
    assert cleaned["venue"] == {"city": "北京", "room": ""}


@pytest.mark.parametrize("missing", [..., None, ""])
def test_required_textfield(form, missing):
    err = only_error(submit(form, title=missing)[1], "title")
    assert (err.key, err.code, err.message, err.message_en) == (
        "title", "required", "此项为必填项", "This field is required.",
    )
    assert err.params == {}


def test_required_select_number_and_date(form):
    _, errors = submit(form, eventType="", attendees=None, eventDate=...)
    assert {k: e.code for k, e in errors.items()} == {
        "eventType": "required", "attendees": "required", "eventDate": "required",
    }


def test_required_checkbox_must_be_ticked(form):
    assert only_error(submit(form, confirmed=False)[1], "confirmed").code == "required"
    assert only_error(submit(form, confirmed=...)[1], "confirmed").code == "required"


def test_required_checklist_must_not_be_empty():
    f = make([{"type": "checklist", "key": "tags", "values": [{"label": "A", "value": "a"}],
               "validate": {"required": True}}])
    assert validate_submission(f, {"tags": ["a"]})[1] == {}
    assert only_error(validate_submission(f, {"tags": []})[1], "tags").code == "required"


def test_whitespace_counts_as_a_value_as_in_form_js():
    f = make([{"type": "textfield", "key": "note", "validate": {"required": True}}])
    assert validate_submission(f, {"note": "  "})[1] == {}


@pytest.mark.parametrize("data", [[1, 2], "text", None])
def test_data_that_is_not_an_object(form, data):
    cleaned, errors = validate_submission(form, data)
    assert cleaned == {}
    assert errors[""].code == "type"


def test_error_codes_are_from_the_documented_set(form):
    _, errors = submit(form, projectCode="x", attendees="abc", eventType="?", channels=["?"],
                       eventDate="?", contactEmail="?", guests=[{"name": "", "phone": "1"}],
                       title="", confirmed=False, needsBudget=True, budgetAmount=-1)
    assert len(errors) == 11
    assert {e.code for e in errors.values()} <= FIELD_ERROR_CODES
