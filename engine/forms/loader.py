"""Loading a form file and the checks that refuse forms the server cannot validate against.

``load_form`` parses the JSON and walks the components once at deploy time: unknown types,
duplicate ids, conflicting data paths (as form-js's PathRegistry), keys that are not
identifiers, malformed ``validate``/``conditional``/option settings, patterns Python cannot
compile and FEEL expressions (``=...``) beyond the evaluator's bounds (``engine.forms.feel``:
``MAX_FEEL_CHARS``, ``MAX_FEEL_DEPTH``, ``MAX_FEEL_OPERATORS``) all raise ``FormSchemaError``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any

import regex

from engine.errors import InvalidInput
from engine.forms.feel import feel_bounds_problem
from engine.forms.people import check_person_field
from engine.forms.schema import (
    CHOICE_TYPES,
    CONTAINER_TYPES,
    DATETIME_SUBTYPES,
    INPUT_TYPES,
    KNOWN_TYPES,
    UNTRUSTED_KEYED_TYPES,
    VALIDATION_TYPES,
    FormField,
    FormSchema,
    FormSchemaError,
    Node,
)
from engine.forms.values import MISSING, join, to_decimal
from engine.strict_json import loads_strict

MAX_NESTING = 16
# each nesting level is a component in a components list, plus the root and a field's settings
MAX_JSON_DEPTH = 2 * MAX_NESTING + 8

_KEY_SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def load_form(text: str | bytes) -> FormSchema:
    """Parse and check a form-js schema; raise :class:`FormSchemaError` if it is not usable."""
    try:
        # the rules every JSON from outside keeps (a form file is uploaded): no duplicate keys,
        # lone surrogates, NaN or out-of-range integers; deep enough for MAX_NESTING groups
        raw = loads_strict(text, max_depth=MAX_JSON_DEPTH)
    except InvalidInput as exc:
        raise FormSchemaError(exc.message) from None
    except ValueError as exc:
        raise FormSchemaError(f"不是有效的 JSON (not valid JSON): {exc}") from None
    if not isinstance(raw, dict):
        raise FormSchemaError("表单必须是 JSON 对象 (the form must be a JSON object)")
    if raw.get("type", "default") != "default":
        raise FormSchemaError(f"根组件类型必须是 default (root type is {raw.get('type')!r})")
    loader = _Loader()
    tree = loader.components(raw.get("components", MISSING), "components", (), "", 0)
    return FormSchema(raw=raw, fields=loader.fields, tree=tree)


class _Claims:
    """Data paths claimed within one scope, as form-js's PathRegistry: a field's path is closed
    (nothing may sit at or under it), a group's path is open (groups may share it)."""

    def __init__(self) -> None:
        self.closed: set[tuple[str, ...]] = set()
        self.open: set[tuple[str, ...]] = set()

    def claim(self, path: tuple[str, ...], closed: bool) -> bool:
        if any(path[: len(c)] == c for c in self.closed):
            return False
        if closed and any(p[: len(path)] == path for p in self.closed | self.open):
            return False
        (self.closed if closed else self.open).add(path)
        return True


