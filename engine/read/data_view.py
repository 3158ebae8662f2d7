"""An instance's data as people read it: each variable under the label its model gives it (a
form field's label, a decision table output's label), values as the forms show them (option
labels, people by name, groups by name, lists of rows as tables) — never a raw key or JSON.

Variables no form or decision names (a service task's result, bookkeeping of the model) are
kept apart as ``other``: the page shows them folded away, for whoever debugs the model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.bpmn.specs import ParsedModel, all_task_specs
from engine.forms.people import person_groups
from engine.read.form_view import display_value
from engine.read.names import everyone, group_names
from engine.store import instance_state as store

if TYPE_CHECKING:
    from engine.context import EngineContext


@dataclass(frozen=True)
class Labels:
    """What a model says about its variables: label and form component per data path."""

    labels: dict[str, str] = field(default_factory=dict)
    components: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def columns(self, key: str) -> list[tuple[str, str]]:
        """The sub-fields of a dynamic list ``key``: [(sub-key, label)] in form order."""
        prefix = f"{key}[]."
        return [
            (path[len(prefix):], label)
            for path, label in self.labels.items()
            if path.startswith(prefix) and "." not in path[len(prefix):]
        ]


# What the engine itself keeps in every instance's data.
BUILT_IN = {"title": "流程标题", "started_by": "发起人", "instance_id": "流程编号"}


def _lists(node: Any) -> Iterator[tuple[str, str]]:
    """(path, label) of every dynamic list in a form-js schema."""
    if isinstance(node, Mapping):
        if node.get("type") == "dynamiclist" and node.get("path") and node.get("label"):
            yield str(node["path"]), str(node["label"])
        for child in node.get("components") or []:
            yield from _lists(child)


def model_labels(model: ParsedModel) -> Labels:
    """The start form's fields first, then every other form's (a dynamic list under its own
    label), then decision outputs; the first label a variable gets is the one it keeps."""
    out = Labels()
    forms = sorted(model.forms.items(), key=lambda kv: kv[0] != model.start_form)
    for _, form in forms:
        for path, label in _lists(form.raw):
            out.labels.setdefault(path, label)
        for f in form.fields:
            if f.label:
                out.labels.setdefault(f.path, f.label)
                out.components.setdefault(f.path, f.component)
    for spec in all_task_specs(model):
        table = getattr(getattr(spec, "dmnEngine", None), "decision_table", None)
        for output in getattr(table, "outputs", None) or []:
            name, label = getattr(output, "name", None), getattr(output, "label", None)
            if name and label:
                out.labels.setdefault(name, label)
    for key, label in BUILT_IN.items():
        out.labels.setdefault(key, label)
    out.components.setdefault("started_by", {"type": "select", "properties": {"people": "*"}})
    return out


def _value(
    labels: Labels,
    key: str,
    value: Any,
    people: Mapping[str, str],
    groups: Mapping[str, str],
    zone: tzinfo,
) -> Any:
    component = labels.components.get(key, {})
    if isinstance(value, str) and value in groups and person_groups(component) is None:
        return groups[value]  # a group id (a decision's approver group …)
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        columns = labels.columns(key)
        if columns:
            return {
                "columns": [label for _, label in columns],
                "rows": [
                    [
                        display_value(
                            labels.components.get(f"{key}[].{sub}", {}), row.get(sub), people,
                            zone,
                        )
                        or "—"
                        for sub, _ in columns
                    ]
                    for row in value
                ],
            }
    shown = display_value(component, value, people, zone)
    return "—" if shown is None else shown


def data_rows(
    labels: Labels,
    data: Mapping[str, Any],
    people: Mapping[str, str],
    groups: Mapping[str, str],
    zone: tzinfo,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(labelled, other): labelled variables in the model's order as {key, label, value}
    (``value``: text, True/False, or {columns, rows} for a list of rows; times in ``zone``);
    the rest as {key, value} with the value left as it is."""
    labelled = [
        {"key": key, "label": label,
         "value": _value(labels, key, data[key], people, groups, zone)}
        for key, label in labels.labels.items()
        if key in data and "[]" not in key
    ]
    other = [
        {"key": key, "value": data[key]}
        for key in sorted(data)
        if key not in labels.labels
    ]
    return labelled, other


@dataclass(frozen=True)
class DataReader:
    """`data_rows` for one model version, with the names it needs read once per page."""

    labels: Labels
    people: Mapping[str, str]
    groups: Mapping[str, str]
    zone: tzinfo

    def rows(self, data: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return data_rows(self.labels, data if isinstance(data, Mapping) else {}, self.people,
                         self.groups, self.zone)


def reader(
    ctx: EngineContext,
    session: Session,
    version_id: int,
    english: bool = False,
    people: Mapping[str, str] | None = None,
) -> DataReader:
    """``people``: the names of those the data shown mentions (`names.names_mentioned`), when
    the caller knows what it shows (one instance's page); every account otherwise (a list)."""
    model = store.parsed_model(ctx, session, version_id)
    return DataReader(
        model_labels(model),
        everyone(session) if people is None else people,
        group_names(session, english=english),
        ctx.settings.zone,
    )
