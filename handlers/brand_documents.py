"""What the brand promotion's documents say (manual §4): the monthly 《品牌推广效果报告》 and
the quarterly 《品牌健康度报告》 (manual §1.2, 品牌资产监测机制).

Months and quarters are calendar ones: a report of March 2027 is 「2027年第1季度 · 3月」 and
follows the Q1 strategy, whichever month of the campaign it is. The diagram's
`计算本月报告时间与季度` script writes `report_label`, `report_quarter`, `quarter_theme` and
`quarter_plan`; an instance started on an older version of the diagram has only
`report_period`, and the same values are derived from it here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.figures import shown_number
from handlers.brand import evaluate_brand_metrics, period_label, period_quarter
from handlers.brand_health import quarter_key, quarter_summary
from handlers.common import DASH, LABELS, clean_number, dict_rows, text, to_number

__all__ = ["brand_effect_report", "brand_health_report"]

HEALTH_RATINGS = {"healthy": "健康", "watch": "关注", "warning": "预警"}


def _quarter(data: dict[str, Any]) -> int | None:
    """The calendar quarter of the reported month: `report_quarter`, else from
    `report_period`, else (very old data) from the campaign month count."""
    given = to_number(data.get("report_quarter"))
    if given is not None and 1 <= given <= 4:
        return int(given)
    parts = period_quarter(data.get("report_period"))
    if parts is not None:
        return parts[2]
    month_index = to_number(data.get("month_index"))
    return int(month_index) // 3 % 4 + 1 if month_index is not None else None


def _directions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each channel's content direction as it stands now, with the month it was last adjusted
    in (`channel_directions` and `content_adjustments`, kept by the diagram; without them every
    channel follows the content plan's `content_direction`)."""
    planned = text(data.get("content_direction"))
    given = data.get("channel_directions")
    directions: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
    channels = [text(c, 100) for c in data.get("channels") or [] if text(c, 100)]
    channels += [c for c in directions if c not in channels]
    since: dict[str, str] = {}
    for adjustment in dict_rows(data.get("content_adjustments")):
        when = text(adjustment.get("label"), 40) or period_label(adjustment.get("period"))
        for channel in adjustment.get("channels") or []:
            since[text(channel, 100)] = when
    return [
        {
            "channel": channel,
            "direction": text(directions.get(channel)) or planned,
            "adjusted_in": since.get(channel, ""),
        }
        for channel in channels
    ]


def _direction_summary(rows: list[dict[str, Any]], planned: str) -> str:
    """One line: the direction when all channels share it, else `渠道：方向` groups."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["direction"], []).append(row["channel"])
    if len(groups) <= 1:
        return next(iter(groups), planned)
    return "；".join(f"{'、'.join(names)}：{direction}" for direction, names in groups.items())


def brand_effect_report(data: dict[str, Any], now: datetime, sequence: int) -> dict[str, Any]:
    """The template context of one month's 《品牌推广效果报告》."""
    targets = {
        "exposure": data.get("target_exposure"),
        "interaction_rate": data.get("target_interaction_rate"),
        "search_volume": data.get("target_search_volume"),
    }
    evaluation = data.get("brand_evaluation")
    if not isinstance(evaluation, dict) or "channels" not in evaluation:
        evaluation = evaluate_brand_metrics(data.get("channel_metrics"), targets)
    channels = dict_rows(evaluation.get("channels"))
    exposures = [to_number(c.get("exposure")) for c in channels]
    searches = [to_number(c.get("search_volume")) for c in channels]
    rates = [r for r in (to_number(c.get("interaction_rate")) for c in channels) if r is not None]
    month_index = to_number(data.get("month_index"))
    quarter = _quarter(data)
    period = text(data.get("report_period"), 20)
    label = text(data.get("report_label"), 40) or period_label(period) or period
    directions = _directions(data)
    return {
        "targets": targets,
        "evaluation": evaluation,
        "channel_rows": channels,
        "under_rows": dict_rows(evaluation.get("underperforming")),
        "total_exposure": clean_number(sum(e for e in exposures if e is not None))
        if channels
        else None,
        "total_search_volume": clean_number(sum(s for s in searches if s is not None))
        if channels
        else None,
        "average_interaction_rate": round(sum(rates) / len(rates), 2) if rates else None,
        "month_number": int(month_index) + 1 if month_index is not None else None,
        "quarter": quarter,
        "quarter_theme": data.get("quarter_theme")
        or (data.get(f"q{quarter}_theme") if quarter else None),
        "quarter_plan": data.get("quarter_plan")
        or (data.get(f"q{quarter}_plan") if quarter else None),
        "report_label": label,
        "direction_rows": directions,
        "current_direction": _direction_summary(directions, text(data.get("content_direction"))),
        "metric_labels": LABELS["brand_metric"],
        "title_suffix": label or (f"第{sequence}期" if sequence else ""),
    }


# --- 《品牌健康度报告》 -------------------------------------------------------------------------


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return DASH
    return shown_number(value, 1) + unit


def _change(now: float | None, before: float | None, points: bool) -> str:
    """↑/↓ against the previous quarter: percentage points for rates, percent for volumes."""
    if now is None or before is None:
        return DASH
    if points:
        delta = round(now - before, 1)
        shown = f"{abs(clean_number(delta))} 个百分点"
    else:
        if before <= 0:
            return DASH
        delta = round((now - before) / before * 100, 1)
        shown = f"{abs(clean_number(delta))}%"
    if delta == 0:
        return "持平"
    return ("↑ " if delta > 0 else "↓ ") + shown


