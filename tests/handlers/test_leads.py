"""handover_leads: interested customers become LeadRecords handed to sales."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine.store.records_business import LeadRecord
from handlers.leads import handover_leads, normalise_leads
from tests.handlers import NOW, handler_session, make_ctx

LEADS = [
    {
        "customer_name": "星辰科技",
        "contact_person": "周总",
        "contact": "13800000001",
        "interest_level": "high",
        "lead_note": "想了解批量采购价格",
    },
    {"customer_name": "远山贸易", "contact": "yuanshan@example.com", "interest_level": "medium"},
    {"customer_name": "远山贸易", "contact": "YUANSHAN@example.com", "interest_level": "low"},
    {"customer_name": "", "contact": "", "interest_level": "high"},
    "not a row",
]


def test_leads_are_recorded_for_sales() -> None:
    with handler_session() as session:
        ctx = make_ctx(session, process_key="product_launch", instance_id=3)
        result = handover_leads({"leads": LEADS, "event_name": "2026 新品发布会"}, ctx)
        records = session.scalars(select(LeadRecord).order_by(LeadRecord.id)).all()
        assert [r.customer_name for r in records] == ["星辰科技", "远山贸易"]
        first = records[0]
        assert (first.status, first.assigned_group, first.instance_id) == (
            "handed_over",
            "sales",
            3,
        )
        assert (first.contact_person, first.interest_level) == ("周总", "high")
        assert first.note == "想了解批量采购价格"
        assert first.event_name == "2026 新品发布会"
        assert first.handed_over_at == NOW and first.created_at == NOW
    assert result["handed_over"] == 2
    assert result["lead_ids"] == [r.id for r in records]
    assert result["assigned_group"] == "sales"
    assert result["skipped"] == 3  # a duplicate, an empty row, a non-row
    assert result["by_interest"] == {"high": 1, "medium": 1, "low": 0}
    assert result["leads"][0]["customer_name"] == "星辰科技"
    assert "| 星辰科技 | 周总 | 13800000001 | 高 |" in result["summary"]
    assert ctx.notes == [
        {
            "note": "已将 2 条意向客户线索移交销售部（2026 新品发布会）",
            "lead_ids": result["lead_ids"],
        }
    ]
    json.dumps(result)


def test_no_leads() -> None:
    with handler_session() as session:
        ctx = make_ctx(session, {"event_name": "发布会"}, process_key="product_launch")
        result = handover_leads({"leads": None}, ctx)
    assert result["handed_over"] == 0 and result["lead_ids"] == []
    assert result["event_name"] == "发布会"
    assert result["summary"] == "发布会无意向客户需跟进。"
    assert ctx.notes == [{"note": "无意向客户需移交销售部（发布会）"}]


def test_normalise_fills_interest_and_escapes_nothing() -> None:
    leads, skipped = normalise_leads(
        [{"contact": "13900000000", "interest_level": "urgent", "customer_name": "a|b"}]
    )
    assert skipped == 0
    assert leads[0]["interest_level"] == "medium"
    assert leads[0]["customer_name"] == "a|b"  # stored as typed; only tables escape it
