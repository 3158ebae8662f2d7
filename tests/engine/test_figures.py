"""How a number is shown (engine.figures): grouped by thousands, whole numbers without decimals,
the same on the pages (a form's number fields read back: key data, history, CC copies, instance
data) and in the generated documents. The pages used to show a typed amount as 150000."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.figures import shown_number
from engine.read.form_view import display_value
from engine.wall_clock import DEFAULT_ZONE
from handlers.document_filters import template_environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("number", "digits", "expected"), [
    (150000, 2, "150,000"),
    (150000.0, 2, "150,000"),
    (1234.5, 2, "1,234.5"),
    (1234.567, 2, "1,234.57"),
    (-1234567.891, 2, "-1,234,567.89"),
    (0.1, 6, "0.1"),
    (10.4, 0, "10"),  # not "1": only decimals lose their trailing zeros
    (-0.04, 1, "0"),
    (2**70, 2, "1,180,591,620,717,411,303,424"),
])
def test_shown_number(number, digits, expected) -> None:
    assert shown_number(number, digits) == expected


def test_a_number_field_reads_back_grouped() -> None:
    amount = {"type": "number", "key": "budget", "decimalDigits": 2}
    assert display_value(amount, 150000, None, DEFAULT_ZONE) == "150,000"
    assert display_value(amount, 98765.4, None, DEFAULT_ZONE) == "98,765.4"
    count = {"type": "number", "key": "live_viewers"}
    assert display_value(count, 12000, None, DEFAULT_ZONE) == "12,000"
    assert display_value(count, 0.125, None, DEFAULT_ZONE) == "0.125"
    assert display_value(count, "12000", None, DEFAULT_ZONE) == "12000"  # text: as it is
    # numbers elsewhere are not amounts: an option's value, a text field, a year in a select
    select = {"type": "select", "key": "year", "values": [{"label": "2027年", "value": 2027}]}
    assert display_value(select, 2027, None, DEFAULT_ZONE) == "2027年"
    assert display_value({"type": "textfield", "key": "no"}, 2027, None, DEFAULT_ZONE) == "2027"


def test_documents_show_numbers_the_same_way() -> None:
    env = template_environment((ROOT / "bpmn" / "templates",))
    rendered = env.from_string("{{ a | money }} {{ b | num }} {{ c | pct }}").render(
        a=150000, b=1234.5, c=12.25)
    assert rendered == "¥150,000 1,234.5 12.25%"


def test_the_rule_has_one_home() -> None:
    """No other module groups thousands itself (`f"{x:,}"`)."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("engine", "handlers", "web")
        for path in (ROOT / folder).rglob("*.py")
        if path != ROOT / "engine" / "figures.py"
        and re.search(r"\{[^{}]*:,[^{}]*\}", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
