"""add_case_library_entry: a CaseLibraryRecord in the caller's session, linked to the report."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.records_business import CaseLibraryRecord
from engine.store.tables import DocumentRecord
from handlers.case_library import add_case_library_entry
from tests.handlers import NOW, handler_session, make_ctx

DATA = {
    "project_name": "Q3 旺季促销",
    "a_owner": "sup",
    "highlights": "线上预售转化率高",
    "shortfalls": "线下物料延期",
    "process_improvements": "线下活动需提前一周确认天气",
}


def _report(session: Session, instance_id: int = 7) -> DocumentRecord:
    doc = DocumentRecord(
        instance_id=instance_id,
        doc_type="retrospective_report",
        title="《项目复盘报告》— Q3 旺季促销",
        content_md="# x\n",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    session.add(doc)
    session.flush()
    return doc


def test_entry_is_written_and_linked() -> None:
    with handler_session() as session:
        doc = _report(session)
        ctx = make_ctx(session, DATA)
        result = add_case_library_entry(
            {
                "title": "预售策略模板",
                "category": "promotion",
                "project_name": "Q3 旺季促销",
                "completion_rate": 92.46,
                "document": {"document_id": doc.id, "doc_type": "retrospective_report"},
            },
            ctx,
        )
        record = session.get(CaseLibraryRecord, result["case_id"])
        assert record is not None
        assert result == {
            "case_id": record.id,
            "title": "预售策略模板",
            "category": "promotion",
            "category_label": "促销活动",
            "completion_rate": 92.5,
            "document_id": doc.id,
        }
        assert (record.instance_id, record.process_key) == (7, "project_initiation")
        assert record.created_at == NOW
        assert record.created_by == "sup"
        assert "线下活动需提前一周确认天气" in record.summary
        assert ctx.notes == [{"note": "已入案例库：预售策略模板（促销活动）", "case_id": record.id}]
        # flushed for the id, but committing is the caller's business
        assert session.in_transaction()


def test_defaults_and_foreign_or_missing_documents() -> None:
    with handler_session() as session:
        foreign = _report(session, instance_id=99)
        ctx = make_ctx(session, {"project_name": "新品预售"})
        result = add_case_library_entry(
            {
                "title": "",
                "category": "nonsense",
                "completion_rate": None,
                "document": {"document_id": foreign.id},
            },
            ctx,
        )
        assert result["title"] == "新品预售"
        assert result["category"] == "other"
        assert result["completion_rate"] is None
        assert result["document_id"] is None  # another instance's document is not linked
        result = add_case_library_entry({"document": {"document_id": 12345}}, ctx)
        assert result["document_id"] is None
        assert result["title"] == "新品预售"
        result = add_case_library_entry({"document": "not a dict"}, make_ctx(session))
        assert result["title"] == "未命名案例"
        assert len(session.scalars(select(CaseLibraryRecord)).all()) == 3
