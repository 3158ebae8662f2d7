"""engine.jsoncodec: orjson where it agrees with the standard library, the standard library
where orjson refuses; the values read back are what `json` would have read back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from engine import jsoncodec

VALUES = [
    {"标题": "新品发布会", "amount": 5000, "ok": True, "none": None, "rate": 0.1},
    {"nested": [{"a": [1, 2.5, "x"]}], "empty": {}},
    {"big": 2**70},  # beyond 64 bits: orjson refuses
    {"bad": "\ud800"},  # a lone surrogate is not UTF-8: orjson refuses
    {1: "int key", "b": 2},  # json writes int keys as strings
]


@pytest.mark.parametrize("value", VALUES)
def test_reads_back_what_json_reads_back(value):
    text = jsoncodec.dumps(value)
    assert jsoncodec.loads(text) == json.loads(json.dumps(value))
    assert json.loads(text) == json.loads(json.dumps(value))


def test_dates_go_through_the_callers_default_as_before():
    value = {"at": datetime(2026, 12, 4, 8, 30, tzinfo=UTC), "day": date(2026, 12, 4)}
    assert jsoncodec.loads(jsoncodec.dumps(value, default=str)) == json.loads(
        json.dumps(value, default=str)
    )
    with pytest.raises(TypeError):  # no default: refused, as json refuses
        jsoncodec.dumps({"at": datetime(2026, 12, 4)})


def test_sorted_keys_and_utf8_text():
    assert jsoncodec.dumps({"b": 1, "a": "流程"}, sort_keys=True) == '{"a":"流程","b":1}'


def test_reads_what_the_standard_library_wrote_before():
    assert jsoncodec.loads('{"x": NaN, "y": "\\u6d41\\u7a0b"}')["y"] == "流程"
