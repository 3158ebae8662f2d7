"""Field errors of a submission and their zh-CN/English messages.

``FieldError`` is one problem with one submitted value; ``FIELD_ERROR_CODES`` lists the codes a
caller may see; ``field_error`` builds a ``FieldError`` from a rule's code, variant and parameters
with both messages filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FIELD_ERROR_CODES = frozenset(
    {
        "required",
        "type",
        "min",
        "max",
        "minLength",
        "maxLength",
        "pattern",
        "option",
        "email",
        "phone",
        "date",
        "person",
        "unknown",
    }
)


@dataclass(frozen=True)
class FieldError:
    """One problem with one submitted value. ``message`` is zh-CN for the user."""

    key: str
    code: str
    message: str
    message_en: str
    params: dict[str, Any] = field(default_factory=dict)


_MESSAGES: dict[tuple[str, str], tuple[str, str]] = {
    ("required", ""): ("此项为必填项", "This field is required."),
    ("type", "text"): ("请输入文本", "Please enter text."),
    ("type", "single_line"): ("不能包含换行", "Line breaks are not allowed here."),
    ("type", "number"): ("请输入有效的数字", "Please enter a valid number."),
    ("type", "integer"): ("请输入整数", "Please enter a whole number."),
    ("type", "decimals"): (
        "最多保留 {decimalDigits} 位小数",
        "Use at most {decimalDigits} decimal places.",
    ),
    ("type", "increment"): ("必须是 {increment} 的整数倍", "Must be a multiple of {increment}."),
    ("type", "boolean"): ("值必须为是或否", "The value must be true or false."),
    ("type", "list"): ("值必须是列表", "The value must be a list."),
    ("type", "object"): ("数据格式无效", "The value must be an object."),
    ("type", "choice"): ("选项值格式无效", "The option value is malformed."),
    ("min", ""): ("不能小于 {min}", "Must be at least {min}."),
    ("max", ""): ("不能大于 {max}", "Must be at most {max}."),
    ("minLength", ""): ("至少 {minLength} 个字符", "Must be at least {minLength} characters."),
    ("maxLength", ""): ("最多 {maxLength} 个字符", "Must be at most {maxLength} characters."),
    ("pattern", ""): ("格式不正确", "The value does not have the required format."),
    ("pattern", "slow"): (
        "此项的格式规则过于复杂，无法校验，请联系流程管理员",
        "The format rule of this field is too complex to check: ask the process owner.",
    ),
    ("option", ""): ("请选择有效的选项", "Please select a valid option."),
    ("email", ""): ("请输入有效的电子邮箱地址", "Please enter a valid email address."),
    ("phone", ""): (
        "请输入有效的国际电话号码，例如 +8613812345678",
        "Please enter a valid international phone number, e.g. +8613812345678.",
    ),
    ("date", "date"): ("日期格式无效", "Invalid date (expected YYYY-MM-DD)."),
    ("date", "time"): ("时间格式无效", "Invalid time (expected HH:MM)."),
    ("date", "datetime"): ("日期时间格式无效", "Invalid date and time (expected ISO 8601)."),
    ("date", "range"): (
        "年份应在 {first}–{last} 之间",
        "The year must be between {first} and {last}.",
    ),
    ("person", "unknown"): (
        "“{value}”不是系统中的在职人员，请从列表中选择",
        "“{value}” is not an active user: choose someone from the list.",
    ),
    ("person", "role"): (
        "“{value}”不能担任此角色，请从列表中选择",
        "“{value}” cannot be chosen for this role: choose someone from the list.",
    ),
    ("unknown", ""): ("数据无效", "Invalid value."),
}


def field_error(
    key: str, code: str, variant: str = "", params: dict[str, Any] | None = None
) -> FieldError:
    params = params or {}
    zh, en = _MESSAGES.get((code, variant)) or _MESSAGES[("unknown", "")]
    return FieldError(
        key=key,
        code=code,
        message=zh.format(**params),
        message_en=en.format(**params),
        params=params,
    )
