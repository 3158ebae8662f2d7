"""移交意向客户: interested customers collected at an event go to sales (manual §3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.store.records_business import LeadRecord
from handlers.common import DASH, dict_rows, label, text

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry

SALES_GROUP = "sales"
INTEREST_LEVELS = ("high", "medium", "low")


def register(registry: HandlerRegistry) -> None:
    registry.handler("handover_leads")(handover_leads)


def normalise_leads(leads: Any) -> tuple[list[dict[str, str]], int]:
    """The leads worth handing over (a name or a contact is needed; duplicates of the same
    name + contact are merged), and how many rows were skipped."""
    kept: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    rows = dict_rows(leads)
    for row in rows:
        lead = {
            "customer_name": text(row.get("customer_name"), 256),
            "contact_person": text(row.get("contact_person"), 128),
            "contact": text(row.get("contact"), 256),
            "interest_level": text(row.get("interest_level"), 16),
            "lead_note": text(row.get("lead_note"), 2000),
        }
        if not lead["customer_name"] and not lead["contact"]:
            continue
        if lead["interest_level"] not in INTEREST_LEVELS:
            lead["interest_level"] = "medium"
        key = (lead["customer_name"].casefold(), lead["contact"].casefold())
        if key in seen:
            continue
        seen.add(key)
        kept.append(lead)
    skipped = (len(leads) if isinstance(leads, list | tuple) else 0) - len(kept)
    return kept, skipped


def handover_leads(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """Records each lead as a `LeadRecord` (status `handed_over`, group `sales`) and returns
    `{"handed_over", "lead_ids", "assigned_group", "skipped", "by_interest", "event_name",
    "leads": [{id, customer_name, contact_person, contact, interest_level}], "summary"}`.
    `summary` is Markdown for the sales follow-up task (a form or page can show it)."""
    leads, skipped = normalise_leads(params.get("leads"))
    event_name = text(params.get("event_name") or ctx.data.get("event_name"), 256)
    now = ctx.clock.now()
    records = [
        LeadRecord(
            customer_name=lead["customer_name"] or lead["contact_person"] or lead["contact"],
            contact_person=lead["contact_person"],
            contact=lead["contact"],
            interest_level=lead["interest_level"],
            note=lead["lead_note"],
            event_name=event_name,
            status="handed_over",
            assigned_group=SALES_GROUP,
            instance_id=ctx.instance_id,
            process_key=ctx.process_key,
            created_at=now,
            handed_over_at=now,
        )
        for lead in leads
    ]
    ctx.session.add_all(records)
    ctx.session.flush()
    by_interest = {level: 0 for level in INTEREST_LEVELS}
    for record in records:
        by_interest[record.interest_level] += 1
    summary_rows = [
        {
            "id": r.id,
            "customer_name": r.customer_name,
            "contact_person": r.contact_person,
            "contact": r.contact,
            "interest_level": r.interest_level,
        }
        for r in records
    ]
    where = f"（{event_name}）" if event_name else ""
    if records:
        ctx.notes.append(
            {
                "note": f"已将 {len(records)} 条意向客户线索移交销售部{where}",
                "lead_ids": [r.id for r in records],
            }
        )
    else:
        ctx.notes.append({"note": f"无意向客户需移交销售部{where}"})
    return {
        "handed_over": len(records),
        "lead_ids": [r.id for r in records],
        "assigned_group": SALES_GROUP,
        "skipped": skipped,
        "by_interest": by_interest,
        "event_name": event_name,
        "leads": summary_rows,
        "summary": _summary_md(summary_rows, event_name),
    }


def _summary_md(rows: list[dict[str, Any]], event_name: str) -> str:
    if not rows:
        return f"{event_name or '本次活动'}无意向客户需跟进。"
    lines = [
        f"{event_name or '本次活动'}共移交 {len(rows)} 条意向客户线索：",
        "",
        "| 客户 | 联系人 | 联系方式 | 意向程度 |",
        "|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            r["customer_name"],
            r["contact_person"] or DASH,
            r["contact"] or DASH,
            label("interest_level", r["interest_level"]),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
