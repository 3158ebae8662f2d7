"""record_brand_month and a quarter's numbers for 《品牌健康度报告》 (handlers/brand_health)."""

from __future__ import annotations

import json

from handlers.brand import period_label, period_quarter
from handlers.brand_health import (
    month_record,
    quarter_key,
    quarter_summary,
    record_brand_month,
    record_brand_month_handler,
)
from handlers.documents import render_document
from tests.handlers import NOW, handler_session, make_ctx

EVALUATION = {
    "channels": [
        {"channel": "小红书", "exposure": 130000, "interaction_rate": 1.5, "search_volume": 5200},
        {"channel": "B站", "exposure": 160000, "interaction_rate": 4.5, "search_volume": 7000},
    ],
    "channels_below_target": ["小红书"],
}
VOICE = {
    "brand_mentions": 8000,
    "positive_mentions": 5000,
    "negative_mentions": 1000,
    "competitor_mentions": 24000,
}


def test_calendar_labels() -> None:
    assert period_quarter("2027-01") == (2027, 1, 1)
    assert period_label("2026-11") == "2026年第4季度 · 11月"
    assert quarter_key("2026-06") == "2026-Q2"
    assert period_label("2026-13") == "" and quarter_key(None) == "" and period_quarter("x") is None


def test_a_month_with_and_without_brand_voice() -> None:
    month = month_record("2026-02", "", "", EVALUATION, VOICE)
    assert month == {
        "period": "2026-02",
        "label": "2026年第1季度 · 2月",
        "quarter": "2026-Q1",
        "channels": 2,
        "exposure": 290000,
        "search_volume": 12200,
        "interaction_rate": 3.0,
        "channels_below_target": ["小红书"],
        "brand_mentions": 8000,
        "positive_mentions": 5000,
        "negative_mentions": 1000,
        "competitor_mentions": 24000,
        "positive_share": 62.5,
        "negative_share": 12.5,
        "net_sentiment": 66.7,
        "share_of_voice": 25.0,
    }
    silent = month_record("2026-03", "", "", EVALUATION, {"brand_mentions": -5})
    assert silent["brand_mentions"] is None and silent["share_of_voice"] is None
    # without an evaluation the channel rows come from the month's form
    raw = month_record("2026-03", "", "", None, {"channel_metrics": EVALUATION["channels"]})
    assert (raw["exposure"], raw["channels_below_target"]) == (290000, [])
    json.dumps([month, silent, raw])


def test_recording_replaces_the_same_month_and_keeps_order() -> None:
    march = month_record("2026-03", "", "", EVALUATION, {})
    february = month_record("2026-02", "", "", EVALUATION, VOICE)
    history = record_brand_month(record_brand_month([], march), february)
    assert [m["period"] for m in history] == ["2026-02", "2026-03"]
    again = record_brand_month(history, month_record("2026-03", "", "", EVALUATION, VOICE))
    assert [m["brand_mentions"] for m in again] == [8000, 8000]


def test_quarter_summary_uses_months_with_full_voice() -> None:
    months = [
        month_record("2026-01", "", "", EVALUATION, VOICE),
        month_record("2026-02", "", "", EVALUATION, {**VOICE, "positive_mentions": 7000}),
        month_record("2026-03", "", "", EVALUATION, {"brand_mentions": 1}),
    ]
    summary = quarter_summary(months)
    assert summary["months"] == 3 and summary["voiced_months"] == 2
    assert summary["search_volume"] == 36600 and summary["monthly_search_volume"] == 12200
    assert summary["brand_mentions"] == 16000 and summary["positive_share"] == 75.0
    assert summary["share_of_voice"] == 25.0
    assert quarter_summary([])["positive_share"] is None


def test_handler_reads_the_voice_from_the_task_data() -> None:
    with handler_session() as session:
        ctx = make_ctx(session, VOICE, process_key="brand_promotion")
        params = {
            "history": [],
            "evaluation": EVALUATION,
            "period": "2026-03",
            "label": "2026年第1季度 · 3月",
            "quarter": "2026-Q1",
        }
        (month,) = record_brand_month_handler(params, ctx)
    assert month["label"] == "2026年第1季度 · 3月" and month["share_of_voice"] == 25.0


def test_health_report_without_any_data_still_renders() -> None:
    title, md = render_document("brand_health_report", {"report_period": "2026-06"}, now=NOW)
    assert title == "《品牌健康度报告》 2026年第2季度"
    assert "本季度没有月度监测数据。" in md
    assert "| 品牌认知度 | 目标人群中知道本品牌的比例（季度调研） | — | — | — |" in md
