"""compute_completion_rate: per-metric rates (capped at 100 %), the overall 目标完成率, met/unmet
lists and the summary that shows the targets met beside the rate."""

from __future__ import annotations

import json

import pytest

from handlers.kpi import compute_completion_rate, compute_completion_rate_handler
from tests.handlers import handler_session, make_ctx


def test_rates_mean_and_lists() -> None:
    result = compute_completion_rate(
        [
            {"name": "销售额", "target": 1000000, "actual": 920000, "unit": "元"},
            {"name": "曝光量", "target": 500000, "actual": 600000, "unit": "次"},
            {"name": "用户参与度", "target": 30, "actual": 27.3, "unit": "%"},
        ]
    )
    assert [m["achievement"] for m in result["metrics"]] == [92.0, 120.0, 91.0]
    # a target cannot be more than fully met: 曝光量 counts 100 %, not 120 %
    assert [m["rate"] for m in result["metrics"]] == [92.0, 100.0, 91.0]
    assert result["completion_rate"] == 94.3  # (92 + 100 + 91) / 3
    assert result["summary"] == "94.3%（达成 1/3 项）"
    assert result["met"] == ["曝光量"]
    assert result["unmet"] == ["销售额", "用户参与度"]
    assert (result["met_count"], result["total_count"], result["rated_count"]) == (1, 3, 3)
    assert result["metrics"][0] == {
        "name": "销售额",
        "target": 1000000,
        "actual": 920000,
        "unit": "元",
        "rate": 92.0,
        "achievement": 92.0,
        "met": False,
    }
    json.dumps(result)  # JSON-able as the engine stores it


def test_rounding_to_one_decimal() -> None:
    result = compute_completion_rate(
        [{"name": "a", "target": 3, "actual": 1}, {"name": "b", "target": 3, "actual": 2}]
    )
    assert [m["rate"] for m in result["metrics"]] == [33.3, 66.7]
    assert result["completion_rate"] == 50.0


@pytest.mark.parametrize("target", [0, -5, None, "abc", ""])
def test_target_not_positive_is_not_rated(target: object) -> None:
    result = compute_completion_rate(
        [
            {"name": "投诉量", "target": target, "actual": 0},
            {"name": "销售额", "target": 10, "actual": 8},
        ]
    )
    assert result["metrics"][0]["rate"] is None
    assert result["completion_rate"] == 80.0  # only the rated metric counts
    assert result["rated_count"] == 1


def test_zero_target_reached_counts_as_met() -> None:
    result = compute_completion_rate([{"name": "客诉", "target": 0, "actual": 0}])
    assert result["metrics"][0]["met"] is True
    assert result["completion_rate"] is None


def test_numeric_strings_and_garbage_rows() -> None:
    result = compute_completion_rate(
        ["not a row", {"target": "1,000", "actual": "1,200"}, {"name": "x", "actual": 3}]
    )
    assert result["total_count"] == 2
    assert result["metrics"][0]["name"] == "指标1"
    assert result["metrics"][0]["rate"] == 100.0
    assert result["metrics"][0]["achievement"] == 120.0
    assert result["metrics"][1]["rate"] is None and result["metrics"][1]["met"] is False


@pytest.mark.parametrize("metrics", [None, [], "nonsense", {"name": "x"}])
def test_no_metrics(metrics: object) -> None:
    result = compute_completion_rate(metrics)
    assert result["completion_rate"] is None
    assert result["total_count"] == 0 and result["met"] == [] and result["unmet"] == []


def test_over_achievement_does_not_hide_missed_targets() -> None:
    """Half the targets missed: the rate may not read like success (no 96 % from 192 % + 0 %),
    and the summary says how many were met."""
    result = compute_completion_rate(
        [
            {"name": "曝光量", "target": 100, "actual": 192},
            {"name": "销售额", "target": 100, "actual": 0},
        ]
    )
    assert result["completion_rate"] == 50.0
    assert result["summary"] == "50%（达成 1/2 项）"
    missed_by_little = compute_completion_rate(
        [{"name": "a", "target": 100, "actual": 100}, {"name": "b", "target": 100, "actual": 92}]
    )
    assert missed_by_little["summary"] == "96%（达成 1/2 项）"


def test_handler_notes_the_rate() -> None:
    with handler_session() as session:
        ctx = make_ctx(session)
        result = compute_completion_rate_handler(
            {"metrics": [{"name": "销售额", "target": 100, "actual": 92.5}]}, ctx
        )
    assert result["completion_rate"] == 92.5
    assert ctx.notes == [{"note": "目标完成率 92.5%（达成 0/1 项）", "completion_rate": 92.5}]
