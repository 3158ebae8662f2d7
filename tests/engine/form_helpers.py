"""Shared by the form validation tests (tests/engine/test_form_*.py): an event-planning form as
the Camunda Modeler saves it with a valid submission, the `form` fixture that loads it, and helpers
to submit changes to it, pick out the only error and make a small form.

The `form` fixture is module-scoped; a test module that uses it imports `form_fixture`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from engine.forms import FieldError, load_form, validate_submission

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


@pytest.fixture(scope="module", name="form")
def form_fixture():
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
