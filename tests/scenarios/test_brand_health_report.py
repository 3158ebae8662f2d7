"""品牌资产监测机制 (manual §1.2: 定期输出《品牌健康度报告》): after each calendar quarter's last
month, and at the campaign's end, the brand owner fills a health check and the instance gets a
《品牌健康度报告》 — awareness and reputation from the check, search volume, sentiment and share
of voice from that quarter's monthly metrics, compared with the previous quarter — downloadable
as Markdown and Word like the other documents.

A five-month campaign, January to May 2026: Q1 (three months, brand voice reported every month,
小红书 adjusted in February) and Q2 so far (April with brand voice, May without)."""

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
    "q4_plan": "年度用户盛典",
}
# month → (xiaohongshu interaction rate, B站 search volume, brand voice from social listening)
MONTHS: dict[int, tuple[float, int, dict[str, int]]] = {
    1: (
        3.5,
        7000,
        {
            "brand_mentions": 8000,
            "positive_mentions": 5000,
            "negative_mentions": 1000,
            "competitor_mentions": 24000,
        },
    ),
    2: (
        1.5,
        7000,
        {
            "brand_mentions": 9000,
            "positive_mentions": 5400,
            "negative_mentions": 1200,
            "competitor_mentions": 21000,
        },
    ),
    3: (
        3.4,
        7000,
        {
            "brand_mentions": 10000,
            "positive_mentions": 6600,
            "negative_mentions": 900,
            "competitor_mentions": 20000,
        },
    ),
    4: (
        3.6,
        8000,
        {
            "brand_mentions": 12000,
            "positive_mentions": 8400,
            "negative_mentions": 600,
            "competitor_mentions": 20000,
        },
    ),
    5: (3.3, 8000, {}),  # May: no brand voice reported
}


