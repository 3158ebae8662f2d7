"""Server-side validation of data submitted through bpmn.io form-js forms (``*.form`` files).

The browser renders a form with form-js and validates as the user types, but the server never
trusts the browser: :func:`validate_submission` re-checks every submitted value against the form
schema and returns the cleaned data (only what the form declares, coerced to its types) together
with the errors, keyed by data path (``title``, ``address.street``, ``guests[1].name``).

The rules follow form-js 1.x (``packages/form-js-viewer/src/core/Validator.js`` and the field
components), so that the server accepts what the browser accepted:

* ``validate.required``: ``None``, ``""`` and ``[]`` are missing; a required checkbox must be
  ticked. Whitespace-only text counts as given (as in form-js).
* ``validate.pattern`` is tested like JavaScript's ``new RegExp(pattern).test(value)``: a
  *search*, not a full match. Authors who mean the whole value write ``^...$``. Patterns are
  compiled with ``re.ASCII`` so that ``\\d``/``\\w`` mean ASCII as in JavaScript; a pattern Python
  cannot compile (e.g. ``(?<name>...)``) is rejected by :func:`load_form`.
* ``minLength``/``maxLength`` count the trimmed value in UTF-16 code units (JavaScript
  ``value.trim().length``). ``min``/``max``/``minLength``/``maxLength`` may be FEEL expressions
  (``=budget``); those the small evaluator below cannot resolve to a number are skipped.
* ``validationType`` ``email`` uses the WHATWG "valid e-mail address" pattern (as form-js);
  ``phone`` requires international form (``+86...`` or ``0086...``), a superset of what form-js
  accepts. As in form-js, a domestic number without the country code is rejected.
* number fields: numbers or numeric strings, ``decimalDigits`` and ``increment`` as in form-js.
* select/radio/checklist/taglist: values must be among the options. Static ``values`` are
  always checked; ``valuesKey`` options are checked against ``current[valuesKey]`` when the
  caller's current data holds that list, otherwise (and for ``valuesExpression``) not checked.
* ``readonly``/``disabled`` fields ignore the submitted value and keep the current one.
* ``conditional.hide``: a hidden field is neither validated nor kept. form-js evaluates it as a
  FEEL unary test; a tiny evaluator here understands paths (``a``, ``a.b``, ``this.x``,
  ``parent.x``), string/number/boolean/null literals, ``= != < <= > >=``, ``and``, ``or``,
  ``not(...)`` and parentheses. Anything else counts as "visible". As in form-js's FEEL engine a
  condition evaluating to null hides the field (``=amount > 10`` while ``amount`` is empty).

``engine`` never imports Flask; this module needs only the standard library.
"""

from __future__ import annotations

import json
import keyword
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from typing import Any

__all__ = [
    "FIELD_ERROR_CODES",
    "FieldError",
    "FormField",
    "FormSchema",
    "FormSchemaError",
    "defaults",
    "field_keys",
    "load_form",
    "validate_submission",
]

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
        "unknown",
    }
)

INPUT_TYPES = frozenset(
    {
        "textfield",
        "textarea",
        "number",
        "datetime",
        "checkbox",
        "radio",
        "select",
        "checklist",
        "taglist",
    }
)
# Keyed in form-js, but their values are never taken from a submission: an ``expression`` field
# is computed in the browser (recompute it server-side if needed), a ``filepicker`` holds a
# browser file reference this service cannot receive.
UNTRUSTED_KEYED_TYPES = frozenset({"expression", "filepicker"})
CONTAINER_TYPES = frozenset({"group", "dynamiclist"})
PRESENTATION_TYPES = frozenset(
    {
        "text",
        "html",
        "image",
        "spacer",
        "separator",
        "button",
        "iframe",
        "table",
        "documentPreview",
    }
)
KNOWN_TYPES = INPUT_TYPES | UNTRUSTED_KEYED_TYPES | CONTAINER_TYPES | PRESENTATION_TYPES
CHOICE_TYPES = frozenset({"radio", "select", "checklist", "taglist"})
MULTI_CHOICE_TYPES = frozenset({"checklist", "taglist"})
TEXT_TYPES = frozenset({"textfield", "textarea"})
DATETIME_SUBTYPES = frozenset({"date", "time", "datetime"})
VALIDATION_TYPES = frozenset({"email", "phone", "custom", ""})

