"""品牌推广流程 end to end: strategy (with a send-back), content plan, three monthly
《品牌推广效果报告》 of which one is under target and triggers 调整内容方向, a 《品牌健康度报告》
when the first calendar quarter ends (March) and at the campaign's end (May, Q2 so far), the Q2
strategy revisited when April opens the second quarter, annual summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has

EVERYONE = ["alice", "bob", "mgr", "sup", "sup2", "req", "fin", "law", "des", "sales1", "tec"]
SPECIALISTS = ["alice", "bob"]
SUPERVISORS = ["sup", "sup2"]
CHANNELS = ["小红书", "B站", "行业媒体"]
# Month n's report is due on the 1st of the next month, 09:00 Shanghai (01:00 UTC).
DUE = [datetime(2026, m, 1, 1, 0, tzinfo=UTC) for m in (4, 5, 6)]
PERIODS = ["2026-03", "2026-04", "2026-05"]
# Reports are labelled with the month's calendar quarter (March is Q1, April opens Q2).
LABELS = ["2026年第1季度 · 3月", "2026年第2季度 · 4月", "2026年第2季度 · 5月"]
STRATEGY = {
    "q1_theme": "产品体验官",
    "q1_plan": "招募 100 位产品体验官",
    "q2_theme": "跨界联名",
    "q2_plan": "与潮玩品牌联名",
    "q3_theme": "线下快闪",
    "q3_plan": "三城快闪店",
    "q4_theme": "年度盛典",
    "q4_plan": "年度用户盛典",
}


HEALTH = {
    "brand_awareness": 35,
    "brand_reputation": 72,
    "health_data_source": "季度品牌调研（样本 1,000）",
    "health_rating": "healthy",
    "health_findings": "认知度稳步提升",
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


def test_brand_promotion_three_months(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    iid = api.start(
        "sup",
        "brand_promotion",
        {
            "brand_positioning": "年轻化科技品牌",
            "target_audience": "Z世代职场新人",
            "annual_theme": "科技潮玩计划",
            "campaign_start": "2026-03-02",
            "campaign_months": 3,
            "channels": CHANNELS,
            "target_exposure": 100000,
            "target_interaction_rate": 3,
            "target_search_volume": 5000,
        },
    )["id"]

    # strategy: the manager sends it back once
    assert who_has(api, EVERYONE, iid, "Task_quarterly_strategy") == SUPERVISORS
    api.do("sup", iid, "Task_quarterly_strategy", STRATEGY)
    assert who_has(api, EVERYONE, iid, "Task_strategy_approval") == ["mgr"]
    api.do(
        "mgr",
        iid,
        "Task_strategy_approval",
        {"strategy_decision": "return", "strategy_return_reason": "Q3 请补充城市选择"},
    )
    api.do("sup", iid, "Task_quarterly_strategy", {**STRATEGY, "q3_plan": "上海、成都、深圳快闪店"})
    api.do("mgr", iid, "Task_strategy_approval", {"strategy_decision": "approve"})
    assert who_has(api, EVERYONE, iid, "Task_content_plan") == SPECIALISTS
    api.do(
        "alice",
        iid,
        "Task_content_plan",
        {
            "content_types": ["short_video", "long_article", "interactive_h5"],
            "content_direction": "产品参数讲解",
            "placement_schedule": [
                {"channel": "小红书", "content_type": "短视频", "frequency": "每周 3 条"},
                {"channel": "B站", "content_type": "长视频", "frequency": "每周 1 条"},
            ],
        },
    )
    detail = api.instance("sup", iid)
    assert detail["open_tasks"] == []
    assert [t["due_at"] for t in detail["timers"]] == [DUE[0].isoformat()]

    # three months; the second is under target on 小红书
    rates = [3.5, 1.5, 3.4]
    for month, (due, period, rate) in enumerate(zip(DUE, PERIODS, rates, strict=True)):
        if month == 1:
            # April opens Q2: the brand owner (who started the campaign) revisits its strategy
            assert who_has(api, EVERYONE, iid, "Task_quarter_review") == ["sup"]
            review = api.task("sup", iid, "Task_quarter_review")
            assert review["due_at"] is not None
            api.do(
                "sup",
                iid,
                "Task_quarter_review",
                {"quarter_theme": "跨界联名", "quarter_plan": "与潮玩品牌联名"},
            )
        clock.set(due + timedelta(minutes=5))
        fire_timers(scenario_ctx)
        assert who_has(api, EVERYONE, iid, "Task_monthly_metrics") == SPECIALISTS
        result = api.do(
            "bob",
            iid,
            "Task_monthly_metrics",
            {"channel_metrics": metrics(rate), "monthly_highlights": f"{period} 亮点"},
        )
        evaluation = result["data"]["brand_evaluation"]
        assert evaluation["needs_optimisation"] is (month == 1)
        if month == 1:
            assert evaluation["underperforming"] == [
                {
                    "channel": "小红书",
                    "metric": "interaction_rate",
                    "metric_label": "互动率",
                    "actual": 1.5,
                    "target": 3,
                    "gap_pct": 50.0,
                    "suggestion": "调整内容方向（如从产品参数转向使用场景），增加互动玩法",
                }
            ]
            assert who_has(api, EVERYONE, iid, "Task_adjust_content") == SUPERVISORS
            api.do(
                "sup",
                iid,
                "Task_adjust_content",
                {
                    "adjusted_channels": ["小红书"],
                    "new_content_direction": "从产品参数转向使用场景",
                    "adjustment_actions": "小红书改为职场使用场景短视频",
                },
            )
        else:
            assert who_has(api, EVERYONE, iid, "Task_adjust_content") == []
        docs = [d for d in api.documents("sup", iid) if d["doc_type"] == "brand_effect_report"]
        assert docs[-1]["title"] == f"《品牌推广效果报告》— 科技潮玩计划 {LABELS[month]}"
        if month != 1:  # March ends Q1; May ends the campaign: the brand owner's health check
            assert who_has(api, EVERYONE, iid, "Task_brand_health_check") == ["sup"]
            api.do("sup", iid, "Task_brand_health_check", HEALTH)
        assert who_has(api, EVERYONE, iid, "Task_brand_health_check") == []

    assert who_has(api, EVERYONE, iid, "Task_annual_summary") == SUPERVISORS
    done = api.do(
        "sup",
        iid,
        "Task_annual_summary",
        {
            "annual_summary": "三个月推广完成，小红书经调整后互动率回升",
            "brand_health_notes": "品牌搜索量稳定增长",
        },
    )
    assert done["status"] == "completed"

    docs = [d for d in done["documents"] if d["doc_type"] == "brand_effect_report"]
    assert [d["title"] for d in docs] == [f"《品牌推广效果报告》— 科技潮玩计划 {p}" for p in LABELS]
    assert [d["title"] for d in done["documents"] if d["doc_type"] == "brand_health_report"] == [
        "《品牌健康度报告》— 科技潮玩计划 2026年第1季度",
        "《品牌健康度报告》— 科技潮玩计划 2026年第2季度",
    ]
    texts = [api.check_downloads("mgr", iid, d) for d in docs]
    assert "| 小红书 | 130,000 | 1.5% ↓ | 5,200 | 未达标 |" in texts[1]
    assert "指标未达标，进入「调整内容方向」" in texts[1]
    assert "各渠道指标均达到目标。" in texts[0] and "各渠道指标均达到目标。" in texts[2]
    assert "| 本季度策略 | Q1 产品体验官 |" in texts[0]
    assert "| 本季度策略 | Q2 跨界联名 |" in texts[1] and "| 本季度策略 | Q2 跨界联名 |" in texts[2]
    assert "- 新内容方向：从产品参数转向使用场景" in texts[2]  # the June report recalls it
    created = [
        a
        for a in done["audit"]
        if a["action"] == "task_created" and a["element_id"] == "Task_adjust_content"
    ]
    assert len(created) == 1  # only the under-target month needed an optimisation
