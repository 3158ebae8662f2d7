"""JSON from outside, parsed by the rules untrusted input must keep.

One home for these rules: request bodies (`web.strict_input`) and uploaded form files
(`engine.forms.loader`) parse with `loads_strict`. A refusal is InvalidInput with
`details = {"field": <path>, "problem": <code>}`; the path is JSON-pointer-ish
(`data.guests[2].name`), and the message never echoes the offending value (it may be the very
thing that cannot be encoded).

* at most MAX_JSON_BYTES bytes, nested at most `max_depth` containers deep (the outermost value
  is depth 1), at most MAX_NODES values in all, MAX_ITEMS items per list or keys per object;
* strings: valid Unicode (no lone surrogates: they cannot be stored as UTF-8, and a value
  holding one could never be shown again), no NUL (PostgreSQL text cannot hold it), at most
  MAX_STRING_CHARS characters; object keys at most MAX_KEY_CHARS;
* numbers: finite (NaN and ±Infinity are not JSON, and 1e999 parses to infinity), integers
  within a signed 64-bit range (what the database columns and JavaScript forms can carry);
* object keys: each at most once in its object (`{"amount": 1, "amount": 9}` means different
  things to different parsers; Python's would silently keep the last).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from engine.errors import InvalidInput

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_ITEMS = 10_000
MAX_STRING_CHARS = 1_000_000
MAX_KEY_CHARS = 1_000
MAX_INT = 2**63 - 1

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_NAMED_CHARS = 60  # of a key, in the field path an answer names
# What decides the nesting depth: strings (skipped whole: brackets inside them do not count),
# brackets and the separators that move the path on.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]', re.DOTALL)

PROBLEMS = {
    "not_unicode": ("含有无效的 Unicode 字符（孤立代理项）", "invalid Unicode (a lone surrogate)"),
    "nul": ("含有 NUL 字符", "contains a NUL character"),
    "not_finite": ("数值必须是有限数（不接受 NaN/Infinity）", "numbers must be finite"),
    "int_range": ("整数超出范围", f"integers must be within ±{MAX_INT}"),
    "too_deep": (f"嵌套超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH} levels"),
    "too_long": ("文本过长", "text too long"),
    "key_too_long": ("字段名过长", f"key longer than {MAX_KEY_CHARS} characters"),
    "too_many_items": ("条目过多", f"more than {MAX_ITEMS} items"),
    "too_many_values": ("请求内容过多", f"more than {MAX_NODES} values in all"),
    "too_large": ("请求体过大", f"body larger than {MAX_JSON_BYTES} bytes"),
    "duplicate_key": ("字段重复出现", "the key appears more than once in its object"),
}


class _NonFinite:
    """What `NaN`, `Infinity` and `-Infinity` parse to: found (with its path) by the walk."""


NON_FINITE = _NonFinite()


class _OutOfRange:
    """What an integer literal too long for any 64-bit value parses to. `int()` itself refuses
    more than 4,300 digits with a ValueError that would read as "not valid JSON"; this way the
    walk names the field instead, and no huge number is ever built."""


OUT_OF_RANGE = _OutOfRange()
_INT_DIGITS = len(str(MAX_INT)) + 1  # with a minus sign


def _parse_int(text: str) -> int | _OutOfRange:
    return int(text) if len(text) <= _INT_DIGITS else OUT_OF_RANGE


class _DuplicateKeys(dict[str, Any]):
    """What a JSON object naming a key twice parses to: the walk names that key's field."""

    def __init__(self, pairs: list[tuple[str, Any]], duplicate: str) -> None:
        super().__init__(pairs)
        self.duplicate = duplicate


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:  # fewer keys than pairs: find the first one named again
        if key in seen:
            return _DuplicateKeys(pairs, key)
        seen.add(key)
    return obj  # not reached


def rejected(path: str, problem: str) -> InvalidInput:
    zh, en = PROBLEMS[problem]
    where = path or "请求体 (body)"
    return InvalidInput(f"字段 {where}：{zh} (field {path or 'body'}: {en})",
                        {"field": path, "problem": problem})