def _dimension(
    name: str, measure: str, now: float | None, before: float | None, *, rate: bool = True
) -> dict[str, str]:
    unit = "%" if rate else ""
    return {
        "name": name,
        "measure": measure,
        "current": _shown(now, unit),
        "previous": _shown(before, unit),
        "change": _change(now, before, points=rate),
    }


def _health_quarter(data: dict[str, Any]) -> tuple[str, str, int | None]:
    """(quarter key `2027-Q1`, label 「2027年第1季度」, quarter number) the report is about."""
    key = text(data.get("quarter_period"), 20) or quarter_key(data.get("report_period"))
    parts = period_quarter(data.get("report_period"))
    label = text(data.get("quarter_label"), 40)
    if not label and parts:
        label = f"{parts[0]}年第{parts[2]}季度"
    number = int(key[-1]) if key[-2:-1] == "Q" and key[-1] in "1234" else None
    return key, label, number


def _review_line(review: dict[str, Any]) -> str:
    theme, before = text(review.get("theme")), text(review.get("previous_theme"))
    if not review.get("changed"):
        return f"沿用「{theme}」"
    if before and before != theme:
        return f"主题由「{before}」调整为「{theme}」"
    return f"沿用主题「{theme}」，调整了策略要点"


def _quarter_name(key: str) -> str:
    """`2026-Q4` → 「2026年第4季度」."""
    year, _, number = key.partition("-Q")
    return f"{year}年第{number}季度" if year.isdigit() and number.isdigit() else key


def _dimensions(
    data: dict[str, Any],
    now: dict[str, Any],
    before: dict[str, Any] | None,
    previous_check: dict[str, Any] | None,
) -> list[dict[str, str]]:
    prev = before or {}
    check = previous_check or {}
    sentiment = _dimension(
        "情感倾向", "正面提及占比（净情感值）", now["positive_share"], prev.get("positive_share")
    )
    if now["net_sentiment"] is not None:
        sentiment["current"] += f"（{clean_number(now['net_sentiment']):+}）"
    if prev.get("net_sentiment") is not None:
        sentiment["previous"] += f"（{clean_number(prev['net_sentiment']):+}）"
    search = _dimension(
        "品牌搜索量",
        "各渠道月均合计",
        now["monthly_search_volume"],
        prev.get("monthly_search_volume"),
        rate=False,
    )
    return [
        _dimension(
            "品牌认知度",
            "目标人群中知道本品牌的比例（季度调研）",
            to_number(data.get("brand_awareness")),
            to_number(check.get("awareness")),
        ),
        _dimension(
            "品牌美誉度",
            "知晓人群中评价正面的比例（季度调研）",
            to_number(data.get("brand_reputation")),
            to_number(check.get("reputation")),
        ),
        search,
        sentiment,
        _dimension(
            "声量份额",
            "本品牌声量 ÷（本品牌 + 主要竞品）",
            now["share_of_voice"],
            prev.get("share_of_voice"),
        ),
    ]


def _outlook(data: dict[str, Any], number: int | None) -> dict[str, Any]:
    """The next quarter's strategy as approved, if the campaign goes on."""
    months_done = to_number(data.get("month_index"))
    total = to_number(data.get("campaign_months"))
    going_on = months_done is not None and total is not None and months_done < total
    following = number % 4 + 1 if number else None
    return {
        "campaign_goes_on": going_on,
        "next_quarter": following,
        "next_theme": data.get(f"q{following}_theme") if following and going_on else None,
        "next_plan": data.get(f"q{following}_plan") if following and going_on else None,
    }


def brand_health_report(data: dict[str, Any], now: datetime, sequence: int) -> dict[str, Any]:
    """The template context of a quarter's 《品牌健康度报告》: the quarter's months from
    `brand_months`, the previous quarter's for comparison, the brand owner's health check
    (this quarter's form values; the previous quarter's from `health_checks`)."""
    key, label, number = _health_quarter(data)
    history = dict_rows(data.get("brand_months"))
    months = [m for m in history if m.get("quarter") == key]
    earlier = sorted({str(m.get("quarter")) for m in history if str(m.get("quarter")) < key})
    before = (
        quarter_summary([m for m in history if m.get("quarter") == earlier[-1]])
        if earlier
        else None
    )
    checks = [c for c in dict_rows(data.get("health_checks")) if str(c.get("quarter")) < key]
    summary = quarter_summary(months)
    periods = {m.get("period") for m in months}
    return {
        "quarter_key": key,
        "quarter_label": label,
        "quarter": number,
        "month_rows": months,
        "months_text": "、".join(
            f"{parts[1]}月" for parts in (period_quarter(m.get("period")) for m in months) if parts
        ),
        "summary": summary,
        "previous_label": _quarter_name(earlier[-1]) if earlier else None,
        "dimensions": _dimensions(data, summary, before, checks[-1] if checks else None),
        "rating_label": HEALTH_RATINGS.get(text(data.get("health_rating")), DASH),
        "quarter_theme": data.get("quarter_theme")
        or (data.get(f"q{number}_theme") if number else None),
        "quarter_adjustments": [
            a for a in dict_rows(data.get("content_adjustments")) if a.get("period") in periods
        ],
        "review_lines": [
            _review_line(r)
            for r in dict_rows(data.get("strategy_reviews"))
            if r.get("quarter") == key
        ],
        **_outlook(data, number),
        "title_suffix": label or f"第{sequence}期",
    }
