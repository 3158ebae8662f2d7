"""Choice fields of a submission: select, radio, checklist and taglist values must be among
the options (static, or from current data), and a checkbox is yes or no."""

from __future__ import annotations

from engine.forms import validate_submission
from tests.engine.form_helpers import form_fixture, make, only_error, submit  # noqa: F401  (fixtures)


def test_select_option(form):
    assert submit(form, eventType="training")[1] == {}
    err = only_error(submit(form, eventType="party")[1], "eventType")
    assert (err.code, err.message, err.message_en, err.params) == (
        "option", "请选择有效的选项", "Please select a valid option.", {"value": "party"},
    )
    assert only_error(submit(form, eventType={"x": 1})[1], "eventType").code == "type"


def test_radio_option(form):
    assert submit(form, priority="normal")[1] == {}
    assert only_error(submit(form, priority="URGENT")[1], "priority").code == "option"


def test_option_values_compare_strictly():
    f = make([{"type": "select", "key": "level", "values": [{"label": "一", "value": "1"}]}])
    assert validate_submission(f, {"level": "1"})[1] == {}
    assert validate_submission(f, {"level": 1})[1]["level"].code == "option"


def test_checklist_values(form):
    cleaned, errors = submit(form, channels=["weibo", "weibo", "wechat"])
    assert errors == {} and cleaned["channels"] == ["weibo", "wechat"]
    err = only_error(submit(form, channels=["wechat", "tiktok"])[1], "channels")
    assert (err.code, err.params) == ("option", {"value": "tiktok"})
    err = only_error(submit(form, channels="wechat")[1], "channels")
    assert (err.code, err.message) == ("type", "值必须是列表")


def test_taglist_values():
    f = make([{"type": "taglist", "key": "tags", "values": [{"label": "A", "value": "a"}]}])
    assert validate_submission(f, {"tags": ["a"]})[1] == {}
    assert validate_submission(f, {"tags": ["b"]})[1]["tags"].code == "option"


def test_values_key_options_are_checked_against_current_data():
    f = make([{"type": "select", "key": "owner", "valuesKey": "staff"}])
    current = {"staff": [{"label": "张三", "value": "zs"}, "ls"]}
    assert validate_submission(f, {"owner": "zs"}, current)[1] == {}
    assert validate_submission(f, {"owner": "ls"}, current)[1] == {}
    assert validate_submission(f, {"owner": "ww"}, current)[1]["owner"].code == "option"
    assert validate_submission(f, {"owner": "ww"})[1] == {}  # options unknown: not checked


def test_values_expression_options_are_not_checked():
    f = make([{"type": "select", "key": "owner", "valuesExpression": "=staff"}])
    assert validate_submission(f, {"owner": "anyone"}) == ({"owner": "anyone"}, {})


def test_checkbox_type(form):
    assert submit(form, needsBudget=False, budgetAmount=...)[1] == {}
    err = only_error(submit(form, needsBudget="yes")[1], "needsBudget")
    assert (err.code, err.message) == ("type", "值必须为是或否")
