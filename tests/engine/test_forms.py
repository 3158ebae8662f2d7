"""Server-side validation of form-js submissions (engine.forms)."""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

import pytest

from engine.forms import (
    FIELD_ERROR_CODES,
    FieldError,
    FormSchemaError,
    defaults,
    field_keys,
    load_form,
    validate_submission,
)

# An event-planning request (活动策划申请) as the Camunda Modeler form editor saves it.
EVENT_FORM: dict[str, Any] = {
    "type": "default",
    "id": "EventRequest",
    "schemaVersion": 16,
    "exporter": {"name": "Camunda Modeler", "version": "5.30.0"},
    "components": [
        {"type": "text", "id": "Intro", "text": "# 活动策划申请"},
        {
            "type": "textfield", "id": "Field_code", "key": "projectCode", "label": "项目编号",
            "validate": {"required": True, "pattern": r"^PF-\d{4}$"},
        },
        {
            "type": "textfield", "id": "Field_title", "key": "title", "label": "活动名称",
            "validate": {"required": True, "minLength": 2, "maxLength": 20},
        },
        {
            "type": "number", "id": "Field_attendees", "key": "attendees", "label": "参会人数",
            "validate": {"required": True, "min": 1, "max": 100}, "defaultValue": 10,
        },
        {
            "type": "select", "id": "Field_type", "key": "eventType", "label": "活动类型",
            "values": [
                {"label": "发布会", "value": "launch"},
                {"label": "年会", "value": "annual"},
                {"label": "培训", "value": "training"},
            ],
            "validate": {"required": True},
        },
        {
            "type": "radio", "id": "Field_priority", "key": "priority", "label": "优先级",
            "values": [{"label": "普通", "value": "normal"}, {"label": "紧急", "value": "urgent"}],
            "defaultValue": "normal",
        },
        {
            "type": "checklist", "id": "Field_channels", "key": "channels", "label": "宣传渠道",
            "values": [
                {"label": "微信", "value": "wechat"},
                {"label": "微博", "value": "weibo"},
                {"label": "邮件", "value": "email"},
            ],
        },
        {
            "type": "datetime", "id": "Field_date", "key": "eventDate", "subtype": "date",
            "dateLabel": "活动日期", "validate": {"required": True},
        },
        {
            "type": "textarea", "id": "Field_desc", "key": "description", "label": "活动说明",
            "validate": {"maxLength": 200},
        },
        {
            "type": "textfield", "id": "Field_email", "key": "contactEmail", "label": "联系邮箱",
            "validate": {"validationType": "email"},
        },
        {
            "type": "checkbox", "id": "Field_budget", "key": "needsBudget", "label": "需要预算",
            "defaultValue": False,
        },
        {
            "type": "number", "id": "Field_amount", "key": "budgetAmount", "label": "预算金额",
            "decimalDigits": 2, "validate": {"required": True, "min": 0.01},
            "conditional": {"hide": "=not(needsBudget)"},
        },
        {
            "type": "group", "id": "Group_venue", "label": "场地", "path": "venue",
            "components": [
                {
                    "type": "textfield", "id": "Field_city", "key": "city", "label": "城市",
                    "validate": {"required": True},
                },
                {"type": "textfield", "id": "Field_room", "key": "room", "label": "会议室"},
            ],
        },
        {
            "type": "dynamiclist", "id": "List_guests", "label": "嘉宾", "path": "guests",
            "isRepeating": True, "allowAddRemove": True, "defaultRepetitions": 1,
            "components": [
                {
                    "type": "textfield", "id": "Field_gname", "key": "name", "label": "姓名",
                    "validate": {"required": True},
                },
                {
                    "type": "textfield", "id": "Field_gphone", "key": "phone", "label": "电话",
                    "validate": {"validationType": "phone"},
                },
            ],
        },
        {
            "type": "checkbox", "id": "Field_confirm", "key": "confirmed", "label": "我已确认",
            "validate": {"required": True},
        },
        {"type": "button", "id": "Submit", "action": "submit", "label": "提交"},
    ],
}

GOOD: dict[str, Any] = {
    "projectCode": "PF-2024",
    "title": "新品发布会",
    "attendees": 50,
    "eventType": "launch",
    "priority": "urgent",
    "channels": ["wechat", "email"],
    "eventDate": "2025-10-08",
    "description": "在上海举办的年度新品发布会。",
    "contactEmail": "planning@example.com",
    "needsBudget": True,
    "budgetAmount": "12000.50",
    "venue": {"city": "上海", "room": "A101"},
    "guests": [{"name": "张三", "phone": "+8613812345678"}, {"name": "李四", "phone": ""}],
    "confirmed": True,
}


@pytest.fixture(scope="module")
def form():
    return load_form(json.dumps(EVENT_FORM, ensure_ascii=False))


