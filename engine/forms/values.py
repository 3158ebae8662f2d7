"""Small helpers on submitted JSON values shared by loading, FEEL and validation.

Data-path access (``get``/``put``/``merge_at``), number handling with JavaScript's
semantics (``to_decimal``, ``number_text``, ``js_length``, ``js_truthy``, ``===`` as
``same_value``) and the ``MISSING`` marker for an absent value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def join(prefix: str, segs: Sequence[str]) -> str:
    tail = ".".join(segs)
    return f"{prefix}.{tail}" if prefix and tail else prefix or tail


def get(scope: Any, segs: Sequence[str | int]) -> Any:
    value = scope
    for seg in segs:
        if isinstance(seg, int):
            value = index(value, seg)
            if value is None:
                return MISSING
        elif isinstance(value, Mapping) and seg in value:
            value = value[seg]
        else:
            return MISSING
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def index(items: Any, i: int) -> Any:
    return items[i] if isinstance(items, list) and 0 <= i < len(items) else None


def put(out: dict[str, Any], segs: Sequence[str], value: Any) -> None:
    target = out
    for seg in segs[:-1]:
        nxt = target.get(seg)
        if not isinstance(nxt, dict):
            nxt = target[seg] = {}
        target = nxt
    target[segs[-1]] = value


def merge_at(out: dict[str, Any], segs: Sequence[str], sub: dict[str, Any]) -> None:
    """Merge ``sub`` into ``out`` at ``segs`` (two groups may share a path)."""
    target = out
    for seg in segs:
        nxt = target.get(seg)
        if not isinstance(nxt, dict):
            nxt = target[seg] = {}
        target = nxt
    for key, value in sub.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_at(target, (key,), value)
        else:
            target[key] = value


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def to_decimal(value: Any) -> Decimal | None:
    """A finite number from a JSON number or numeric text; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def number_text(value: int | float) -> str:
    """How JavaScript prints a number (close enough for integers and short decimals)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def plain(number: Decimal) -> int | float:
    """A limit for messages and params: 5 rather than 5.0 or Decimal('5')."""
    return int(number) if number == number.to_integral_value() else float(number)


def decimal_places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def is_multiple(number: Decimal, step: Decimal) -> bool:
    try:
        return number % step == 0
    except InvalidOperation:  # far too large for the step's precision
        return False


def js_length(text: str) -> int:
    """JavaScript ``String.length``: UTF-16 code units (astral characters count twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def js_truthy(value: Any) -> bool:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return value != 0 and value == value
    return bool(value) if isinstance(value, bool | str) or value is None else True


def is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)


def same_value(a: Any, b: Any) -> bool:
    """JavaScript ``===`` on JSON values: no 1 == True, no "1" == 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not any(same_value(value, seen) for seen in out):
            out.append(value)
    return out
