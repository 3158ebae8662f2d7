"""Per-type coercion and rules for one submitted value, as form-js's field components.

``coerce_value`` turns the submitted JSON into the field type's value (or raises ``Invalid``);
``check`` applies ``validate`` (required, lengths, pattern, e-mail/phone, number limits and
steps, allowed options). FEEL-valued settings are resolved through the caller's ``FieldSettings``
(`engine.forms.validate.Env` is one).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

import regex

from engine.forms.schema import CHOICE_TYPES, MULTI_CHOICE_TYPES, TEXT_TYPES, Node
from engine.forms.values import (
    MISSING,
    decimal_places,
    dedupe,
    get,
    is_multiple,
    is_scalar,
    js_length,
    number_text,
    plain,
    same_value,
    to_decimal,
)
from engine.time_range import FIRST_YEAR, LAST_YEAR, in_range


class FieldSettings(Protocol):
    """What the rules ask of the field's surroundings: its FEEL-valued settings resolved."""

    def number(self, setting: Any) -> Decimal | None:
        """A number setting (``min``, ``maxLength`` …), None when it is not one."""
        ...

    def options(self, comp: Mapping[str, Any]) -> list[Any] | None:
        """The allowed option values, None when the server cannot know them."""
        ...


MAX_NUMBER_CHARS = 64

_INTEGER_TEXT = re.compile(r"[+-]?\d+")
# WHATWG HTML "valid e-mail address"; form-js uses the same expression.
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
# form-js: "+" or "00", a country code, then digits, anchored at the end only. This accepts every
# number form-js accepts (country codes never start with 0) and a few it does not.
_PHONE = re.compile(r"(?:\+|00)[1-9]\d{5,29}\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?"
)


# A form's pattern runs on every submission of what staff type; ordinary patterns take
# microseconds, so a pattern still matching after this long backtracks without end.
PATTERN_SECONDS = 0.1


class Invalid(Exception):
    """A value breaks a rule (internal control flow; becomes a FieldError)."""

    def __init__(self, code: str, variant: str = "", params: dict[str, Any] | None = None):
        super().__init__(code)
        self.code = code
        self.variant = variant
        self.params = params or {}


def _empty(ctype: str) -> Any:
    if ctype in TEXT_TYPES:
        return ""
    if ctype == "checkbox":
        return False
    return [] if ctype in MULTI_CHOICE_TYPES else None


def kept_value(node: Node, cur: Mapping[str, Any]) -> Any:
    value = get(cur, node.segs)
    if value is not MISSING:
        return value
    return node.comp.get("defaultValue", _empty(node.comp["type"]))


def coerce_value(node: Node, raw: Any) -> Any:
    ctype = node.comp["type"]
    if raw is MISSING or raw is None or (raw == "" and ctype not in TEXT_TYPES):
        return _empty(ctype)
    if ctype in TEXT_TYPES:
        return _coerce_text(raw, single_line=ctype == "textfield")
    if ctype == "number":
        return _coerce_number(raw, bool(node.comp.get("serializeToString")))
    if ctype == "datetime":
        return _coerce_datetime(raw, node.comp.get("subtype") or "date")
    if ctype == "checkbox":
        if not isinstance(raw, bool):
            raise Invalid("type", "boolean")
        return raw
    if ctype in MULTI_CHOICE_TYPES:
        if not isinstance(raw, list) or not all(is_scalar(v) for v in raw):
            raise Invalid("type", "list")
        return dedupe(raw)
    if not is_scalar(raw):
        raise Invalid("type", "choice")
    return raw


def _coerce_text(raw: Any, single_line: bool) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise Invalid("type", "text")
    text = raw if isinstance(raw, str) else number_text(raw)
    if single_line and ("\n" in text or "\r" in text):
        raise Invalid("type", "single_line")
    return text


def _coerce_number(raw: Any, as_string: bool) -> int | float | str:
    number = to_decimal(raw)
    if number is None or (isinstance(raw, str) and len(raw) > MAX_NUMBER_CHARS):
        raise Invalid("type", "number")
    if as_string:
        return raw.strip() if isinstance(raw, str) else number_text(raw)
    if isinstance(raw, int | float):
        return raw
    if _INTEGER_TEXT.fullmatch(raw.strip()):
        return int(number)
    value = float(number)
    if not math.isfinite(value):
        raise Invalid("type", "number")
    return value