def submit(form, current=None, **changes):
    data = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    return validate_submission(form, data, current)


def only_error(errors: dict[str, FieldError], key: str) -> FieldError:
    assert list(errors) == [key], errors
    return errors[key]


def make(components: list[dict[str, Any]]):
    return load_form(json.dumps({"type": "default", "components": components}))


# --- loading ------------------------------------------------------------------------------


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


# --- a complete, valid submission ---------------------------------------------------------


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


# --- required -----------------------------------------------------------------------------


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


# --- text ---------------------------------------------------------------------------------


def test_pattern(form):
    assert submit(form, projectCode="PF-0001")[1] == {}
    err = only_error(submit(form, projectCode="PF-12345")[1], "projectCode")
    assert (err.code, err.message, err.message_en) == (
        "pattern", "格式不正确", "The value does not have the required format.",
    )
    assert err.params == {"pattern": r"^PF-\d{4}$"}


def test_pattern_is_a_search_like_javascript_regexp_test():
    f = make([{"type": "textfield", "key": "code", "validate": {"pattern": r"\d{3}"}}])
    assert validate_submission(f, {"code": "abc123def"})[1] == {}
    assert validate_submission(f, {"code": "ab12"})[1]["code"].code == "pattern"


def test_pattern_digits_are_ascii_like_javascript():
    f = make([{"type": "textfield", "key": "code", "validate": {"pattern": r"^\d+$"}}])
    assert validate_submission(f, {"code": "123"})[1] == {}
    assert validate_submission(f, {"code": "１２３"})[1]["code"].code == "pattern"  # full-width


def test_textfield_refuses_line_breaks(form):
    err = only_error(submit(form, projectCode="PF-0001\n")[1], "projectCode")
    assert (err.code, err.message) == ("type", "不能包含换行")


def test_min_and_max_length(form):
    assert submit(form, title="年会")[1] == {}
    assert submit(form, title="一" * 20)[1] == {}
    err = only_error(submit(form, title="年")[1], "title")
    assert (err.code, err.message, err.message_en, err.params) == (
        "minLength", "至少 2 个字符", "Must be at least 2 characters.", {"minLength": 2},
    )
    err = only_error(submit(form, title="一" * 21)[1], "title")
    assert (err.code, err.message, err.params) == ("maxLength", "最多 20 个字符", {"maxLength": 20})


def test_length_is_counted_on_the_trimmed_value(form):
    assert submit(form, title="  年会  ")[1] == {}
    assert submit(form, title=" 年 ")[1]["title"].code == "minLength"


def test_textarea_max_length(form):
    assert submit(form, description="策" * 200)[1] == {}
    err = only_error(submit(form, description="策" * 201)[1], "description")
    assert (err.code, err.message, err.message_en) == (
        "maxLength", "最多 200 个字符", "Must be at most 200 characters.",
    )
    assert submit(form, description="第一行\n第二行")[1] == {}  # textarea: line breaks fine


def test_text_must_be_text(form):
    err = only_error(submit(form, title=["年会"])[1], "title")
    assert (err.code, err.message) == ("type", "请输入文本")
    assert submit(form, description=123)[0]["description"] == "123"


def test_email(form):
    assert submit(form, contactEmail="zhang.san+events@corp.example.cn")[1] == {}
    err = only_error(submit(form, contactEmail="zhang.san@")[1], "contactEmail")
    assert (err.code, err.message, err.message_en) == (
        "email", "请输入有效的电子邮箱地址", "Please enter a valid email address.",
    )


def test_phone_needs_international_form(form):
    ok = [{"name": "王五", "phone": "+8613812345678"}, {"name": "赵六", "phone": "008610123456"}]
    assert submit(form, guests=ok)[1] == {}
    err = only_error(submit(form, guests=[{"name": "王五", "phone": "13812345678"}])[1],
                     "guests[0].phone")
    assert err.code == "phone"
    assert err.message == "请输入有效的国际电话号码，例如 +8613812345678"


# --- number -------------------------------------------------------------------------------


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


# --- choices ------------------------------------------------------------------------------


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


# --- checkbox -----------------------------------------------------------------------------


def test_checkbox_type(form):
    assert submit(form, needsBudget=False, budgetAmount=...)[1] == {}
    err = only_error(submit(form, needsBudget="yes")[1], "needsBudget")
    assert (err.code, err.message) == ("type", "值必须为是或否")


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["2025-13-01", "2025-02-30", "2025/10/08", "20251008",
                                   "2025-10-08T09:00", 20251008])
def test_date_invalid(form, given):
    err = only_error(submit(form, eventDate=given)[1], "eventDate")
    assert (err.code, err.message, err.message_en) == (
        "date", "日期格式无效", "Invalid date (expected YYYY-MM-DD).",
    )


