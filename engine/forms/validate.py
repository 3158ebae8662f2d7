"""Server-side validation of a submission: ``validate_submission`` and the walk it makes.

Two passes over the component tree (the first coerces everything to build the data conditions
see, the second applies ``conditional.hide``); ``_Scope`` is one level of the data (group or
list item), ``Env`` what the conditions and FEEL-valued settings at that level can see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.forms.feel import UNKNOWN, feel_hides, feel_value
from engine.forms.field_errors import FieldError, field_error
from engine.forms.people import Person, person_groups, person_problem
from engine.forms.rules import Invalid, check, coerce_value, kept_value, normalize_options
from engine.forms.values import (
    MISSING,
    deep_merge,
    get,
    index,
    join,
    js_truthy,
    mapping,
    merge_at,
    put,
    to_decimal,
)

if TYPE_CHECKING:
    from engine.forms.schema import FormSchema, Node


def validate_submission(
    form: FormSchema,
    data: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
    people: Mapping[str, Person] | None = None,
) -> tuple[dict[str, Any], dict[str, FieldError]]:
    """Check ``data`` (what the browser submitted) against ``form``.

    ``current`` is the data the task already has (process variables): read-only and disabled
    fields keep their value from it, conditions and ``valuesKey`` options are looked up in it.
    ``people`` (username -> :class:`Person`, the active users) is what person fields
    (``engine.forms.people``) are checked against: a username not in it, or outside the
    field's groups, is a ``person`` error. Without it person fields are not checked.

    Returns ``(cleaned, errors)``. ``cleaned`` holds exactly the visible input fields, coerced
    (numbers as int/float, missing optional values as the field type's empty value); keys the
    form does not declare are dropped. Use it only when ``errors`` is empty. ``errors`` maps a
    data path (``guests[1].name``) to the first problem found for that value.
    """
    cur = current if isinstance(current, Mapping) else {}
    if not isinstance(data, Mapping):
        return {}, {"": field_error("", "type", "object")}
    # First pass: coerce every value, conditions ignored, to build the data the conditions see
    # (form-js evaluates them against the whole form state, not only the visible fields).
    provisional = _Pass(expr_root=deep_merge(cur, data), current=cur, apply_hide=False)
    draft = provisional.run(form.tree, data)
    final = _Pass(expr_root=deep_merge(cur, draft), current=cur, apply_hide=True, people=people)
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


@dataclass
class _Pass:
    expr_root: Mapping[str, Any]
    current: Mapping[str, Any]
    apply_hide: bool
    people: Mapping[str, Person] | None = None
    errors: dict[str, FieldError] = field(default_factory=dict)

    def run(self, tree: Sequence[Node], data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.walk(tree, _Scope(raw=data, cur=self.current, prefix="", base=()), out)
        return out

    def walk(self, nodes: Iterable[Node], scope: _Scope, out: dict[str, Any]) -> None:
        env = Env(self, scope)
        for node in nodes:
            if node.kind == "inert" or (self.apply_hide and env.hidden(node.comp)):
                continue
            if node.kind == "input":
                self.input(node, scope, env, out)
            elif node.kind == "group":
                self.group(node, scope, out)
            else:
                self.repeat(node, scope, out)

    def fail(self, key: str, problem: Invalid) -> None:
        self.errors.setdefault(key, field_error(key, problem.code, problem.variant, problem.params))

    def input(self, node: Node, scope: _Scope, env: Env, out: dict[str, Any]) -> None:
        comp = node.comp
        if env.locked(comp.get("readonly")) or env.locked(comp.get("disabled")):
            put(out, node.segs, kept_value(node, scope.cur))
            return
        key = join(scope.prefix, node.segs)
        try:
            value = coerce_value(node, get(scope.raw, node.segs))
        except Invalid as problem:
            self.fail(key, problem)
            return
        put(out, node.segs, value)
        try:
            check(node, value, env)
            self.check_person(node, value)
        except Invalid as problem:
            self.fail(key, problem)

    def check_person(self, node: Node, value: Any) -> None:
        groups = person_groups(node.comp)
        if groups is None or self.people is None:
            return
        problem = person_problem(value, groups, self.people)
        if problem is not None:
            raise Invalid("person", problem[0], {"value": problem[1]})

    def group(self, node: Node, scope: _Scope, out: dict[str, Any]) -> None:
        raw = self.mapping_at(scope.raw, node.segs, join(scope.prefix, node.segs))
        inner = _Scope(
            raw=raw,
            cur=mapping(get(scope.cur, node.segs)),
            prefix=join(scope.prefix, node.segs),
            base=scope.base + node.segs,
            this=scope.this,
            parent=scope.parent,
            indexes=scope.indexes,
        )
        sub: dict[str, Any] = {}
        self.walk(node.children, inner, sub)
        if sub or not node.segs:
            merge_at(out, node.segs, sub)

    def repeat(self, node: Node, scope: _Scope, out: dict[str, Any]) -> None:
        key = join(scope.prefix, node.segs)
        raw = get(scope.raw, node.segs)
        if raw is MISSING or raw is None:
            raw = []
        if not isinstance(raw, list):
            self.fail(key, Invalid("type", "list"))
            return
        cur = get(scope.cur, node.segs)
        cur = cur if isinstance(cur, list) else []
        context_items = get(self.expr_root, scope.base + node.segs)
        items: list[Any] = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                self.fail(f"{key}[{i}]", Invalid("type", "object"))
                items.append({})
                continue
            this = index(context_items, i)
            inner = _Scope(
                raw=item,
                cur=mapping(index(cur, i)),
                prefix=f"{key}[{i}]",
                base=(*scope.base, *node.segs, i),
                this=this or item,
                parent=scope.this if scope.this is not None else self.expr_root,
                indexes=(*scope.indexes, i + 1),
            )
            sub: dict[str, Any] = {}
            self.walk(node.children, inner, sub)
            items.append(sub)
        put(out, node.segs, items)

    def mapping_at(self, raw: Mapping[str, Any], segs: tuple[str, ...], key: str) -> Mapping:
        value = get(raw, segs)
        if value is MISSING or value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(key, Invalid("type", "object"))
            return {}
        return value


class Env:
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
        return feel_hides(hide[1:], self.context)

    def locked(self, flag: Any) -> bool:
        """``readonly``/``disabled``: a FEEL expression we cannot evaluate counts as locked."""
        if isinstance(flag, str) and flag.startswith("="):
            result = feel_value(flag[1:], self.context)
            return result is UNKNOWN or js_truthy(result)
        return js_truthy(flag)

    def number(self, setting: Any) -> Decimal | None:
        if isinstance(setting, str) and setting.startswith("="):
            setting = feel_value(setting[1:], self.context)
        return to_decimal(setting)

    def options(self, comp: Mapping[str, Any]) -> list[Any] | None:
        """The allowed option values, or None when they are not known on the server (a person
        field's options are the people directory: ``_Pass.check_person`` checks those)."""
        if person_groups(comp) is not None:
            return None
        if "values" in comp:
            return [v.get("value") for v in comp["values"]]
        source = comp.get("valuesKey")
        if not isinstance(source, str) or not source:
            return None if "valuesExpression" in comp else []
        found = self.run.current.get(source, MISSING)
        if found is MISSING and "." in source:
            found = get(self.run.current, tuple(source.split(".")))
        return normalize_options(found) if isinstance(found, list) else None