def _coerce_datetime(raw: Any, subtype: str) -> str:
    if not isinstance(raw, str):
        raise Invalid("date", subtype)
    shape, parse = {
        "date": (_DATE, date.fromisoformat),
        "time": (_TIME, time.fromisoformat),
        "datetime": (_DATETIME, datetime.fromisoformat),
    }[subtype]
    if not shape.fullmatch(raw):
        raise Invalid("date", subtype)
    try:
        parsed = parse(raw)
    except ValueError as exc:
        raise Invalid("date", subtype) from exc
    if isinstance(parsed, date) and not in_range(parsed):  # a date or a datetime
        raise Invalid("date", "range", {"first": FIRST_YEAR, "last": LAST_YEAR})
    return raw


def check(node: Node, value: Any, env: FieldSettings) -> None:
    comp = node.comp
    ctype = comp["type"]
    validate = comp.get("validate", {})
    if validate.get("required") and _is_unset(ctype, value):
        raise Invalid("required")
    if _is_unset(ctype, value):
        return
    if ctype in TEXT_TYPES:
        _check_text(node, value, validate, env)
    elif ctype == "number":
        _check_number(comp, to_decimal(value), validate, env)
    elif ctype in CHOICE_TYPES:
        _check_choice(comp, value, env)


def _check_pattern(pattern: regex.Pattern[str], value: str) -> None:
    try:
        matched = pattern.search(value, timeout=PATTERN_SECONDS)
    except TimeoutError:
        raise Invalid("pattern", "slow") from None
    if not matched:
        raise Invalid("pattern", params={"pattern": pattern.pattern})


def _is_unset(ctype: str, value: Any) -> bool:
    if ctype == "checkbox":
        return value is not True
    return value is None or value == "" or value == []


def _check_text(node: Node, value: str, validate: Mapping[str, Any], env: FieldSettings) -> None:
    length = js_length(value.strip())
    low = env.number(validate.get("minLength"))
    if low is not None and length < low:
        raise Invalid("minLength", params={"minLength": plain(low)})
    high = env.number(validate.get("maxLength"))
    if high is not None and length > high:
        raise Invalid("maxLength", params={"maxLength": plain(high)})
    if node.regex is not None:
        _check_pattern(node.regex, value)
    kind = validate.get("validationType")
    if kind == "email" and not _EMAIL.fullmatch(value):
        raise Invalid("email")
    if kind == "phone" and not _PHONE.search(value):
        raise Invalid("phone")


def _check_number(
    comp: Mapping[str, Any], number: Decimal | None, validate: Mapping[str, Any], env: FieldSettings
) -> None:
    if number is None:  # serializeToString keeps the text; it was parsed once already
        raise Invalid("type", "number")
    digits = to_decimal(comp.get("decimalDigits"))
    if digits is not None and digits >= 0 and decimal_places(number) > digits:
        variant = "integer" if digits == 0 else "decimals"
        raise Invalid("type", variant, {"decimalDigits": int(digits)})
    step = to_decimal(comp.get("increment"))
    if step is not None and step > 0 and not is_multiple(number, step):
        raise Invalid("type", "increment", {"increment": plain(step)})
    low = env.number(validate.get("min"))
    if low is not None and number < low:
        raise Invalid("min", params={"min": plain(low)})
    high = env.number(validate.get("max"))
    if high is not None and number > high:
        raise Invalid("max", params={"max": plain(high)})


def _check_choice(comp: Mapping[str, Any], value: Any, env: FieldSettings) -> None:
    allowed = env.options(comp)
    if allowed is None:
        return
    chosen = value if isinstance(value, list) else [value]
    for item in chosen:
        if not any(same_value(item, option) for option in allowed):
            raise Invalid("option", params={"value": item})


def normalize_options(options: list[Any]) -> list[Any]:
    """form-js normalizeOptionsData: primitives are their own value, objects carry ``value``."""
    out = []
    for option in options:
        if isinstance(option, Mapping):
            if "value" in option:
                out.append(option["value"])
        elif is_scalar(option):
            out.append(option)
    return out
