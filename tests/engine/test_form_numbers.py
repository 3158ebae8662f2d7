"""Number fields of a submission: what counts as a number, min and max (also from a FEEL
expression), decimal digits, increments, and numbers kept as text."""

from __future__ import annotations

import pytest

from engine.forms import validate_submission
from tests.engine.form_helpers import form_fixture, make, only_error, submit  # noqa: F401  (fixtures)


@pytest.mark.parametrize(("given", "cleaned"), [(1, 1), (100, 100), ("42", 42), (" 7 ", 7)])
def test_number_accepts_numbers_and_numeric_strings(form, given, cleaned):
    result, errors = submit(form, attendees=given)
    assert errors == {}
    assert result["attendees"] == cleaned and type(result["attendees"]) is int


@pytest.mark.parametrize("given", ["abc", "12abc", "NaN", "Infinity", "1_000", True, [1], {}])
def test_number_rejects_non_numbers(form, given):
    err = only_error(submit(form, attendees=given)[1], "attendees")
    assert (err.code, err.message, err.message_en) == (
        "type", "请输入有效的数字", "Please enter a valid number.",
    )


def test_number_min_and_max(form):
    err = only_error(submit(form, attendees=0)[1], "attendees")
    assert (err.code, err.message, err.message_en, err.params) == (
        "min", "不能小于 1", "Must be at least 1.", {"min": 1},
    )
    err = only_error(submit(form, attendees="101")[1], "attendees")
    assert (err.code, err.message, err.message_en, err.params) == (
        "max", "不能大于 100", "Must be at most 100.", {"max": 100},
    )
    assert only_error(submit(form, budgetAmount=0)[1], "budgetAmount").message == "不能小于 0.01"


def test_number_decimal_digits(form):
    assert submit(form, budgetAmount="99.90")[1] == {}  # 99.9: one significant decimal
    err = only_error(submit(form, budgetAmount="99.999")[1], "budgetAmount")
    assert (err.code, err.message) == ("type", "最多保留 2 位小数")
    assert err.params == {"decimalDigits": 2}
    whole = make([{"type": "number", "key": "n", "decimalDigits": 0}])
    assert validate_submission(whole, {"n": "3"})[1] == {}
    assert validate_submission(whole, {"n": 3.5})[1]["n"].message == "请输入整数"


def test_number_increment():
    f = make([{"type": "number", "key": "n", "increment": "0.5"}])
    assert validate_submission(f, {"n": "2.5"})[1] == {}
    err = validate_submission(f, {"n": 2.2})[1]["n"]
    assert (err.code, err.message) == ("type", "必须是 0.5 的整数倍")
    assert err.params == {"increment": 0.5}


def test_number_serialize_to_string_keeps_text():
    f = make([{"type": "number", "key": "n", "serializeToString": True, "validate": {"max": 10}}])
    assert validate_submission(f, {"n": "3.10"}) == ({"n": "3.10"}, {})
    assert validate_submission(f, {"n": "11"})[1]["n"].code == "max"


def test_number_limit_from_a_feel_expression():
    f = make([
        {"type": "number", "key": "budget"},
        {"type": "number", "key": "spent", "validate": {"max": "=budget"}},
    ])
    assert validate_submission(f, {"budget": 100, "spent": 80})[1] == {}
    assert validate_submission(f, {"budget": 100, "spent": 120})[1]["spent"].params == {"max": 100}
    assert validate_submission(f, {"budget": None, "spent": 120})[1] == {}  # unknown: skipped
