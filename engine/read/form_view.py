"""A form's values as a person reads them (option labels, not codes; yes/no; lists) and the
server's field errors in form-js's terms (keyed by the component's path)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from engine.figures import shown_number
from engine.forms.people import person_groups
from engine.wall_clock import shown

if TYPE_CHECKING:
    from engine.forms import FormSchema


def _path_value(data: Any, path: str) -> Any:
    value = data
    for seg in path.split("."):
        if not isinstance(value, Mapping) or seg not in value:
            return None
        value = value[seg]
    return value


def _option_labels(component: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for option in component.get("values") or []:
        if isinstance(option, Mapping) and "value" in option:
            out[json.dumps(option["value"], ensure_ascii=False)] = str(
                option.get("label", option["value"])
            )
    return out


def _is_date_and_time(component: Mapping[str, Any]) -> bool:
    # form-js keeps a date-and-time field's value as ISO text ("2027-01-01T14:00"); its date-
    # and time-only subtypes ("2027-01-01", "14:00") already read as people write them.
    return component.get("type") == "datetime" and component.get("subtype") == "datetime"


def display_value(
    component: Mapping[str, Any],
    value: Any,
    names: Mapping[str, str] | None,
    zone: tzinfo,
) -> str | bool | None:
    """A submitted value as a person reads it: option labels instead of option values, people
    by name (a person field's usernames through ``names``), a date-and-time field's value as
    planflow shows a time (wall-clock time in ``zone``, no ISO ``T``), lists joined; booleans
    stay booleans (the page words them). None for "nothing entered"."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return value
    if _is_date_and_time(component) and isinstance(value, str):
        return shown(value, zone)
    labels = _option_labels(component)
    if names and person_groups(component) is not None:
        labels = {json.dumps(u, ensure_ascii=False): n for u, n in names.items()}
    digits = _decimal_digits(component)

    def one(v: Any) -> str:
        key = json.dumps(v, ensure_ascii=False)
        if key in labels:
            return labels[key]
        if digits is not None and isinstance(v, int | float) and not isinstance(v, bool):
            return shown_number(v, digits)
        if isinstance(v, str | int | float):
            return str(v)
        return json.dumps(v, ensure_ascii=False)[:300]

    if isinstance(value, list):
        return "、".join(one(v) for v in value)
    return one(value)


def _decimal_digits(component: Mapping[str, Any]) -> int | None:
    """For a number field, the decimals to show: the field's own ``decimalDigits`` (what a
    person could type), else enough for any typed value; None for any other field."""
    if component.get("type") != "number":
        return None
    digits = component.get("decimalDigits")
    return digits if isinstance(digits, int) and 0 <= digits <= 15 else 6


def form_values(
    form: FormSchema | None,
    data: Mapping[str, Any],
    names: Mapping[str, str] | None,
    zone: tzinfo,
) -> list[dict[str, Any]]:
    """The filled-in fields of ``form`` in form order: [{key, label, value}] (value as
    :func:`display_value`; ``names``: username -> display name for person fields). Fields
    repeated in dynamic lists are left out."""
    if form is None or not isinstance(data, Mapping):
        return []
    out = []
    for field in form.fields:
        if "[]" in field.path:
            continue
        value = display_value(field.component, _path_value(data, field.path), names, zone)
        if value is None:
            continue
        out.append({"key": field.path, "label": field.label or field.key, "value": value})
    return out


# --- server-side field errors for form-js -----------------------------------------------------

_INDEX = re.compile(r"\[(\d+)\]")


def field_errors(form: FormSchema | None, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """FormInvalid details (keyed by data path, e.g. ``guests[1].name``) as form-js needs them:
    the component id (form-js keys errors by id), the list indexes, the label and both
    messages. Errors of fields the form cannot place keep ``id`` None."""
    by_path = {f.path: f for f in form.fields} if form else {}
    out = []
    for path, problem in fields.items():
        problem = problem if isinstance(problem, Mapping) else {"message": str(problem)}
        template = _INDEX.sub("[]", path)
        indexes = [int(i) for i in _INDEX.findall(path)]
        field = by_path.get(template)
        out.append(
            {
                "path": path,
                "id": field.id if field else None,
                "indexes": indexes,
                "label": (field.label or field.key) if field else path,
                "code": problem.get("code"),
                "message": problem.get("message") or "",
                "message_en": problem.get("message_en") or problem.get("message") or "",
            }
        )
    return out