MAX_NESTING = 16
MAX_NUMBER_CHARS = 64

_KEY_SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
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


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


# --------------------------------------------------------------------------------------------
# public types


@dataclass(frozen=True)
class FieldError:
    """One problem with one submitted value. ``message`` is zh-CN for the user."""

    key: str
    code: str
    message: str
    message_en: str
    params: dict[str, Any] = field(default_factory=dict)


class FormSchemaError(Exception):
    """The form file is not a form this service can validate against."""

    def __init__(self, message: str, component: str | None = None) -> None:
        super().__init__(message)
        self.component = component


@dataclass(frozen=True)
class FormField:
    """An input field and where its value lives in the submitted data.

    ``path`` is the flattened data path: ``title``, ``address.street`` for a field in a group
    with ``path: "address"``, ``guests[].name`` for a field repeated in a dynamic list.
    """

    key: str
    path: str
    type: str
    id: str | None
    label: str | None
    required: bool
    component: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class _Node:
    comp: Mapping[str, Any]
    kind: str  # input | group | list | inert
    segs: tuple[str, ...]
    children: tuple[_Node, ...] = ()
    field: FormField | None = None
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class FormSchema:
    """A loaded form: the parsed JSON (``raw``) and its input fields in form order."""

    raw: dict[str, Any]
    fields: list[FormField]
    tree: tuple[_Node, ...] = field(repr=False, compare=False)


# --------------------------------------------------------------------------------------------
# loading


def load_form(text: str | bytes) -> FormSchema:
    """Parse and check a form-js schema; raise :class:`FormSchemaError` if it is not usable."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FormSchemaError(f"不是有效的 JSON (not valid JSON): {exc}") from exc
    if not isinstance(raw, dict):
        raise FormSchemaError("表单必须是 JSON 对象 (the form must be a JSON object)")
    if raw.get("type", "default") != "default":
        raise FormSchemaError(f"根组件类型必须是 default (root type is {raw.get('type')!r})")
    loader = _Loader()
    tree = loader.components(raw.get("components", _MISSING), "components", (), "", 0)
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
    ) -> tuple[_Node, ...]:
        if depth > MAX_NESTING:
            raise FormSchemaError(f"{where}: 嵌套过深 (nested more than {MAX_NESTING} levels)")
        if not isinstance(items, list):
            raise FormSchemaError(f"{where}: 缺少 components 列表 (components must be a list)")
        return tuple(
            self.component(c, f"{where}[{i}]", base, shown, depth) for i, c in enumerate(items)
        )

    def component(
        self, comp: Any, where: str, base: tuple[str, ...], shown: str, depth: int
    ) -> _Node:
        if not isinstance(comp, dict):
            raise FormSchemaError(f"{where}: 组件必须是对象 (component must be an object)")
        name = self.identify(comp, where)
        ctype = comp.get("type")
        if ctype not in KNOWN_TYPES:
            raise FormSchemaError(f"组件 {name}: 未知类型 {ctype!r} (unknown component type)", name)
        _check_conditional(comp, name)
        if ctype in CONTAINER_TYPES:
            return self.container(comp, name, where, base, shown, depth)
        if ctype in INPUT_TYPES or ctype in UNTRUSTED_KEYED_TYPES:
            return self.keyed(comp, name, base, shown)
        return _Node(comp=comp, kind="inert", segs=())

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

    def keyed(self, comp: dict[str, Any], name: str, base: tuple[str, ...], shown: str) -> _Node:
        key = comp.get("key")
        segs = _segments(key, name, "key")
        if not segs:
            raise FormSchemaError(f"组件 {name}: 缺少 key (input component has no key)", name)
        self.claim(base + segs, True, name, key)
        if comp["type"] in UNTRUSTED_KEYED_TYPES:
            return _Node(comp=comp, kind="inert", segs=segs)
        validate = _check_validate(comp, name)
        _check_field_options(comp, name)
        path = _join(shown, segs)
        ffield = FormField(
            key=key,
            path=path,
            type=comp["type"],
            id=comp.get("id"),
            label=comp.get("label"),
            required=bool(validate.get("required")),
            component=comp,
        )
        self.fields.append(ffield)
        return _Node(
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
    ) -> _Node:
        segs = _segments(comp.get("path"), name, "path")
        items = comp.get("components", [])
        if comp["type"] == "group":
            if segs:
                self.claim(base + segs, False, name, comp["path"])
            children = self.components(
                items, f"{where}.components", base + segs, _join(shown, segs), depth + 1
            )
            return _Node(comp=comp, kind="group", segs=segs, children=children)
        if not segs:
            raise FormSchemaError(f"组件 {name}: 动态列表缺少 path (dynamiclist has no path)", name)
        self.claim(base + segs, True, name, comp["path"])
        self.claims.append(_Claims())
        try:
            children = self.components(
                items, f"{where}.components", (), _join(shown, segs) + "[]", depth + 1
            )
        finally:
            self.claims.pop()
        return _Node(comp=comp, kind="list", segs=segs, children=children)

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
        if _to_decimal(value) is None:
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
            and (_to_decimal(comp[attr]) is None)
        ):
            raise FormSchemaError(f"组件 {name}: {attr} 不是数字 ({attr} is not a number)", name)


def _compile_pattern(pattern: Any, name: str) -> re.Pattern[str] | None:
    if pattern in (None, ""):
        return None
    if not isinstance(pattern, str):
        raise FormSchemaError(f"组件 {name}: pattern 必须是字符串 (pattern must be a string)", name)
    try:
        return re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise FormSchemaError(
            f"组件 {name}: 正则表达式无效 (invalid pattern {pattern!r}: {exc})", name
        ) from exc


# --------------------------------------------------------------------------------------------
# public helpers


def field_keys(form: FormSchema) -> list[str]:
    """The flattened data paths of the form's input fields, in form order."""
    return [f.path for f in form.fields]


