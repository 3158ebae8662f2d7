"""品牌推广: the quarterly strategy by calendar quarter (manual §4.1: Q1 产品体验官, Q2 跨界联名,
Q3 线下快闪, Q4 年度盛典), revisited when a new quarter opens, and the content direction after
优化 (manual §4.3) shown in the next month's 《品牌推广效果报告》.

A campaign from November 2026 to February 2027: its first month is Q4 (年度盛典), not "Q1" as
a count of campaign months would make it; January opens 2027's first quarter, whose strategy
the brand owner revisits (and changes) before January's report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has

EVERYONE = ["alice", "bob", "mgr", "sup", "sup2", "req", "fin", "law", "des", "sales1", "tec"]
STRATEGY = {
    "q1_theme": "产品体验官",
    "q1_plan": "招募 100 位产品体验官",
    "q2_theme": "跨界联名",
    "q2_plan": "与潮玩品牌联名",
    "q3_theme": "线下快闪",
    "q3_plan": "三城快闪店",
    "q4_theme": "年度盛典",
    "q4_plan": "年度用户盛典与直播",
}
# (report due = the 1st of the next month, 09:00 Shanghai; label; quarter line of the report)
MONTHS = [
    (datetime(2026, 12, 1, 1, 0, tzinfo=UTC), "2026年第4季度 · 11月", "Q4 年度盛典"),
    (datetime(2027, 1, 1, 1, 0, tzinfo=UTC), "2026年第4季度 · 12月", "Q4 年度盛典"),
    (datetime(2027, 2, 1, 1, 0, tzinfo=UTC), "2027年第1季度 · 1月", "Q1 新年焕新体验官"),
    (datetime(2027, 3, 1, 1, 0, tzinfo=UTC), "2027年第1季度 · 2月", "Q1 新年焕新体验官"),
]


def health(rating: str, findings: str) -> dict[str, Any]:
    return {
        "brand_awareness": 30,
        "brand_reputation": 70,
        "health_data_source": "季度品牌调研",
        "health_rating": rating,
        "health_findings": findings,
    }


def metrics(xiaohongshu_rate: float) -> list[dict[str, Any]]:
    return [
        {
            "channel": "小红书",
            "exposure": 130000,
            "interaction_rate": xiaohongshu_rate,
            "search_volume": 5200,
        },
        {"channel": "B站", "exposure": 160000, "interaction_rate": 4.8, "search_volume": 7000},
        {"channel": "行业媒体", "exposure": 110000, "interaction_rate": 3.2, "search_volume": 5000},
    ]


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def _start(api: Api, clock: FixedClock) -> int:
    clock.set(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    iid = api.start(
        "sup",
        "brand_promotion",
        {
            "brand_positioning": "年轻化科技品牌",
            "target_audience": "Z世代职场新人",
            "annual_theme": "科技潮玩计划",
            "campaign_start": "2026-11-02",
            "campaign_months": 4,
            "channels": ["小红书", "B站", "行业媒体"],
            "target_exposure": 100000,
            "target_interaction_rate": 3,
            "target_search_volume": 5000,
        },
    )["id"]
    api.do("sup", iid, "Task_quarterly_strategy", STRATEGY)
    api.do("mgr", iid, "Task_strategy_approval", {"strategy_decision": "approve"})
    api.do(
        "alice",
        iid,
        "Task_content_plan",
        {
            "content_types": ["short_video", "long_article"],
            "content_direction": "产品参数讲解",
            "placement_schedule": [
                {"channel": "小红书", "content_type": "短视频", "frequency": "每周 3 条"},
            ],
        },
    )
    return iid


def _month(api: Api, ctx: EngineContext, clock: FixedClock, iid: int, n: int, rate: float) -> str:
    """Month n's metrics at its due time; returns the month's report as Markdown."""
    due, label, _quarter = MONTHS[n]
    clock.set(due + timedelta(minutes=5))
    fire_timers(ctx)
    task = api.task("bob", iid, "Task_monthly_metrics")
    detail = api.get("bob", f"/tasks/{task['id']}").get_json()
    assert detail["data"]["report_label"] == label
    api.do("bob", iid, "Task_monthly_metrics", {"channel_metrics": metrics(rate)})
    (doc,) = [
        d
        for d in api.documents("sup", iid)
        if d["doc_type"] == "brand_effect_report" and d["title"].endswith(label)
    ]
    assert doc["title"] == f"《品牌推广效果报告》— 科技潮玩计划 {label}"
    return api.check_downloads("mgr", iid, doc)


def test_quarters_follow_the_calendar_and_are_revisited(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    iid = _start(api, clock)

    # November: the campaign's first month is Q4 of 2026 (no review: the strategy was just
    # approved); 小红书 is under target and its content direction is adjusted
    november = _month(api, scenario_ctx, clock, iid, 0, 1.5)
    assert f"| 报告月份 | {MONTHS[0][1]} |" in november
    assert f"| 本季度策略 | {MONTHS[0][2]} |" in november
    assert "- 季度主题：年度盛典" in november
    assert "| 小红书 | 产品参数讲解 | 按内容规划 |" in november
    assert who_has(api, EVERYONE, iid, "Task_adjust_content") == ["sup", "sup2"]
    adjust = api.task("sup", iid, "Task_adjust_content")
    # only the campaign's channels can be adjusted
    refused = api.post(
        "sup",
        f"/tasks/{adjust['id']}/complete",
        {
            "data": {
                "adjusted_channels": ["抖音"],
                "new_content_direction": "x",
                "adjustment_actions": "y",
            }
        },
    )
    assert refused.status_code == 422, refused.get_json()
    api.complete(
        "sup",
        adjust,
        {
            "adjusted_channels": ["小红书"],
            "new_content_direction": "从产品参数转向使用场景",
            "adjustment_actions": "小红书改为职场使用场景短视频",
        },
    )
    assert who_has(api, EVERYONE, iid, "Task_quarter_review") == []  # December: same quarter

    # December: the report shows the direction the adjustment set, per channel
    december = _month(api, scenario_ctx, clock, iid, 1, 3.4)
    assert f"| 本季度策略 | {MONTHS[1][2]} |" in december
    assert "| 小红书 | 从产品参数转向使用场景 | 2026年第4季度 · 11月调整 |" in december
    assert "| B站 | 产品参数讲解 | 按内容规划 |" in december
    assert (
        "各渠道达标，保持当前内容方向：小红书：从产品参数转向使用场景；B站、行业媒体：产品参数讲解"
        in december
    )

    # December ends Q4: the brand owner's health check (see test_brand_health_report)
    api.do("sup", iid, "Task_brand_health_check", health("watch", "小红书场景化内容见效"))

    # January opens 2027 Q1: the brand owner revisits the Q1 strategy (offered as approved),
    # with the health check's conclusion beside it
    assert who_has(api, EVERYONE, iid, "Task_quarter_review") == ["sup"]
    review = api.task("sup", iid, "Task_quarter_review")
    data = api.get("sup", f"/tasks/{review['id']}").get_json()["data"]
    assert (data["quarter_label"], data["quarter_theme"], data["quarter_plan"]) == (
        "2027年第1季度",
        "产品体验官",
        "招募 100 位产品体验官",
    )
    assert (data["health_rating"], data["health_findings"]) == ("watch", "小红书场景化内容见效")
    assert api.instance("sup", iid)["timers"] == []  # January's report waits for the review
    api.complete(
        "sup",
        review,
        {
            "quarter_theme": "新年焕新体验官",
            "quarter_plan": "春节档体验官招募，结合使用场景内容",
            "quarter_review_note": "小红书场景化内容见效，Q1 延续",
        },
    )
    assert [t["due_at"] for t in api.instance("sup", iid)["timers"]] == [MONTHS[2][0].isoformat()]

    january = _month(api, scenario_ctx, clock, iid, 2, 3.6)
    february = _month(api, scenario_ctx, clock, iid, 3, 3.5)
    api.do("sup", iid, "Task_brand_health_check", health("healthy", "认知度回升"))  # campaign end
    for text, (_due, label, quarter) in ((january, MONTHS[2]), (february, MONTHS[3])):
        assert f"| 报告月份 | {label} |" in text
        assert f"| 本季度策略 | {quarter} |" in text
        assert "- 季度计划：春节档体验官招募，结合使用场景内容" in text
        assert "| 小红书 | 从产品参数转向使用场景 | 2026年第4季度 · 11月调整 |" in text
    assert who_has(api, EVERYONE, iid, "Task_quarter_review") == []  # one review per quarter

    done = api.do(
        "sup",
        iid,
        "Task_annual_summary",
        {"annual_summary": "跨年推广完成，Q1 策略经季度回顾调整", "brand_health_notes": "稳定"},
    )
    assert done["status"] == "completed"
    data = done["data"]
    assert (data["q1_theme"], data["q4_theme"]) == ("新年焕新体验官", "年度盛典")
    assert data["strategy_reviews"] == [
        {
            "quarter": "2027-Q1",
            "label": "2027年第1季度",
            "theme": "新年焕新体验官",
            "plan": "春节档体验官招募，结合使用场景内容",
            "changed": True,
            "previous_theme": "产品体验官",
        }
    ]
    assert data["channel_directions"] == {
        "小红书": "从产品参数转向使用场景",
        "B站": "产品参数讲解",
        "行业媒体": "产品参数讲解",
    }
    assert [a["label"] for a in data["content_adjustments"]] == ["2026年第4季度 · 11月"]