@pytest.mark.parametrize("given", ["0001-01-01", "0226-03-01", "1899-12-31", "3000-01-01",
                                   "9999-12-31"])
def test_a_date_outside_the_years_planflow_takes_is_refused(form, given):
    """A typo such as 0226 would sit in deadlines unnoticed, and dates at the ends of the
    calendar cannot be computed with (a deadline before year 1)."""
    err = only_error(submit(form, eventDate=given)[1], "eventDate")
    assert (err.code, err.message, err.message_en) == (
        "date", "年份应在 1900–2999 之间", "The year must be between 1900 and 2999.",
    )
    f = make([{"type": "datetime", "key": "dt", "subtype": "datetime"}])
    _, errors = validate_submission(f, {"dt": given + "T09:00+08:00"})
    assert (errors["dt"].code, errors["dt"].message) == ("date", "年份应在 1900–2999 之间")
    for edge in ("1900-01-01", "2999-12-31"):
        assert submit(form, eventDate=edge)[1] == {}, edge


def test_time_and_datetime_subtypes():
    f = make([
        {"type": "datetime", "key": "t", "subtype": "time"},
        {"type": "datetime", "key": "dt", "subtype": "datetime"},
    ])
    for t, dt in [("09:30", "2025-10-08T09:30"), ("09:30Z", "2025-10-08T01:30Z"),
                  ("09:30+08:00", "2025-10-08T09:30:00+08:00")]:
        assert validate_submission(f, {"t": t, "dt": dt}) == ({"t": t, "dt": dt}, {})
    _, errors = validate_submission(f, {"t": "25:00", "dt": "2025-10-08"})
    assert (errors["t"].code, errors["t"].message) == ("date", "时间格式无效")
    assert (errors["dt"].code, errors["dt"].message) == ("date", "日期时间格式无效")


# --- group and dynamic list ---------------------------------------------------------------


def test_group_path_nests_data_and_error_keys(form):
    cleaned, errors = submit(form, venue={"city": "", "room": "B2", "floor": 3})
    err = only_error(errors, "venue.city")
    assert err.key == "venue.city" and err.code == "required"
    assert cleaned["venue"] == {"city": "", "room": "B2"}
    errors = submit(form, venue="上海")[1]
    assert {k: e.code for k, e in errors.items()} == {"venue": "type", "venue.city": "required"}
    assert errors["venue"].message == "数据格式无效"


def test_dynamic_list_items_are_validated(form):
    guests = [{"name": "张三"}, {"name": "", "phone": "12"}, {"name": "王五", "extra": 1}]
    cleaned, errors = submit(form, guests=guests)
    assert {k: e.code for k, e in errors.items()} == {
        "guests[1].name": "required", "guests[1].phone": "phone",
    }
    assert errors["guests[1].name"].key == "guests[1].name"
    assert cleaned["guests"][2] == {"name": "王五", "phone": ""}


def test_dynamic_list_shape(form):
    assert only_error(submit(form, guests={"name": "张三"})[1], "guests").code == "type"
    err = only_error(submit(form, guests=[{"name": "张三"}, "李四"])[1], "guests[1]")
    assert err.code == "type"


def test_dotted_key_nests_like_a_group():
    f = make([{"type": "textfield", "key": "contact.name", "validate": {"required": True}}])
    assert validate_submission(f, {"contact": {"name": "张三"}}) == (
        {"contact": {"name": "张三"}}, {},
    )
    assert list(validate_submission(f, {})[1]) == ["contact.name"]


# --- conditions ---------------------------------------------------------------------------


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


# --- readonly / disabled ------------------------------------------------------------------


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


# --- hostile input ------------------------------------------------------------------------


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


# --- malformed schemas --------------------------------------------------------------------


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


def test_a_pattern_that_backtracks_for_ever_is_stopped_without_stalling_the_server():
    """``^(a|a)+$`` on 40 characters and a mismatch backtracks for hours. The check stops at
    its time limit with a message for the process owner, and other threads keep running
    meanwhile (the match runs without the GIL)."""
    f = make([{"type": "textfield", "key": "code", "validate": {"pattern": "^(a|a)+$"}}])
    ticks = 0
    done = threading.Event()

    def neighbour() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    thread = threading.Thread(target=neighbour)
    thread.start()
    began = time.monotonic()
    try:
        _, errors = validate_submission(f, {"code": "a" * 40 + "!"})
    finally:
        done.set()
        thread.join()
    assert time.monotonic() - began < 5
    err = errors["code"]
    assert err.code == "pattern"
    assert err.message == "此项的格式规则过于复杂，无法校验，请联系流程管理员"
    assert ticks > 1000  # the neighbour ran during the match
    assert validate_submission(f, {"code": "aaaa"})[1] == {}


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