class _Loader:
    def __init__(self) -> None:
        self.fields: list[FormField] = []
        self.ids: set[str] = set()
        self.claims: list[_Claims] = [_Claims()]

    def components(
        self, items: Any, where: str, base: tuple[str, ...], shown: str, depth: int
    ) -> tuple[Node, ...]:
        if depth > MAX_NESTING:
            raise FormSchemaError(f"{where}: 嵌套过深 (nested more than {MAX_NESTING} levels)")
        if not isinstance(items, list):
            raise FormSchemaError(f"{where}: 缺少 components 列表 (components must be a list)")
        return tuple(
            self.component(c, f"{where}[{i}]", base, shown, depth) for i, c in enumerate(items)
        )

    def component(
        self, comp: Any, where: str, base: tuple[str, ...], shown: str, depth: int
    ) -> Node:
        if not isinstance(comp, dict):
            raise FormSchemaError(f"{where}: 组件必须是对象 (component must be an object)")
        name = self.identify(comp, where)
        ctype = comp.get("type")
        if ctype not in KNOWN_TYPES:
            raise FormSchemaError(f"组件 {name}: 未知类型 {ctype!r} (unknown component type)", name)
        _check_conditional(comp, name)
        _check_expressions(comp, name)
        if ctype in CONTAINER_TYPES:
            return self.container(comp, name, where, base, shown, depth)
        if ctype in INPUT_TYPES or ctype in UNTRUSTED_KEYED_TYPES:
            return self.keyed(comp, name, base, shown)
        return Node(comp=comp, kind="inert", segs=())

    def identify(self, comp: dict[str, Any], where: str) -> str:
        cid = comp.get("id")
        if cid is None:
            key = comp.get("key")
            return f"{where} ({key})" if isinstance(key, str) else where
        if not isinstance(cid, str) or not cid:
            raise FormSchemaError(f"{where}: id 必须是非空字符串 (id must be a non-empty string)")
        if cid in self.ids:
            raise FormSchemaError(f"组件 {cid}: id 重复 (duplicate component id)", cid)
        self.ids.add(cid)
        return cid

    def keyed(self, comp: dict[str, Any], name: str, base: tuple[str, ...], shown: str) -> Node:
        key = comp.get("key")
        segs = _segments(key, name, "key")
        if not segs:
            raise FormSchemaError(f"组件 {name}: 缺少 key (input component has no key)", name)
        self.claim(base + segs, True, name, key)
        if comp["type"] in UNTRUSTED_KEYED_TYPES:
            return Node(comp=comp, kind="inert", segs=segs)
        validate = _check_validate(comp, name)
        _check_field_options(comp, name)
        problem = check_person_field(comp)
        if problem is not None:
            raise FormSchemaError(f"组件 {name}: {problem}", name)
        path = join(shown, segs)
        ffield = FormField(
            key=key,
            path=path,
            type=comp["type"],
            id=comp.get("id"),
            # form-js date/time fields carry their caption as dateLabel / timeLabel
            label=comp.get("label") or comp.get("dateLabel") or comp.get("timeLabel"),
            required=bool(validate.get("required")),
            component=comp,
        )
        self.fields.append(ffield)
        return Node(
            comp=comp,
            kind="input",
            segs=segs,
            field=ffield,
            regex=_compile_pattern(validate.get("pattern"), name),
        )

    def container(
        self,
        comp: dict[str, Any],
        name: str,
        where: str,
        base: tuple[str, ...],
        shown: str,
        depth: int,
    ) -> Node:
        segs = _segments(comp.get("path"), name, "path")
        items = comp.get("components", [])
        if comp["type"] == "group":
            if segs:
                self.claim(base + segs, False, name, comp["path"])
            children = self.components(
                items, f"{where}.components", base + segs, join(shown, segs), depth + 1
            )
            return Node(comp=comp, kind="group", segs=segs, children=children)
        if not segs:
            raise FormSchemaError(f"组件 {name}: 动态列表缺少 path (dynamiclist has no path)", name)
        self.claim(base + segs, True, name, comp["path"])
        self.claims.append(_Claims())
        try:
            children = self.components(
                items, f"{where}.components", (), join(shown, segs) + "[]", depth + 1
            )
        finally:
            self.claims.pop()
        return Node(comp=comp, kind="list", segs=segs, children=children)

    def claim(self, path: tuple[str, ...], closed: bool, name: str, written: str) -> None:
        if not self.claims[-1].claim(path, closed):
            raise FormSchemaError(
                f"组件 {name}: 数据路径 '{written}' 与其他字段冲突 "
                f"(binding path '{'.'.join(path)}' is already claimed)",
                name,
            )


def _segments(value: Any, name: str, attr: str) -> tuple[str, ...]:
    """Split a ``key``/``path`` into segments; each becomes a (Python) variable or dict key."""
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        raise FormSchemaError(f"组件 {name}: {attr} 必须是字符串 ({attr} must be a string)", name)
    segs = tuple(value.split("."))
    for seg in segs:
        if not _KEY_SEGMENT.fullmatch(seg) or keyword.iskeyword(seg):
            raise FormSchemaError(
                f"组件 {name}: {attr} '{value}' 无效，须为以字母开头的英文标识符，"
                f"不能以下划线开头，不能是 Python 关键字 ({attr} '{value}' is not a valid "
                "identifier: ASCII letters, digits and '_', starting with a letter, "
                "not a Python keyword)",
                name,
            )
    return segs


