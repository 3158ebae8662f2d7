"""A loaded form-js schema: component vocabulary, the loaded types, and schema helpers.

``FormSchema`` is what :func:`engine.forms.load_form` returns: the raw JSON, its input fields
(``FormField``) in form order, and the component tree the validator walks. ``field_keys`` and
``defaults`` read a loaded schema; the component-type sets say which form-js components hold
data and how.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import regex

from engine.forms.values import merge_at, put

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
class Node:
    comp: Mapping[str, Any]
    kind: str  # input | group | list | inert
    segs: tuple[str, ...]
    children: tuple[Node, ...] = ()
    field: FormField | None = None
    regex: regex.Pattern[str] | None = None


@dataclass(frozen=True)
class FormSchema:
    """A loaded form: the parsed JSON (``raw``) and its input fields in form order."""

    raw: dict[str, Any]
    fields: list[FormField]
    tree: tuple[Node, ...] = field(repr=False, compare=False)


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


def _collect_defaults(nodes: Iterable[Node], out: dict[str, Any]) -> None:
    for node in nodes:
        if node.kind == "input" and "defaultValue" in node.comp:
            put(out, node.segs, node.comp["defaultValue"])
        elif node.kind == "group":
            sub: dict[str, Any] = {}
            _collect_defaults(node.children, sub)
            if sub:
                merge_at(out, node.segs, sub)
