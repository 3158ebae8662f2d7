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
    # Integers a float cannot hold exactly: orjson *reads* those beyond 64 bits as floats.
    {"big": 2**70 + 1, "low": -(2**63) - 1, "top": 2**64 - 1, "list": [10**30 + 7]},
    {"bad": "\ud800"},  # a lone surrogate is not UTF-8: orjson refuses
    {1: "int key", "b": 2},  # json writes int keys as strings
]


@pytest.mark.parametrize("value", VALUES)
def test_reads_back_what_json_reads_back(value):
    text = jsoncodec.dumps(value)
    expected = json.loads(json.dumps(value))
    assert jsoncodec.loads(text) == expected
    assert jsoncodec.loads(text.encode()) == expected
    assert json.loads(text) == expected
    # == alone lets 2**70 pass as 1.1805916207174113e+21: the types must agree too.
    assert repr(jsoncodec.loads(text)) == repr(expected)


@pytest.mark.parametrize("text", [
    '{"n": 1180591620717411303425}',
    '[-9223372036854775809]',
    '{"a": [1, {"b": 10000000000000000000007}]}',
])
def test_long_integers_in_text_it_did_not_write_stay_integers(text):
    assert repr(jsoncodec.loads(text)) == repr(json.loads(text))
    assert repr(jsoncodec.loads(text.encode())) == repr(json.loads(text))


def test_long_digit_runs_that_are_no_integers_read_the_same():
    text = '{"phone": "1380013800012345678901", "x": 0.12345678901234567890123, "n": 12}'
    assert repr(jsoncodec.loads(text)) == repr(json.loads(text))


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


def test_a_lone_surrogate_in_the_text_itself_is_read_as_json_reads_it():
    text = '{"x": "\ud800", "n": 12345678901234567890123}'
    assert repr(jsoncodec.loads(text)) == repr(json.loads(text))
