"""Person fields: a form field whose value is a username (A角, B角, 跟进销售, …).

A person field is a form-js ``select`` (one person) or ``taglist`` (several) with the custom
property ``people`` (form-js "Custom properties", kept in the schema as
``"properties": {"people": "..."}``): ``*`` allows every active user, otherwise it lists the
group ids whose members may be chosen (``planning_supervisor,planning_manager``). The field's
options are not written in the form: :func:`with_people` fills them in from the people
directory when a form is shown, so the browser offers exactly the people allowed (姓名 · 部门
（用户名）, in the directory's order), searchable by any of the three.

The server never trusts the browser: :func:`person_problem` is the rule
``engine.forms.validate`` applies to every submitted value of a person field — an unknown or
inactive username, or someone outside the allowed groups, is a field error (``person``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PEOPLE_PROPERTY = "people"
PERSON_TYPES = frozenset({"select", "taglist"})
ANYONE = "*"
_GROUP = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Person:
    """One active user as a picker shows them: display name, groups and their labels."""

    username: str
    name: str
    groups: frozenset[str]
    department: str  # the groups' Chinese names, e.g. 策划主管
    department_en: str

    def label(self, english: bool = False) -> str:
        """``李主管 · 策划主管（li）``: what a picker shows and what its search matches."""
        dept = (self.department_en or self.department) if english else self.department
        text = f"{self.name} · {dept}" if dept else self.name
        if self.name == self.username:
            return text
        return f"{text} ({self.username})" if english else f"{text}（{self.username}）"


def person_groups(comp: Mapping[str, Any]) -> frozenset[str] | None:
    """The groups a person field allows (empty: anyone active), or None if ``comp`` is not a
    person field. Malformed settings are refused at deploy time (:func:`check_person_field`)."""
    props = comp.get("properties")
    if not isinstance(props, Mapping) or PEOPLE_PROPERTY not in props:
        return None
    spec = props[PEOPLE_PROPERTY]
    if not isinstance(spec, str):
        return frozenset()
    words = frozenset(w for w in re.split(r"[\s,，、]+", spec.strip()) if w)
    return frozenset() if ANYONE in words else words


def check_person_field(comp: Mapping[str, Any]) -> str | None:
    """Why the ``people`` property of ``comp`` cannot be used; None if it can or is absent."""
    props = comp.get("properties")
    if props is None:
        return None
    if not isinstance(props, Mapping):
        return "properties 必须是对象 (properties must be an object)"
    if PEOPLE_PROPERTY not in props:
        return None
    if comp.get("type") not in PERSON_TYPES:
        return "人员字段须为 select 或 taglist (a person field must be a select or a taglist)"
    spec = props[PEOPLE_PROPERTY]
    if not isinstance(spec, str) or not spec.strip():
        return "people 须为 * 或用逗号分隔的组 (people must be * or comma-separated group ids)"
    words = [w for w in re.split(r"[\s,，、]+", spec.strip()) if w]
    bad = [w for w in words if w != ANYONE and not _GROUP.fullmatch(w)]
    if bad:
        return f"people 中的组名无效 (invalid group id {bad[0]!r} in people)"
    return None


def allowed(person: Person | None, groups: frozenset[str]) -> bool:
    return person is not None and (not groups or bool(person.groups & groups))


def person_problem(
    value: Any, groups: frozenset[str], people: Mapping[str, Person]
) -> tuple[str, Any] | None:
    """``("unknown" | "role", username)`` for the first chosen username that is not an active
    user, or not one of the allowed groups; None when every one is allowed."""
    chosen = value if isinstance(value, list) else [value]
    for username in chosen:
        if username is None or username == "":
            continue
        person = people.get(username) if isinstance(username, str) else None
        shown = str(username)[:64]
        if person is None:
            return "unknown", shown
        if not allowed(person, groups):
            return "role", shown
    return None


def has_person_fields(schema: Mapping[str, Any] | None) -> bool:
    return schema is not None and any(True for _ in _person_components(schema))


def with_people(
    schema: Mapping[str, Any], people: Sequence[Person], english: bool = False
) -> dict[str, Any]:
    """A copy of the form-js ``schema`` whose person fields offer the people they allow, as
    static options in the order of ``people`` (searchable: form-js filters on the label)."""
    out = copy.deepcopy(dict(schema))
    for comp in _person_components(out):
        groups = person_groups(comp) or frozenset()
        comp["values"] = [
            {"label": p.label(english), "value": p.username}
            for p in people
            if allowed(p, groups)
        ]
        comp.pop("valuesKey", None)
        comp.pop("valuesExpression", None)
        if comp.get("type") == "select":
            comp["searchable"] = True
    return out


def _person_components(node: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    stack = list(node.get("components") or [])
    while stack:
        comp = stack.pop()
        if not isinstance(comp, dict):
            continue
        if comp.get("type") in PERSON_TYPES and person_groups(comp) is not None:
            yield comp
        stack.extend(comp.get("components") or [])