def metrics(month: int) -> list[dict[str, Any]]:
    rate, bilibili_search, _voice = MONTHS[month]
    return [
        {"channel": "小红书", "exposure": 130000, "interaction_rate": rate, "search_volume": 5200},
        {
            "channel": "B站",
            "exposure": 160000,
            "interaction_rate": 4.8,
            "search_volume": bilibili_search,
        },
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
    clock.set(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
    iid = api.start(
        "sup",
        "brand_promotion",
        {
            "brand_positioning": "年轻化科技品牌",
            "target_audience": "Z世代职场新人",
            "annual_theme": "科技潮玩计划",
            "campaign_start": "2026-01-05",
            "campaign_months": 5,
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
        {"content_types": ["short_video"], "content_direction": "产品参数讲解"},
    )
    return iid


def _report_month(api: Api, ctx: EngineContext, clock: FixedClock, iid: int, month: int) -> None:
    """The month's metrics at its due time (the 1st of the next month, 09:00 Shanghai)."""
    clock.set(datetime(2026, month + 1, 1, 1, 5, tzinfo=UTC))
    fire_timers(ctx)
    task = api.task("bob", iid, "Task_monthly_metrics")
    form = api.get("bob", f"/tasks/{task['id']}").get_json()["form"]
    assert "brand_mentions" in {c.get("key") for c in form["components"]}
    api.complete("bob", task, {"channel_metrics": metrics(month), **MONTHS[month][2]})
    if month == 2:
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


def _health_check(api: Api, iid: int, values: dict[str, Any]) -> dict[str, Any]:
    """The brand owner's health check: only the campaign's starter sees it, it opens empty
    (nothing from the previous quarter) and is due within 7 days."""
    assert who_has(api, EVERYONE, iid, "Task_brand_health_check") == ["sup"]
    task = api.task("sup", iid, "Task_brand_health_check")
    opened = api.get("sup", f"/tasks/{task['id']}").get_json()
    assert opened["data"].get("brand_awareness") is None
    assert opened["data"].get("health_findings") is None
    assert datetime.fromisoformat(task["due_at"]) == api.clock.now() + timedelta(days=7)
    return api.complete("sup", task, values)


def _health_reports(api: Api, iid: int) -> list[dict[str, Any]]:
    return [d for d in api.documents("mgr", iid) if d["doc_type"] == "brand_health_report"]


def test_quarterly_brand_health_report(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    iid = _start(api, clock)
    for month in (1, 2):
        _report_month(api, scenario_ctx, clock, iid, month)
        assert who_has(api, EVERYONE, iid, "Task_brand_health_check") == []  # Q1 goes on

    # March ends Q1
    _report_month(api, scenario_ctx, clock, iid, 3)
    assert api.instance("sup", iid)["timers"] == []  # the loop waits for the health check
    _health_check(
        api,
        iid,
        {
            "brand_awareness": 32,
            "brand_reputation": 70,
            "health_data_source": "季度品牌调研问卷（样本 1,000）",
            "health_rating": "watch",
            "health_findings": "认知度起步，负面提及集中在售后",
            "health_actions": "Q2 联名内容突出服务承诺",
        },
    )
    (q1,) = _health_reports(api, iid)
    assert q1["title"] == "《品牌健康度报告》— 科技潮玩计划 2026年第1季度"
    text = api.check_downloads("mgr", iid, q1)
    for line in (
        "| 报告季度 | 2026年第1季度（推广覆盖 1月、2月、3月，共 3 个月） |",
        "| 本季度策略 | Q1 产品体验官 |",
        "| 品牌负责人 | sup |",
        "| 健康度评估 | 关注 |",
        "| 维度 | 口径 | 本季度 | 上季度 | 变化 |",
        "| 品牌认知度 | 目标人群中知道本品牌的比例（季度调研） | 32% | — | — |",
        "| 品牌美誉度 | 知晓人群中评价正面的比例（季度调研） | 70% | — | — |",
        "| 品牌搜索量 | 各渠道月均合计 | 17,200 | — | — |",
        # 17,000 positive of 27,000 mentions; (17,000 − 3,100) / 20,100 net
        "| 情感倾向 | 正面提及占比（净情感值） | 63%（+69.2） | — | — |",
        "| 声量份额 | 本品牌声量 ÷（本品牌 + 主要竞品） | 29.3% | — | — |",
        "- 认知度、美誉度数据来源：季度品牌调研问卷（样本 1,000）",
        "| 2026年第1季度 · 1月 | 400,000 | 3.83% | 17,200 | 8,000 | 62.5% | 25% | — |",
        "| 2026年第1季度 · 2月 | 400,000 | 3.17% | 17,200 | 9,000 | 60% | 30% | 小红书 |",
        "- 主要发现：认知度起步，负面提及集中在售后",
        "- 改进建议：Q2 联名内容突出服务承诺",
        "| 2026年第1季度 · 2月 | 小红书 | 从产品参数转向使用场景 | 小红书改为职场使用场景短视频 |",
        "下季度（Q2）策略：跨界联名 — 与潮玩品牌联名。季度初由品牌负责人结合本报告回顾确认。",
    ):
        assert line in text, line
    assert "填报了完整的品牌声量" not in text  # every month had its brand voice

    # April opens Q2: the review shows the health check, the strategy is kept
    review = api.task("sup", iid, "Task_quarter_review")
    data = api.get("sup", f"/tasks/{review['id']}").get_json()["data"]
    assert (data["health_rating"], data["health_actions"]) == ("watch", "Q2 联名内容突出服务承诺")
    api.complete("sup", review, {"quarter_theme": "跨界联名", "quarter_plan": "与潮玩品牌联名"})

    # April and May; May ends the campaign (Q2 so far) and asks for a health check again
    _report_month(api, scenario_ctx, clock, iid, 4)
    assert who_has(api, EVERYONE, iid, "Task_brand_health_check") == []
    _report_month(api, scenario_ctx, clock, iid, 5)
    _health_check(
        api,
        iid,
        {
            "brand_awareness": 38.5,
            "brand_reputation": 68,
            "health_data_source": "季度品牌调研问卷（样本 1,200）",
            "health_rating": "healthy",
            "health_findings": "联名带动认知度提升",
        },
    )
    q1_again, q2 = _health_reports(api, iid)
    assert q1_again == q1
    assert q2["title"] == "《品牌健康度报告》— 科技潮玩计划 2026年第2季度"
    text = api.check_downloads("mgr", iid, q2)
    for line in (
        "| 报告季度 | 2026年第2季度（推广覆盖 4月、5月，共 2 个月） |",
        "| 本季度策略 | Q2 跨界联名 |",
        "| 健康度评估 | 健康 |",
        "| 维度 | 口径 | 本季度 | 上季度（2026年第1季度） | 变化 |",
        "| 品牌认知度 | 目标人群中知道本品牌的比例（季度调研） | 38.5% | 32% | ↑ 6.5 个百分点 |",
        "| 品牌美誉度 | 知晓人群中评价正面的比例（季度调研） | 68% | 70% | ↓ 2 个百分点 |",
        "| 品牌搜索量 | 各渠道月均合计 | 18,200 | 17,200 | ↑ 5.8% |",
        "| 情感倾向 | 正面提及占比（净情感值） | 70%（+86.7） | 63%（+69.2） | ↑ 7 个百分点 |",
        "| 声量份额 | 本品牌声量 ÷（本品牌 + 主要竞品） | 37.5% | 29.3% | ↑ 8.2 个百分点 |",
        "- 声量数据：2 个月中 1 个月填报了完整的品牌声量（情感倾向与声量份额按这些月份计算）。",
        "| 2026年第2季度 · 5月 | 400,000 | 3.77% | 18,200 | — | — | — | — |",
        "- 改进建议：—",
        "- 季度初策略回顾：沿用「跨界联名」",
        "本季度未调整内容方向。",
        "推广周期已结束，全年情况见年度总结。",
    ):
        assert line in text, line

    done = api.do(
        "sup",
        iid,
        "Task_annual_summary",
        {"annual_summary": "五个月推广完成，认知度提升", "brand_health_notes": "见两季度报告"},
    )
    assert done["status"] == "completed"
    assert [c["quarter"] for c in done["data"]["health_checks"]] == ["2026-Q1", "2026-Q2"]
    assert [m["label"] for m in done["data"]["brand_months"]] == [
        f"2026年第{(m - 1) // 3 + 1}季度 · {m}月" for m in range(1, 6)
    ]
    kinds = [d["doc_type"] for d in done["documents"]]
    assert kinds == ["brand_effect_report"] * 3 + ["brand_health_report"] + [
        "brand_effect_report"
    ] * 2 + ["brand_health_report"]
