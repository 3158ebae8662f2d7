"""engine.forms.people: what makes a person field, what deploying refuses, the options a shown
form gets, and the pinyin order of the people directory."""

from __future__ import annotations

import json

import pytest

from engine.forms import FormSchemaError, Person, load_form, validate_submission, with_people
from engine.people.directory import sort_key


def form(*components: dict) -> str:
    return json.dumps({"type": "default", "id": "f", "components": list(components)})


def person(username: str, name: str, *groups: str) -> Person:
    return Person(username, name, frozenset(groups), "、".join(groups), ", ".join(groups))


PEOPLE = [
    person("li", "李主管", "planning_supervisor"),
    person("liu", "刘经理", "requester"),
    person("wang", "王经理", "planning_manager"),
]


@pytest.mark.parametrize(
    ("component", "problem"),
    [
        ({"type": "textfield", "key": "a", "properties": {"people": "*"}}, "select 或 taglist"),
        ({"type": "select", "key": "a", "properties": {"people": ""}}, "people 须为"),
        ({"type": "select", "key": "a", "properties": {"people": "策划"}}, "组名无效"),
        ({"type": "select", "key": "a", "properties": ["people"]}, "properties 必须是对象"),
    ],
)
def test_deploying_refuses_a_malformed_person_field(component, problem):
    with pytest.raises(FormSchemaError, match=problem):
        load_form(form(component))


def test_a_shown_form_lists_the_people_each_field_allows():
    raw = json.loads(form(
        {"type": "textfield", "key": "title"},
        {"type": "select", "key": "a", "valuesKey": "x",
         "properties": {"people": "planning_supervisor, planning_manager"}},
        {"type": "dynamiclist", "path": "rows", "components": [
            {"type": "taglist", "key": "who", "properties": {"people": "*"}}]},
    ))
    shown = with_people(raw, PEOPLE)
    a = shown["components"][1]
    assert a["values"] == [
        {"label": "李主管 · planning_supervisor（li）", "value": "li"},
        {"label": "王经理 · planning_manager（wang）", "value": "wang"},
    ]
    assert "valuesKey" not in a and a["searchable"] is True
    assert [v["value"] for v in shown["components"][2]["components"][0]["values"]] == [
        "li", "liu", "wang"
    ]
    assert "values" not in raw["components"][1]  # the deployed schema is left as it is
    english = with_people(raw, PEOPLE, english=True)["components"][1]["values"][0]["label"]
    assert english == "李主管 · planning_supervisor (li)"


def test_person_fields_are_checked_only_against_the_directory():
    schema = load_form(form(
        {"type": "select", "key": "a", "properties": {"people": "planning_manager"}},
    ))
    people = {p.username: p for p in PEOPLE}
    assert validate_submission(schema, {"a": "wang"}, people=people)[1] == {}
    assert validate_submission(schema, {"a": ""}, people=people)[1] == {}  # optional
    errors = validate_submission(schema, {"a": "li"}, people=people)[1]
    assert errors["a"].code == "person" and errors["a"].message.startswith("“li”不能担任")
    assert validate_submission(schema, {"a": 7}, people=people)[1]["a"].code == "person"


def test_the_directory_sorts_names_by_pinyin():
    names = ["赵主管", "李主管", "Alice", "王经理", "陈专员", "安娜", "bob"]
    ordered = sorted(names, key=lambda n: sort_key(n, n))
    assert ordered == ["Alice", "bob", "安娜", "陈专员", "李主管", "王经理", "赵主管"]
