"""品牌资产监测 (manual §1.2: 建立品牌资产监测机制，定期输出《品牌健康度报告》).

Every month the diagram's `记录月度监测数据` step (`record_brand_month`) keeps that month's
numbers in `brand_months`: exposure, interaction rate and brand search volume over the channels,
and the month's brand voice from social listening (optional fields of `monthly_metrics.form`:
mentions, positive and negative mentions, the main competitors' mentions). A quarter's
《品牌健康度报告》 sums its months (`quarter_summary`) beside the brand owner's health check.

Definitions (percentages, one decimal):
- 正面占比 positive share = positive mentions / brand mentions
- 净情感值 net sentiment = (positive − negative) / (positive + negative), −100 … 100
- 声量份额 share of voice = brand mentions / (brand mentions + competitors' mentions)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.brand import evaluate_brand_metrics, period_label, period_quarter
from handlers.common import clean_number, dict_rows, text, to_number

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry

__all__ = ["VOICE_FIELDS", "month_record", "quarter_key", "quarter_summary", "record_brand_month"]

VOICE_FIELDS = ("brand_mentions", "positive_mentions", "negative_mentions", "competitor_mentions")
KEPT_MONTHS = 36  # campaign_months is at most 24


def register(registry: HandlerRegistry) -> None:
    registry.handler("record_brand_month")(record_brand_month_handler)


def quarter_key(period: Any) -> str:
    """`2027-01` → `2027-Q1` (the diagram's `quarter_period`); '' if not a period."""
    parts = period_quarter(period)
    return f"{parts[0]}-Q{parts[2]}" if parts else ""


def share(part: float | None, whole: float | None) -> float | None:
    """part / whole in percent, one decimal; None when either is missing or whole is 0."""
    if part is None or whole is None or whole <= 0:
        return None
    return round(part / whole * 100, 1)


def _count(value: Any) -> float | None:
    number = to_number(value)
    return number if number is not None and number >= 0 else None


def _voice(
    mentions: float | None,
    positive: float | None,
    negative: float | None,
    competitors: float | None,
) -> dict[str, Any]:
    polar = positive + negative if positive is not None and negative is not None else None
    return {
        "brand_mentions": clean_number(mentions),
        "positive_mentions": clean_number(positive),
        "negative_mentions": clean_number(negative),
        "competitor_mentions": clean_number(competitors),
        "positive_share": share(positive, mentions),
        "negative_share": share(negative, mentions),
        "net_sentiment": share(positive - negative, polar)
        if positive is not None and negative is not None
        else None,
        "share_of_voice": share(mentions, mentions + competitors)
        if mentions is not None and competitors is not None
        else None,
    }


def month_record(
    period: Any, label: Any, quarter: Any, evaluation: Any, data: dict[str, Any]
) -> dict[str, Any]:
    """One month of `brand_months`: the channels' totals (from the month's evaluation, else from
    `channel_metrics`) and the brand voice fields the month's form had (missing ones: None)."""
    channels = dict_rows(evaluation.get("channels")) if isinstance(evaluation, dict) else []
    if not channels:
        channels = evaluate_brand_metrics(data.get("channel_metrics"), {})["channels"]
    exposures = [e for e in (to_number(c.get("exposure")) for c in channels) if e is not None]
    searches = [s for s in (to_number(c.get("search_volume")) for c in channels) if s is not None]
    rates = [r for r in (to_number(c.get("interaction_rate")) for c in channels) if r is not None]
    below = evaluation.get("channels_below_target") if isinstance(evaluation, dict) else None
    period_text = text(period, 20)
    return {
        "period": period_text,
        "label": text(label, 40) or period_label(period_text) or period_text,
        "quarter": text(quarter, 20) or quarter_key(period_text),
        "channels": len(channels),
        "exposure": clean_number(sum(exposures)) if exposures else None,
        "search_volume": clean_number(sum(searches)) if searches else None,
        "interaction_rate": round(sum(rates) / len(rates), 2) if rates else None,
        "channels_below_target": [text(c, 100) for c in below or [] if text(c, 100)],
        **_voice(*(_count(data.get(f)) for f in VOICE_FIELDS)),
    }


def record_brand_month(history: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """`history` with `entry` (replacing an earlier record of the same month, e.g. when the
    step runs again after a retry), in month order, at most the last 36 months."""
    kept = [m for m in dict_rows(history) if m.get("period") != entry["period"]]
    months = sorted([*kept, entry], key=lambda m: str(m.get("period") or ""))
    return months[-KEPT_MONTHS:]


def record_brand_month_handler(params: dict[str, Any], ctx: HandlerContext) -> list[dict]:
    entry = month_record(
        params.get("period"),
        params.get("label"),
        params.get("quarter"),
        params.get("evaluation"),
        dict(ctx.data),
    )
    return record_brand_month(params.get("history"), entry)


def _total(months: list[dict[str, Any]], key: str) -> float | None:
    values = [v for v in (to_number(m.get(key)) for m in months) if v is not None]
    return sum(values) if values else None


def quarter_summary(months: list[dict[str, Any]]) -> dict[str, Any]:
    """The quarter from its months: totals, the monthly average search volume, the average
    interaction rate, and the brand voice over the months that reported all of it."""
    voiced = [m for m in months if all(to_number(m.get(f)) is not None for f in VOICE_FIELDS)]
    searches = [s for s in (to_number(m.get("search_volume")) for m in months) if s is not None]
    rates = [r for r in (to_number(m.get("interaction_rate")) for m in months) if r is not None]
    return {
        "months": len(months),
        "exposure": clean_number(_total(months, "exposure")),
        "search_volume": clean_number(sum(searches)) if searches else None,
        "monthly_search_volume": round(sum(searches) / len(searches), 1) if searches else None,
        "interaction_rate": round(sum(rates) / len(rates), 2) if rates else None,
        "voiced_months": len(voiced),
        **_voice(*(_total(voiced, f) if voiced else None for f in VOICE_FIELDS)),
    }