def child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _NAME.match(key):
        # a key too long to be a field name is named by its start (the answer stays short)
        name = key if len(key) <= _NAMED_CHARS else key[:_NAMED_CHARS] + "…"
        return f"{path}.{name}" if path else name
    # any other key in brackets, ASCII-escaped (a lone surrogate must not reach the answer)
    return f"{path}[{json.dumps(key[:_NAMED_CHARS])}]"


def check_string(value: str, path: str, limit: int = MAX_STRING_CHARS) -> None:
    if len(value) > limit:
        raise rejected(path, "key_too_long" if limit == MAX_KEY_CHARS else "too_long")
    if "\x00" in value:
        raise rejected(path, "nul")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise rejected(path, "not_unicode") from None


def check_value(value: Any, path: str = "", max_depth: int = MAX_DEPTH) -> None:
    """Walk a parsed JSON value (iteratively): every rule above, first offender named."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    nodes = 0
    while stack:
        item, where, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise rejected(path, "too_many_values")
        if isinstance(item, str):
            check_string(item, where)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT <= item <= MAX_INT:
                raise rejected(where, "int_range")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise rejected(where, "not_finite")
        elif item is NON_FINITE:
            raise rejected(where, "not_finite")
        elif item is OUT_OF_RANGE:
            raise rejected(where, "int_range")
        elif isinstance(item, dict):
            if isinstance(item, _DuplicateKeys):
                raise rejected(child_path(where, item.duplicate), "duplicate_key")
            if depth >= max_depth:
                raise rejected(where, "too_deep")
            if len(item) > MAX_ITEMS:
                raise rejected(where, "too_many_items")
            children = []
            for key, child in item.items():
                inner = child_path(where, key)
                check_string(key, inner, MAX_KEY_CHARS)
                children.append((child, inner, depth + 1))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise rejected(where, "too_deep")
            if len(item) > MAX_ITEMS:
                raise rejected(where, "too_many_items")
            stack.extend((child, f"{where}[{i}]", depth + 1)
                         for i, child in reversed(list(enumerate(item))))


def _too_deep_at(data: bytes, max_depth: int) -> str | None:
    """Where a JSON text first nests deeper than ``max_depth``, found without parsing it (the
    parser itself recurses: 1000 levels exhaust Python's stack). None when it does not."""
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return None  # cannot be: not enough brackets (the common case, at C speed)
    # one frame per open container: [is_object, its current key or index]
    frames: list[list[Any]] = []
    last_string: bytes | None = None
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            if len(frames) >= max_depth:
                return _frames_path(frames)
            frames.append([token == b"{", 0 if token == b"[" else ""])
        elif token in (b"]", b"}"):
            if frames:
                frames.pop()
        elif token == b",":
            if frames and not frames[-1][0]:
                frames[-1][1] += 1
        elif token == b":":
            if frames and frames[-1][0] and last_string is not None:
                try:
                    frames[-1][1] = json.loads(last_string)
                except ValueError:
                    frames[-1][1] = "?"
        else:
            last_string = token
            continue
        last_string = None
    return None


def _frames_path(frames: list[list[Any]]) -> str:
    path = ""
    for is_object, key in frames:
        path = child_path(path, str(key) if is_object else int(key))
    return path


def loads_strict(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` for untrusted input: the rules above, InvalidInput naming the field.
    Plain syntax errors stay ValueError (callers answer "not valid JSON" for them)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_JSON_BYTES:
        raise rejected("", "too_large")
    deep = _too_deep_at(raw, max_depth)
    if deep is not None:
        raise rejected(deep, "too_deep")
    try:
        value = json.loads(raw, parse_constant=lambda _name: NON_FINITE, parse_int=_parse_int,
                           object_pairs_hook=_object)
    except RecursionError:  # not expected after the scan; never a 500 all the same
        raise rejected("", "too_deep") from None
    check_value(value, max_depth=max_depth)
    return value
