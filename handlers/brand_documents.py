"""What the brand promotion's documents say (manual §4): the monthly 《品牌推广效果报告》.

Months and quarters are calendar ones: a report of March 2027 is 「2027年第1季度 · 3月」 and
follows the Q1 strategy, whichever month of the campaign it is. The diagram's
`计算本月报告时间与季度` script writes `report_label`, `report_quarter`, `quarter_theme` and
`quarter_plan`; an instance started on an older version of the diagram has only
`report_period`, and the same values are derived from it here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from handlers.brand import evaluate_brand_metrics
from handlers.common import LABELS, clean_number, dict_rows, text, to_number

__all__ = ["brand_effect_report", "period_label", "period_quarter"]

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