def defaults(form: FormSchema) -> dict[str, Any]:
    """Initial data from the fields' ``defaultValue`` (nested by group paths).

    Fields inside dynamic lists are left out: their defaults apply per added item.
    """
    out: dict[str, Any] = {}
    _collect_defaults(form.tree, out)
    return out


def _collect_defaults(nodes: Iterable[_Node], out: dict[str, Any]) -> None:
    for node in nodes:
        if node.kind == "input" and "defaultValue" in node.comp:
            _put(out, node.segs, node.comp["defaultValue"])
        elif node.kind == "group":
            sub: dict[str, Any] = {}
            _collect_defaults(node.children, sub)
            if sub:
                _merge_at(out, node.segs, sub)


# --------------------------------------------------------------------------------------------
# validation


def validate_submission(
    form: FormSchema, data: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, FieldError]]:
    """Check ``data`` (what the browser submitted) against ``form``.

    ``current`` is the data the task already has (process variables): read-only and disabled
    fields keep their value from it, conditions and ``valuesKey`` options are looked up in it.

    Returns ``(cleaned, errors)``. ``cleaned`` holds exactly the visible input fields, coerced
    (numbers as int/float, missing optional values as the field type's empty value); keys the
    form does not declare are dropped. Use it only when ``errors`` is empty. ``errors`` maps a
    data path (``guests[1].name``) to the first problem found for that value.
    """
    cur = current if isinstance(current, Mapping) else {}
    if not isinstance(data, Mapping):
        return {}, {"": _error("", "type", "object")}
    # First pass: coerce every value, conditions ignored, to build the data the conditions see
    # (form-js evaluates them against the whole form state, not only the visible fields).
    provisional = _Pass(expr_root=_deep_merge(cur, data), current=cur, apply_hide=False)
    draft = provisional.run(form.tree, data)
    final = _Pass(expr_root=_deep_merge(cur, draft), current=cur, apply_hide=True)
    cleaned = final.run(form.tree, data)
    return cleaned, final.errors


@dataclass(frozen=True)
class _Scope:
    raw: Mapping[str, Any]  # submitted data at this level
    cur: Mapping[str, Any]  # current data at this level
    prefix: str  # error-key prefix
    base: tuple[str | int, ...]  # absolute data path of this level (for `this`)
    this: Mapping[str, Any] | None = None
    parent: Mapping[str, Any] | None = None
    indexes: tuple[int, ...] = ()


class _Invalid(Exception):
    """A value breaks a rule (internal control flow; becomes a FieldError)."""

    def __init__(self, code: str, variant: str = "", params: dict[str, Any] | None = None):
        super().__init__(code)
        self.code = code
        self.variant = variant
        self.params = params or {}


