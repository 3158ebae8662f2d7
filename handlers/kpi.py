"""目标完成率: core metrics against their goals (manual §2.4, §5 assessment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.common import clean_number, dict_rows, text, to_number

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    registry.handler("compute_completion_rate")(compute_completion_rate_handler)


def compute_completion_rate(metrics: Any) -> dict[str, Any]:
    """Per metric: `achievement` = actual / target × 100 (one decimal, may exceed 100) and its
    completion `rate` = the achievement capped at 100 — a target cannot be more than fully
    met, so over-achieving one target never hides a missed one; overall = mean of the rates
    that could be computed. A metric without a positive numeric target gets `rate: None` and
    does not count in the mean (a zero target has no meaningful ratio); it is still reported as
    met when the actual reaches the target.

    Returns `{"completion_rate", "metrics": [{name, target, actual, unit, rate, achievement,
    met}], "met_count", "total_count", "rated_count", "met": [names], "unmet": [names],
    "summary"}`; `summary` is the rate with the targets met beside it ("94%（达成 1/3 项）"),
    as every place showing the rate shows it. `completion_rate` is None when no metric could
    be rated."""
    rows: list[dict[str, Any]] = []
    for index, raw in enumerate(dict_rows(metrics), start=1):
        name = text(raw.get("name"), 200) or f"指标{index}"
        target = to_number(raw.get("target"))
        actual = to_number(raw.get("actual"))
        rate: float | None = None
        achievement: float | None = None
        if target is not None and actual is not None and target > 0:
            achievement = round(actual / target * 100, 1)
            rate = min(achievement, 100.0)
        met = target is not None and actual is not None and actual >= target
        rows.append(
            {
                "name": name,
                "target": clean_number(target),
                "actual": clean_number(actual),
                "unit": text(raw.get("unit"), 50),
                "rate": rate,
                "achievement": achievement,
                "met": met,
            }
        )
    rated = [r["rate"] for r in rows if r["rate"] is not None]
    overall = round(sum(rated) / len(rated), 1) if rated else None
    met_count = sum(1 for r in rows if r["met"])
    return {
        "completion_rate": overall,
        "metrics": rows,
        "met_count": met_count,
        "total_count": len(rows),
        "rated_count": len(rated),
        "met": [r["name"] for r in rows if r["met"]],
        "unmet": [r["name"] for r in rows if not r["met"]],
        "summary": completion_summary(overall, met_count, len(rows)),
    }


def completion_summary(rate: float | None, met_count: int, total_count: int) -> str:
    """The rate and, beside it, how many targets were met: 94%（达成 1/3 项）."""
    shown = "无法计算" if rate is None else f"{rate:g}%"
    return f"{shown}（达成 {met_count}/{total_count} 项）"


def compute_completion_rate_handler(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    result = compute_completion_rate(params.get("metrics"))
    ctx.notes.append(
        {
            "note": f"目标完成率 {result['summary']}",
            "completion_rate": result["completion_rate"],
        }
    )
    return result
