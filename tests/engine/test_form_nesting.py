"""Nested data in a submission: groups with a path, dynamic lists and dotted keys nest the
data and the error keys."""

from __future__ import annotations

from engine.forms import validate_submission
from tests.engine.form_helpers import form_fixture, make, only_error, submit  # noqa: F401  (fixtures)


def test_group_path_nests_data_and_error_keys(form):
    cleaned, errors = submit(form, venue={"city": "", "room": "B2", "floor": 3})
    err = only_error(errors, "venue.city")
    assert err.key == "venue.city" and err.code == "required"
    assert cleaned["venue"] == {"city": "", "room": "B2"}
    errors = submit(form, venue="上海")[1]
    assert {k: e.code for k, e in errors.items()} == {"venue": "type", "venue.city": "required"}
    assert errors["venue"].message == "数据格式无效"


def test_dynamic_list_items_are_validated(form):
    guests = [{"name": "张三"}, {"name": "", "phone": "12"}, {"name": "王五", "extra": 1}]
    cleaned, errors = submit(form, guests=guests)
    assert {k: e.code for k, e in errors.items()} == {
        "guests[1].name": "required", "guests[1].phone": "phone",
    }
    assert errors["guests[1].name"].key == "guests[1].name"
    assert cleaned["guests"][2] == {"name": "王五", "phone": ""}


def test_dynamic_list_shape(form):
    assert only_error(submit(form, guests={"name": "张三"})[1], "guests").code == "type"
    err = only_error(submit(form, guests=[{"name": "张三"}, "李四"])[1], "guests[1]")
    assert err.code == "type"


def test_dotted_key_nests_like_a_group():
    f = make([{"type": "textfield", "key": "contact.name", "validate": {"required": True}}])
    assert validate_submission(f, {"contact": {"name": "张三"}}) == (
        {"contact": {"name": "张三"}}, {},
    )
    assert list(validate_submission(f, {})[1]) == ["contact.name"]