@dataclass
class _Pass:
    expr_root: Mapping[str, Any]
    current: Mapping[str, Any]
    apply_hide: bool
    errors: dict[str, FieldError] = field(default_factory=dict)

    def run(self, tree: Sequence[_Node], data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.walk(tree, _Scope(raw=data, cur=self.current, prefix="", base=()), out)
        return out

    def walk(self, nodes: Iterable[_Node], scope: _Scope, out: dict[str, Any]) -> None:
        env = _Env(self, scope)
        for node in nodes:
            if node.kind == "inert" or (self.apply_hide and env.hidden(node.comp)):
                continue
            if node.kind == "input":
                self.input(node, scope, env, out)
            elif node.kind == "group":
                self.group(node, scope, out)
            else:
                self.repeat(node, scope, out)

    def fail(self, key: str, problem: _Invalid) -> None:
        self.errors.setdefault(key, _error(key, problem.code, problem.variant, problem.params))

    def input(self, node: _Node, scope: _Scope, env: _Env, out: dict[str, Any]) -> None:
        comp = node.comp
        if env.locked(comp.get("readonly")) or env.locked(comp.get("disabled")):
            _put(out, node.segs, _kept_value(node, scope.cur))
            return
        key = _join(scope.prefix, node.segs)
        try:
            value = _coerce(node, _get(scope.raw, node.segs))
        except _Invalid as problem:
            self.fail(key, problem)
            return
        _put(out, node.segs, value)
        try:
            _check(node, value, env)
        except _Invalid as problem:
            self.fail(key, problem)

    def group(self, node: _Node, scope: _Scope, out: dict[str, Any]) -> None:
        raw = self.mapping_at(scope.raw, node.segs, _join(scope.prefix, node.segs))
        inner = _Scope(
            raw=raw,
            cur=_mapping(_get(scope.cur, node.segs)),
            prefix=_join(scope.prefix, node.segs),
            base=scope.base + node.segs,
            this=scope.this,
            parent=scope.parent,
            indexes=scope.indexes,
        )
        sub: dict[str, Any] = {}
        self.walk(node.children, inner, sub)
        if sub or not node.segs:
            _merge_at(out, node.segs, sub)

    def repeat(self, node: _Node, scope: _Scope, out: dict[str, Any]) -> None:
        key = _join(scope.prefix, node.segs)
        raw = _get(scope.raw, node.segs)
        if raw is _MISSING or raw is None:
            raw = []
        if not isinstance(raw, list):
            self.fail(key, _Invalid("type", "list"))
            return
        cur = _get(scope.cur, node.segs)
        cur = cur if isinstance(cur, list) else []
        context_items = _get(self.expr_root, scope.base + node.segs)
        items: list[Any] = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                self.fail(f"{key}[{i}]", _Invalid("type", "object"))
                items.append({})
                continue
            this = _index(context_items, i)
            inner = _Scope(
                raw=item,
                cur=_mapping(_index(cur, i)),
                prefix=f"{key}[{i}]",
                base=(*scope.base, *node.segs, i),
                this=this or item,
                parent=scope.this if scope.this is not None else self.expr_root,
                indexes=(*scope.indexes, i + 1),
            )
            sub: dict[str, Any] = {}
            self.walk(node.children, inner, sub)
            items.append(sub)
        _put(out, node.segs, items)

    def mapping_at(self, raw: Mapping[str, Any], segs: tuple[str, ...], key: str) -> Mapping:
        value = _get(raw, segs)
        if value is _MISSING or value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(key, _Invalid("type", "object"))
            return {}
        return value


class _Env:
    """What conditions and FEEL-valued settings of the fields at one level can see."""

    def __init__(self, run: _Pass, scope: _Scope) -> None:
        self.run = run
        self.scope = scope

    @cached_property
    def context(self) -> dict[str, Any]:
        # form-js buildExpressionContext: special keys, then the data, then _this_ / _parent_ / _i_
        scope = self.scope
        special = {
            "this": scope.this if scope.this is not None else self.run.expr_root,
            "parent": scope.parent,
            "i": list(scope.indexes),
        }
        wrapped = {f"_{k}_": v for k, v in special.items()}
        return {**special, **self.run.expr_root, **wrapped}

    def hidden(self, comp: Mapping[str, Any]) -> bool:
        cond = comp.get("conditional")
        hide = cond.get("hide") if isinstance(cond, Mapping) else None
        if not isinstance(hide, str) or not hide.startswith("="):
            return False
        return _feel_hides(hide[1:], self.context)

    def locked(self, flag: Any) -> bool:
        """``readonly``/``disabled``: a FEEL expression we cannot evaluate counts as locked."""
        if isinstance(flag, str) and flag.startswith("="):
            result = _feel_value(flag[1:], self.context)
            return result is _UNKNOWN or _js_truthy(result)
        return _js_truthy(flag)

    def number(self, setting: Any) -> Decimal | None:
        if isinstance(setting, str) and setting.startswith("="):
            setting = _feel_value(setting[1:], self.context)
        return _to_decimal(setting)

    def options(self, comp: Mapping[str, Any]) -> list[Any] | None:
        """The allowed option values, or None when they are not known on the server."""
        if "values" in comp:
            return [v.get("value") for v in comp["values"]]
        source = comp.get("valuesKey")
        if not isinstance(source, str) or not source:
            return None if "valuesExpression" in comp else []
        found = self.run.current.get(source, _MISSING)
        if found is _MISSING and "." in source:
            found = _get(self.run.current, tuple(source.split(".")))
        return _normalize_options(found) if isinstance(found, list) else None


# --------------------------------------------------------------------------------------------
# per-type coercion and rules


def _empty(ctype: str) -> Any:
    if ctype in TEXT_TYPES:
        return ""
    if ctype == "checkbox":
        return False
    return [] if ctype in MULTI_CHOICE_TYPES else None


def _kept_value(node: _Node, cur: Mapping[str, Any]) -> Any:
    value = _get(cur, node.segs)
    if value is not _MISSING:
        return value
    return node.comp.get("defaultValue", _empty(node.comp["type"]))


def _coerce(node: _Node, raw: Any) -> Any:
    ctype = node.comp["type"]
    if raw is _MISSING or raw is None or (raw == "" and ctype not in TEXT_TYPES):
        return _empty(ctype)
    if ctype in TEXT_TYPES:
        return _coerce_text(raw, single_line=ctype == "textfield")
    if ctype == "number":
        return _coerce_number(raw, bool(node.comp.get("serializeToString")))
    if ctype == "datetime":
        return _coerce_datetime(raw, node.comp.get("subtype") or "date")
    if ctype == "checkbox":
        if not isinstance(raw, bool):
            raise _Invalid("type", "boolean")
        return raw
    if ctype in MULTI_CHOICE_TYPES:
        if not isinstance(raw, list) or not all(_is_scalar(v) for v in raw):
            raise _Invalid("type", "list")
        return _dedupe(raw)
    if not _is_scalar(raw):
        raise _Invalid("type", "choice")
    return raw


def _coerce_text(raw: Any, single_line: bool) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Invalid("type", "text")
    text = raw if isinstance(raw, str) else _number_text(raw)
    if single_line and ("\n" in text or "\r" in text):
        raise _Invalid("type", "single_line")
    return text


def _coerce_number(raw: Any, as_string: bool) -> int | float | str:
    number = _to_decimal(raw)
    if number is None or (isinstance(raw, str) and len(raw) > MAX_NUMBER_CHARS):
        raise _Invalid("type", "number")
    if as_string:
        return raw.strip() if isinstance(raw, str) else _number_text(raw)
    if isinstance(raw, int | float):
        return raw
    if _INTEGER_TEXT.fullmatch(raw.strip()):
        return int(number)
    value = float(number)
    if not math.isfinite(value):
        raise _Invalid("type", "number")
    return value


def _coerce_datetime(raw: Any, subtype: str) -> str:
    if not isinstance(raw, str):
        raise _Invalid("date", subtype)
    shape, parse = {
        "date": (_DATE, date.fromisoformat),
        "time": (_TIME, time.fromisoformat),
        "datetime": (_DATETIME, datetime.fromisoformat),
    }[subtype]
    if not shape.fullmatch(raw):
        raise _Invalid("date", subtype)
    try:
        parse(raw)
    except ValueError as exc:
        raise _Invalid("date", subtype) from exc
    return raw


def _check(node: _Node, value: Any, env: _Env) -> None:
    comp = node.comp
    ctype = comp["type"]
    validate = comp.get("validate", {})
    if validate.get("required") and _is_unset(ctype, value):
        raise _Invalid("required")
    if _is_unset(ctype, value):
        return
    if ctype in TEXT_TYPES:
        _check_text(node, value, validate, env)
    elif ctype == "number":
        _check_number(comp, _to_decimal(value), validate, env)
    elif ctype in CHOICE_TYPES:
        _check_choice(comp, value, env)


def _is_unset(ctype: str, value: Any) -> bool:
    if ctype == "checkbox":
        return value is not True
    return value is None or value == "" or value == []


def _check_text(node: _Node, value: str, validate: Mapping[str, Any], env: _Env) -> None:
    length = _js_length(value.strip())
    low = env.number(validate.get("minLength"))
    if low is not None and length < low:
        raise _Invalid("minLength", params={"minLength": _plain(low)})
    high = env.number(validate.get("maxLength"))
    if high is not None and length > high:
        raise _Invalid("maxLength", params={"maxLength": _plain(high)})
    if node.regex is not None and not node.regex.search(value):
        raise _Invalid("pattern", params={"pattern": node.regex.pattern})
    kind = validate.get("validationType")
    if kind == "email" and not _EMAIL.fullmatch(value):
        raise _Invalid("email")
    if kind == "phone" and not _PHONE.search(value):
        raise _Invalid("phone")


def _check_number(
    comp: Mapping[str, Any], number: Decimal | None, validate: Mapping[str, Any], env: _Env
) -> None:
    if number is None:  # serializeToString keeps the text; it was parsed once already
        raise _Invalid("type", "number")
    digits = _to_decimal(comp.get("decimalDigits"))
    if digits is not None and digits >= 0 and _decimal_places(number) > digits:
        variant = "integer" if digits == 0 else "decimals"
        raise _Invalid("type", variant, {"decimalDigits": int(digits)})
    step = _to_decimal(comp.get("increment"))
    if step is not None and step > 0 and not _is_multiple(number, step):
        raise _Invalid("type", "increment", {"increment": _plain(step)})
    low = env.number(validate.get("min"))
    if low is not None and number < low:
        raise _Invalid("min", params={"min": _plain(low)})
    high = env.number(validate.get("max"))
    if high is not None and number > high:
        raise _Invalid("max", params={"max": _plain(high)})


def _check_choice(comp: Mapping[str, Any], value: Any, env: _Env) -> None:
    allowed = env.options(comp)
    if allowed is None:
        return
    chosen = value if isinstance(value, list) else [value]
    for item in chosen:
        if not any(_same(item, option) for option in allowed):
            raise _Invalid("option", params={"value": item})


def _normalize_options(options: list[Any]) -> list[Any]:
    """form-js normalizeOptionsData: primitives are their own value, objects carry ``value``."""
    out = []
    for option in options:
        if isinstance(option, Mapping):
            if "value" in option:
                out.append(option["value"])
        elif _is_scalar(option):
            out.append(option)
    return out


# --------------------------------------------------------------------------------------------
# messages

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
    ("option", ""): ("请选择有效的选项", "Please select a valid option."),
    ("email", ""): ("请输入有效的电子邮箱地址", "Please enter a valid email address."),
    ("phone", ""): (
        "请输入有效的国际电话号码，例如 +8613812345678",
        "Please enter a valid international phone number, e.g. +8613812345678.",
    ),
    ("date", "date"): ("日期格式无效", "Invalid date (expected YYYY-MM-DD)."),
    ("date", "time"): ("时间格式无效", "Invalid time (expected HH:MM)."),
    ("date", "datetime"): ("日期时间格式无效", "Invalid date and time (expected ISO 8601)."),
    ("unknown", ""): ("数据无效", "Invalid value."),
}