def _check_conditional(comp: Mapping[str, Any], name: str) -> None:
    cond = comp.get("conditional")
    if cond is None:
        return
    if not isinstance(cond, dict) or not isinstance(cond.get("hide"), str | None):
        raise FormSchemaError(
            f'组件 {name}: conditional 格式无效 (conditional must be {{"hide": "=..."}})', name
        )


def _check_expressions(comp: Mapping[str, Any], name: str) -> None:
    """Every FEEL expression (a string starting with ``=``) among the component's settings
    stays within the evaluator's bounds (engine.forms.feel). Child components are checked on
    their own; the walk uses an explicit stack (settings can nest as deep as JSON allows)."""
    stack: list[tuple[str, Any]] = [(k, v) for k, v in comp.items() if k != "components"]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if value.startswith("="):
                problem = feel_bounds_problem(value[1:])
                if problem is not None:
                    raise FormSchemaError(
                        f"组件 {name}: {where} 表达式无法使用 (expression refused): {problem}",
                        name,
                    )
        elif isinstance(value, dict):
            stack.extend((f"{where}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))


def _check_validate(comp: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    validate = comp.get("validate", {})
    if not isinstance(validate, dict):
        raise FormSchemaError(
            f"组件 {name}: validate 必须是对象 (validate must be an object)", name
        )
    for limit in ("min", "max", "minLength", "maxLength"):
        value = validate.get(limit)
        if value is None or value == "" or (isinstance(value, str) and value.startswith("=")):
            continue
        if to_decimal(value) is None:
            raise FormSchemaError(
                f"组件 {name}: validate.{limit} 不是数字 (validate.{limit} is not a number)", name
            )
    vtype = validate.get("validationType")
    if vtype is not None and vtype not in VALIDATION_TYPES:
        raise FormSchemaError(
            f"组件 {name}: 未知的 validationType {vtype!r} (unknown validationType)", name
        )
    return validate


def _check_field_options(comp: Mapping[str, Any], name: str) -> None:
    ctype = comp["type"]
    if ctype == "datetime" and (comp.get("subtype") or "date") not in DATETIME_SUBTYPES:
        raise FormSchemaError(
            f"组件 {name}: 未知的日期子类型 {comp.get('subtype')!r} (unknown datetime subtype)",
            name,
        )
    if ctype in CHOICE_TYPES and "values" in comp:
        values = comp["values"]
        if not isinstance(values, list) or not all(
            isinstance(v, dict) and "value" in v for v in values
        ):
            raise FormSchemaError(
                f"组件 {name}: values 必须是 {{label, value}} 列表 "
                "(values must be a list of {label, value} objects)",
                name,
            )
    for attr in ("increment", "decimalDigits"):
        if (
            ctype == "number"
            and comp.get(attr) not in (None, "")
            and (to_decimal(comp[attr]) is None)
        ):
            raise FormSchemaError(f"组件 {name}: {attr} 不是数字 ({attr} is not a number)", name)


def _compile_pattern(pattern: Any, name: str) -> regex.Pattern[str] | None:
    if pattern in (None, ""):
        return None
    if not isinstance(pattern, str):
        raise FormSchemaError(f"组件 {name}: pattern 必须是字符串 (pattern must be a string)", name)
    try:
        # The `regex` module with re's syntax (VERSION0): unlike re, a match can be given a time
        # limit and runs without the GIL, so a pattern that backtracks for ever (``^(a|a)+$``)
        # cannot stall the server (engine.forms.rules).
        return regex.compile(pattern, regex.ASCII | regex.VERSION0)
    except regex.error as exc:
        raise FormSchemaError(
            f"组件 {name}: 正则表达式无效 (invalid pattern {pattern!r}: {exc})", name
        ) from exc
