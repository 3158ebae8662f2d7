"""目标完成率: core metrics against their goals (manual §2.4, §5 assessment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.common import clean_number, dict_rows, text, to_number

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    registry.handler("compute_completion_rate")(compute_completion_rate_handler)


def compute_completion_rate(metrics: Any) -> dict[str, Any]:
    """Per metric rate = actual / target × 100 (one decimal); overall = mean of the rates that
    could be computed. A metric without a positive numeric target gets `rate: None` and does not
    count in the mean (a zero target has no meaningful ratio); it is still reported as met when
    the actual reaches the target.

    Returns `{"completion_rate", "metrics": [{name, target, actual, unit, rate, met}],
    "met_count", "total_count", "rated_count", "met": [names], "unmet": [names]}`.
    `completion_rate` is None when no metric could be rated."""
    rows: list[dict[str, Any]] = []
    for index, raw in enumerate(dict_rows(metrics), start=1):
        name = text(raw.get("name"), 200) or f"指标{index}"
        target = to_number(raw.get("target"))
        actual = to_number(raw.get("actual"))
        rate: float | None = None
        if target is not None and actual is not None and target > 0:
            rate = round(actual / target * 100, 1)
        met = target is not None and actual is not None and actual >= target
        rows.append(
            {
                "name": name,
                "target": clean_number(target),
                "actual": clean_number(actual),
                "unit": text(raw.get("unit"), 50),
                "rate": rate,
                "met": met,
            }
        )
    rated = [r["rate"] for r in rows if r["rate"] is not None]
    overall = round(sum(rated) / len(rated), 1) if rated else None
    return {
        "completion_rate": overall,
        "metrics": rows,
        "met_count": sum(1 for r in rows if r["met"]),
        "total_count": len(rows),
        "rated_count": len(rated),
        "met": [r["name"] for r in rows if r["met"]],
        "unmet": [r["name"] for r in rows if not r["met"]],
    }


def compute_completion_rate_handler(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    result = compute_completion_rate(params.get("metrics"))
    rate = result["completion_rate"]
    shown = "无法计算" if rate is None else f"{rate}%"
    ctx.notes.append(
        {
            "note": f"目标完成率 {shown}（达成 {result['met_count']}/{result['total_count']} 项）",
            "completion_rate": rate,
        }
    )
    return result