def _error(
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


# --------------------------------------------------------------------------------------------
# a tiny, safe FEEL subset (conditions, readonly/disabled, FEEL-valued validation limits)


class _Unknown:
    """A value the subset cannot decide (unsupported syntax, or semantics it does not mirror)."""

    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN: Any = _Unknown()
_FEEL_TOKEN = re.compile(
    r"""\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<op><=|>=|!=|[=<>().-])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))""",
    re.VERBOSE,
)
_FEEL_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_FEEL_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})


class _FeelUnsupported(Exception):
    """The expression is outside the supported subset."""


def _feel_tokens(source: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    text = source.strip()
    pos = 0
    while pos < len(text):
        match = _FEEL_TOKEN.match(text, pos)
        if match is None:
            raise _FeelUnsupported(text[pos:])
        pos = match.end()
        kind = match.lastgroup or ""
        word = match.group(kind)
        if kind == "num":
            tokens.append(("lit", Decimal(word)))
        elif kind == "str":
            tokens.append(("lit", _feel_string(word[1:-1])))
        elif kind == "name" and word in ("true", "false", "null"):
            tokens.append(("lit", {"true": True, "false": False, "null": None}[word]))
        else:
            tokens.append((kind, word))
    return tokens


def _feel_string(body: str) -> str:
    out, chars = [], iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            if nxt not in _FEEL_ESCAPES:
                raise _FeelUnsupported("\\" + nxt)
            ch = _FEEL_ESCAPES[nxt]
        out.append(ch)
    return "".join(out)


class _FeelParser:
    """disjunction := conjunction ('or' conjunction)* ; conjunction := comparison ('and' ...)*
    comparison := operand (op operand)? ; operand := literal | '-' number | path
    | '(' disjunction ')' | 'not' '(' disjunction ')'"""

    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> tuple[Any, ...]:
        node = self.disjunction()
        if self.pos != len(self.tokens):
            raise _FeelUnsupported("trailing tokens")
        return node

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", None)

    def take(self, kind: str, word: Any = None) -> Any:
        got_kind, got = self.peek()
        if got_kind != kind or (word is not None and got != word):
            raise _FeelUnsupported(f"expected {word or kind}")
        self.pos += 1
        return got

    def disjunction(self) -> tuple[Any, ...]:
        node = self.conjunction()
        while self.peek() == ("name", "or"):
            self.pos += 1
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> tuple[Any, ...]:
        node = self.comparison()
        while self.peek() == ("name", "and"):
            self.pos += 1
            node = ("and", node, self.comparison())
        return node

    def comparison(self) -> tuple[Any, ...]:
        node = self.operand()
        kind, word = self.peek()
        if kind == "op" and word in _FEEL_COMPARISONS:
            self.pos += 1
            node = ("cmp", word, node, self.operand())
        return node

    def operand(self) -> tuple[Any, ...]:
        kind, word = self.peek()
        if kind == "lit":
            self.pos += 1
            return ("lit", word)
        if (kind, word) == ("op", "-"):
            self.pos += 1
            number = self.take("lit")
            if not isinstance(number, Decimal):
                raise _FeelUnsupported("unary minus")
            return ("lit", -number)
        if (kind, word) == ("op", "("):
            self.pos += 1
            node = self.disjunction()
            self.take("op", ")")
            return node
        if (kind, word) == ("name", "not"):
            self.pos += 1
            self.take("op", "(")
            node = self.disjunction()
            self.take("op", ")")
            return ("not", node)
        return self.path()

    def path(self) -> tuple[Any, ...]:
        names = [self.take("name")]
        while self.peek() == ("op", "."):
            self.pos += 1
            names.append(self.take("name"))
        if names[0] in ("and", "or", "not"):
            raise _FeelUnsupported(names[0])
        return ("path", tuple(names))


@lru_cache(maxsize=1024)
def _feel_parse(source: str) -> tuple[Any, ...] | None:
    try:
        return _FeelParser(_feel_tokens(source)).parse()
    except (_FeelUnsupported, InvalidOperation):
        return None


def _feel_value(source: str, context: Mapping[str, Any]) -> Any:
    """Evaluate as a FEEL expression; ``_UNKNOWN`` when outside the subset."""
    tree = _feel_parse(source)
    return _UNKNOWN if tree is None else _feel_eval(tree, context)


def _feel_hides(source: str, context: Mapping[str, Any]) -> bool:
    """Evaluate ``conditional.hide`` as form-js does (a FEEL unary test without input value)."""
    tree = _feel_parse(source)
    if tree is None:
        return False
    if tree[0] == "not":  # unary-test negation: not(tests)
        matched = _unary_match(_feel_eval(tree[1], context))
        return matched is False
    return _unary_match(_feel_eval(tree, context)) is True


def _unary_match(value: Any) -> Any:
    """A non-boolean test result is compared with the (absent, null) input: null matches."""
    if value is _UNKNOWN or isinstance(value, bool):
        return value
    if value is None:
        return True
    return False if isinstance(value, str | Decimal | int | float) else _UNKNOWN


def _feel_eval(tree: tuple[Any, ...], context: Mapping[str, Any]) -> Any:
    tag = tree[0]
    if tag == "lit":
        return tree[1]
    if tag == "path":
        return _feel_path(tree[1], context)
    if tag == "not":
        return _feel_not(_feel_eval(tree[1], context))
    if tag == "cmp":
        return _feel_compare(tree[1], _feel_eval(tree[2], context), _feel_eval(tree[3], context))
    left, right = _feel_eval(tree[1], context), _feel_eval(tree[2], context)
    return _feel_and(left, right) if tag == "and" else _feel_or(left, right)


def _feel_path(names: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    value: Any = context
    for name in names:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            return _UNKNOWN if isinstance(value, list) else None
        value = value.get(name)
    return _feel_normalize(value)


def _feel_normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Decimal(_number_text(value)) if math.isfinite(value) else _UNKNOWN
    return value


def _feel_not(value: Any) -> Any:
    if value is _UNKNOWN:
        return _UNKNOWN
    return (not value) if isinstance(value, bool) else None


def _feel_and(left: Any, right: Any) -> Any:
    if left is False or right is False:
        return False
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    return True if left is True and right is True else None


def _feel_or(left: Any, right: Any) -> Any:
    if left is True or right is True:
        return True
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    return False if left is False and right is False else None


def _feel_compare(op: str, left: Any, right: Any) -> Any:
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    if op in ("=", "!="):
        if left is None or right is None:
            equal = left is None and right is None
        elif _feel_kind(left) is None or _feel_kind(left) != _feel_kind(right):
            return _UNKNOWN
        else:
            equal = left == right
        return equal if op == "=" else not equal
    if left is None or right is None:
        return None
    kind = _feel_kind(left)
    if kind not in ("number", "string") or kind != _feel_kind(right):
        return _UNKNOWN
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _feel_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    return "string" if isinstance(value, str) else None


# --------------------------------------------------------------------------------------------
# small utilities


def _join(prefix: str, segs: Sequence[str]) -> str:
    tail = ".".join(segs)
    return f"{prefix}.{tail}" if prefix and tail else prefix or tail


def _get(scope: Any, segs: Sequence[str | int]) -> Any:
    value = scope
    for seg in segs:
        if isinstance(seg, int):
            value = _index(value, seg)
            if value is None:
                return _MISSING
        elif isinstance(value, Mapping) and seg in value:
            value = value[seg]
        else:
            return _MISSING
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _index(items: Any, i: int) -> Any:
    return items[i] if isinstance(items, list) and 0 <= i < len(items) else None


def _put(out: dict[str, Any], segs: Sequence[str], value: Any) -> None:
    target = out
    for seg in segs[:-1]:
        nxt = target.get(seg)
        if not isinstance(nxt, dict):
            nxt = target[seg] = {}
        target = nxt
    target[segs[-1]] = value


def _merge_at(out: dict[str, Any], segs: Sequence[str], sub: dict[str, Any]) -> None:
    """Merge ``sub`` into ``out`` at ``segs`` (two groups may share a path)."""
    target = out
    for seg in segs:
        nxt = target.get(seg)
        if not isinstance(nxt, dict):
            nxt = target[seg] = {}
        target = nxt
    for key, value in sub.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_at(target, (key,), value)
        else:
            target[key] = value


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _to_decimal(value: Any) -> Decimal | None:
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


def _number_text(value: int | float) -> str:
    """How JavaScript prints a number (close enough for integers and short decimals)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _plain(number: Decimal) -> int | float:
    """A limit for messages and params: 5 rather than 5.0 or Decimal('5')."""
    return int(number) if number == number.to_integral_value() else float(number)


def _decimal_places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _is_multiple(number: Decimal, step: Decimal) -> bool:
    try:
        return number % step == 0
    except InvalidOperation:  # far too large for the step's precision
        return False


def _js_length(text: str) -> int:
    """JavaScript ``String.length``: UTF-16 code units (astral characters count twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _js_truthy(value: Any) -> bool:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return value != 0 and value == value
    return bool(value) if isinstance(value, bool | str) or value is None else True


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)


def _same(a: Any, b: Any) -> bool:
    """JavaScript ``===`` on JSON values: no 1 == True, no "1" == 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not any(_same(value, seen) for seen in out):
            out.append(value)
    return out
