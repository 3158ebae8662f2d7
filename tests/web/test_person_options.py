"""The person pickers' options (web/person_options.py): the label rule in both languages,
escaping, the chosen ones marked, and the operations panel's pickers sharing one build."""

from __future__ import annotations

from typing import Any

from tests.pages import as_user
from tests.web.staff_helpers import ctx_fixture, sent_back
from web.person_options import person_label, person_options

ctx = ctx_fixture

PEOPLE = [
    {"username": "wang", "name": "王小丽", "department": "策划部", "department_en": "Planning"},
    {"username": "li", "name": "李雷", "department": "财务部", "department_en": ""},
    {"username": "solo", "name": "solo", "department": "", "department_en": ""},
    {"username": "x<y", "name": "<b>坏</b>", "department": "\"部\"", "department_en": ""},
]


def test_the_label_rule_in_both_languages() -> None:
    assert person_label(PEOPLE[0], english=False) == "王小丽 · 策划部（wang）"
    assert person_label(PEOPLE[0], english=True) == "王小丽 · Planning (wang)"
    assert person_label(PEOPLE[1], english=True) == "李雷 · 财务部 (li)"  # no English name
    assert person_label(PEOPLE[2], english=False) == "solo"  # name is the username, no group


def test_options_escape_and_mark_the_chosen(app: Any) -> None:
    with app.test_request_context("/", headers={"Cookie": "lang=zh"}):
        html = str(person_options(PEOPLE, ["li", None]))
    assert html.count("<option ") == 4 and html.count(" selected") == 1
    chosen = '<option value="li" data-name="李雷" data-dept="财务部" selected>李雷 · 财务部（li）'
    assert chosen in html
    assert "<b>" not in html and 'value="x&lt;y"' in html and "&#34;部&#34;" in html
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        html = str(person_options(PEOPLE[:1]))
    assert html == ('<option value="wang" data-name="王小丽" data-dept="Planning">'
                    "王小丽 · Planning (wang)</option>")


def test_the_operations_pickers_share_one_build(app: Any, ctx: Any, monkeypatch: Any) -> None:
    """A manager's panel has two pickers (转办, 抄送); their options are built once."""
    _, submits = sent_back(ctx, 1)
    built: list[int] = []
    real = app.jinja_env.globals["person_options"]

    def counted(people: Any, selected: Any = ()) -> Any:
        built.append(len(people))
        return real(people, selected)

    monkeypatch.setitem(app.jinja_env.globals, "person_options", counted)
    page = as_user(app, "mgr").get(f"/tasks/{submits[-1]}").get_data(as_text=True)
    assert page.count("data-person-picker ") == 2
    assert len(built) == 1 and built[0] >= 5, built
    assert page.count('<option value="alice"') == 2  # in each picker
