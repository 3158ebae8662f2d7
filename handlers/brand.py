"""品牌推广效果监测: each channel's monthly exposure, interaction rate and brand search volume
against the campaign's targets (manual §4.3)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from handlers.common import LABELS, clean_number, dict_rows, text, to_number

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry

METRICS = ("exposure", "interaction_rate", "search_volume")

# What to try when a metric is under target (manual §4.3: e.g. low interaction on Xiaohongshu →
# move the content from product specs to usage scenarios).
SUGGESTIONS = {
    "exposure": "提高投放频次或预算，优化发布时间与话题标签",
    "interaction_rate": "调整内容方向（如从产品参数转向使用场景），增加互动玩法",
    "search_volume": "加强品牌关键词露出，联动其他渠道引导搜索",
}


def register(registry: HandlerRegistry) -> None:
    registry.handler("evaluate_brand_metrics")(evaluate_brand_metrics_handler)


def evaluate_brand_metrics(channel_metrics: Any, targets: Any) -> dict[str, Any]:
    """Compare every channel's metrics with the (per-channel) targets.

    A metric is under target when both values are numbers, the target is positive and
    actual < target; a missing target or value is not judged. Returns
    `{"needs_optimisation", "underperforming": [{channel, metric, metric_label, actual, target,
    gap_pct, suggestion}], "evaluated_channels", "channels": [{channel, exposure,
    interaction_rate, search_volume, status, under}], "channels_below_target": [...],
    "targets": {...}}`."""
    goal = targets if isinstance(targets, dict) else {}
    target_values = {m: to_number(goal.get(m)) for m in METRICS}
    underperforming: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []
    for index, row in enumerate(dict_rows(channel_metrics), start=1):
        channel = text(row.get("channel"), 100) or f"渠道{index}"
        actuals = {m: to_number(row.get(m)) for m in METRICS}
        under: list[str] = []
        for metric in METRICS:
            actual, target = actuals[metric], target_values[metric]
            if actual is None or target is None or target <= 0 or actual >= target:
                continue
            under.append(metric)
            underperforming.append(
                {
                    "channel": channel,
                    "metric": metric,
                    "metric_label": LABELS["brand_metric"][metric],
                    "actual": clean_number(actual),
                    "target": clean_number(target),
                    "gap_pct": round((target - actual) / target * 100, 1),
                    "suggestion": SUGGESTIONS[metric],
                }
            )
        channels.append(
            {
                "channel": channel,
                **{m: clean_number(actuals[m]) for m in METRICS},
                "status": "below_target" if under else "on_target",
                "under": under,
            }
        )
    below = list(dict.fromkeys(u["channel"] for u in underperforming))
    return {
        "needs_optimisation": bool(underperforming),
        "underperforming": underperforming,
        "evaluated_channels": len(channels),
        "channels": channels,
        "channels_below_target": below,
        "targets": {m: clean_number(v) for m, v in target_values.items()},
    }


def evaluate_brand_metrics_handler(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    result = evaluate_brand_metrics(params.get("channel_metrics"), params.get("targets"))
    period = text(ctx.data.get("report_period"), 20)
    prefix = f"{period} " if period else ""
    if result["needs_optimisation"]:
        ctx.notes.append(
            {
                "note": f"{prefix}品牌推广指标未达标：{'、'.join(result['channels_below_target'])}"
                "，需调整内容方向",
                "underperforming": len(result["underperforming"]),
            }
        )
    else:
        ctx.notes.append(
            {"note": f"{prefix}品牌推广各渠道指标均达标（{result['evaluated_channels']} 个渠道）"}
        )
    return result


# --- calendar months and quarters of the reports --------------------------------------------

_PERIOD = re.compile(r"^(\d{4})-(\d{1,2})$")


def period_quarter(period: Any) -> tuple[int, int, int] | None:
    """(year, month, calendar quarter) of a `YYYY-MM` report period, else None."""
    found = _PERIOD.match(text(period, 20))
    if not found:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12:
        return None
    return year, month, (month - 1) // 3 + 1


def period_label(period: Any) -> str:
    """`2027-01` → 「2027年第1季度 · 1月」 (as the diagram labels a month); '' if not a period."""
    parts = period_quarter(period)
    if parts is None:
        return ""
    year, month, quarter = parts
    return f"{year}年第{quarter}季度 · {month}月"
