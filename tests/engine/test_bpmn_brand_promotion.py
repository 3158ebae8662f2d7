"""``brand_promotion`` run end to end on the harness: a year of monthly metrics driven by the
month-end timer, with content adjustments, calendar-quarter reviews and health checks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tests.engine.bpmn_files import load_form
from tests.engine.bpmn_harness import Runner, make_parser
from tests.engine.bpmn_scripts import CLOCK, SHANGHAI, Clock, freeze_clock, parse_datetime


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return make_parser()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The harness's clock at START (this module's `clock`, not tests/conftest.py's)."""
    return freeze_clock(monkeypatch)


def test_brand_promotion_monthly_loop(parser, clock):
    start = {
        "brand_positioning": "年轻化科技品牌",
        "target_audience": "Z世代职场新人",
        "annual_theme": "科技潮玩计划",
        "campaign_start": "2025-03-03",
        "campaign_months": 12,
        "channels": ["小红书", "B站", "行业媒体"],
        "target_exposure": 10000,
        "target_interaction_rate": 5,
        "target_search_volume": 1000,
    }
    run = Runner(parser, "brand_promotion", start)
    strategy = run.task("Task_quarterly_strategy")
    form = load_form("quarterly_strategy.form")
    defaults = {c["key"]: c.get("defaultValue") for c in form["components"] if "key" in c}
    assert [defaults[f"q{q}_theme"] for q in range(1, 5)] == [
        "产品体验官",
        "跨界联名",
        "线下快闪",
        "年度盛典",
    ]
    run.complete(
        "Task_quarterly_strategy",
        task=strategy,
        **{f"q{q}_theme": defaults[f"q{q}_theme"] for q in range(1, 5)},
    )
    run.complete(
        "Task_strategy_approval", strategy_decision="return", strategy_return_reason="Q3 预算不足"
    )
    run.complete("Task_quarterly_strategy")
    run.complete("Task_strategy_approval")
    schedule = [
        {"channel": c, "content_type": "短视频", "frequency": "每周2篇"} for c in start["channels"]
    ]
    run.complete("Task_content_plan", placement_schedule=schedule)

    good = {"exposure": 20000, "interaction_rate": 8.5, "search_volume": 3000}
    periods, adjustments, reviews, health_checks = [], 0, [], []
    for month in range(12):
        if run.ready("Task_quarter_review"):  # a new calendar quarter: its strategy revisited
            review = run.task("Task_quarter_review")
            quarter = review.data["report_quarter"]
            assert review.data["quarter_theme"] == review.data[f"q{quarter}_theme"]
            reviews.append((review.data["quarter_label"], quarter))
            run.complete("Task_quarter_review", task=review)
        assert run.ready_ids() == []
        (due,) = run.waiting_timers()["Event_month_end"]
        expected_due = datetime(
            2025 + (3 + month) // 12, (3 + month) % 12 + 1, 1, 9, tzinfo=SHANGHAI
        )
        assert parse_datetime(due) == expected_due
        CLOCK.value = parse_datetime(due) + timedelta(minutes=30)
        run.tick()
        metrics_task = run.task("Task_monthly_metrics")
        periods.append(metrics_task.data["report_period"])
        rows = [dict(good, channel=c) for c in start["channels"]]
        if month == 1:
            rows[0]["interaction_rate"] = 2.0  # 小红书 under target
        run.complete("Task_monthly_metrics", channel_metrics=rows)
        if run.ready("Task_adjust_content"):
            adjustments += 1
            run.complete(
                "Task_adjust_content",
                adjusted_channels=["小红书"],
                new_content_direction="从产品参数转向使用场景",
            )
        if run.ready("Task_brand_health_check"):  # the quarter (or the campaign) ended
            check = run.task("Task_brand_health_check")
            health_checks.append(check.data["quarter_label"])
            run.complete("Task_brand_health_check", task=check)
    assert adjustments == 1
    assert periods[:3] == ["2025-03", "2025-04", "2025-05"] and periods[-1] == "2026-02"
    # by calendar quarter, not by campaign month: March is Q1, April opens Q2
    assert [r[0] for r in reviews] == [
        "2025年第2季度",
        "2025年第3季度",
        "2025年第4季度",
        "2026年第1季度",
    ]
    assert [r[1] for r in reviews] == [2, 3, 4, 1]
    # a 《品牌健康度报告》 after each calendar quarter's last month, and at the campaign's end
    assert health_checks == [
        "2025年第1季度",
        "2025年第2季度",
        "2025年第3季度",
        "2025年第4季度",
        "2026年第1季度",
    ]
    effect, health = ["brand_effect_report"], ["brand_health_report"]
    assert run.engine.docs() == (
        effect + health + effect * 3 + health + effect * 3 + health + effect * 3 + health
        + effect * 2 + health
    )
    evaluations = [p for op, p, _t in run.engine.calls if op == "evaluate_brand_metrics"]
    assert evaluations[0]["targets"] == {
        "exposure": 10000,
        "interaction_rate": 5,
        "search_volume": 1000,
    }
    assert run.ready_ids() == ["Task_annual_summary"]
    run.complete("Task_annual_summary")
    assert run.wf.is_completed()
    assert run.wf.data["month_index"] == 12
    assert [m["period"] for m in run.wf.data["brand_months"]] == periods
    assert [c["quarter"] for c in run.wf.data["health_checks"]] == [
        "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"
    ]
    run.assert_json_only()
