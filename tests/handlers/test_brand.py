"""evaluate_brand_metrics: each channel against the monthly targets."""

from __future__ import annotations

import json

from handlers.brand import evaluate_brand_metrics, evaluate_brand_metrics_handler
from tests.handlers import handler_session, make_ctx

TARGETS = {"exposure": 100000, "interaction_rate": 3, "search_volume": 5000}


def test_one_channel_under_target() -> None:
    result = evaluate_brand_metrics(
        [
            {
                "channel": "小红书",
                "exposure": 120000,
                "interaction_rate": 1.8,
                "search_volume": 6000,
            },
            {"channel": "B站", "exposure": 150000, "interaction_rate": 4.2, "search_volume": 5000},
        ],
        TARGETS,
    )
    assert result["needs_optimisation"] is True
    assert result["evaluated_channels"] == 2
    assert result["channels_below_target"] == ["小红书"]
    assert result["underperforming"] == [
        {
            "channel": "小红书",
            "metric": "interaction_rate",
            "metric_label": "互动率",
            "actual": 1.8,
            "target": 3,
            "gap_pct": 40.0,
            "suggestion": "调整内容方向（如从产品参数转向使用场景），增加互动玩法",
        }
    ]
    assert [c["status"] for c in result["channels"]] == ["below_target", "on_target"]
    assert result["channels"][0]["under"] == ["interaction_rate"]
    json.dumps(result)


def test_all_on_target_including_exactly_equal() -> None:
    result = evaluate_brand_metrics(
        [
            {
                "channel": "行业媒体",
                "exposure": 100000,
                "interaction_rate": 3.0,
                "search_volume": 5000,
            }
        ],
        TARGETS,
    )
    assert result["needs_optimisation"] is False
    assert result["underperforming"] == []


def test_several_metrics_of_several_channels() -> None:
    result = evaluate_brand_metrics(
        [
            {"channel": "小红书", "exposure": 1, "interaction_rate": 1, "search_volume": 1},
            {"channel": "B站", "exposure": 1, "interaction_rate": 9, "search_volume": 9000},
        ],
        TARGETS,
    )
    assert [(u["channel"], u["metric"]) for u in result["underperforming"]] == [
        ("小红书", "exposure"),
        ("小红书", "interaction_rate"),
        ("小红书", "search_volume"),
        ("B站", "exposure"),
    ]
    assert result["channels_below_target"] == ["小红书", "B站"]


def test_missing_targets_or_values_are_not_judged() -> None:
    result = evaluate_brand_metrics(
        [{"channel": "抖音", "exposure": None, "interaction_rate": "2.5", "search_volume": 10}],
        {"exposure": 100, "interaction_rate": 3, "search_volume": 0},
    )
    assert [u["metric"] for u in result["underperforming"]] == ["interaction_rate"]
    assert result["underperforming"][0]["actual"] == 2.5


def test_no_data_means_nothing_to_optimise() -> None:
    for metrics, targets in ((None, None), ([], TARGETS), ("x", "y")):
        result = evaluate_brand_metrics(metrics, targets)
        assert result["needs_optimisation"] is False
        assert result["evaluated_channels"] == 0


def test_handler_note_names_the_period_and_channels() -> None:
    with handler_session() as session:
        ctx = make_ctx(session, {"report_period": "2026-03"}, process_key="brand_promotion")
        evaluate_brand_metrics_handler(
            {
                "channel_metrics": [
                    {"channel": "小红书", "exposure": 1, "interaction_rate": 1, "search_volume": 1}
                ],
                "targets": TARGETS,
            },
            ctx,
        )
    assert ctx.notes[0]["note"] == "2026-03 品牌推广指标未达标：小红书，需调整内容方向"
