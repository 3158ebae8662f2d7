"""Business records written by the department's handlers: the case library (案例库) and the
leads handed to sales (移交销售部的意向客户).

Kept apart from `engine.store.tables` (the engine's own tables); they share its `Base`, so the
migrations (`0002_case_library_and_leads`) and `Base.metadata.create_all` see them once this
module is imported (`handlers` and `engine/migrations/env.py` import it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.tables import Base, BigId

CASE_CATEGORIES: dict[str, str] = {
    "promotion": "促销活动",
    "event": "活动执行",
    "brand": "品牌传播",
    "channel": "渠道拓展",
    "other": "其他",
}

LEAD_STATUSES = ("handed_over", "following_up", "converted", "closed")


class CaseLibraryRecord(Base):
    """An entry of the 案例库: a finished project worth reusing (e.g. a presale strategy)."""

    __tablename__ = "case_library"
    __table_args__ = (Index("ix_case_library_category", "category", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(32))
    project_name: Mapped[str] = mapped_column(String(256), default="")
    # Percent (92.5 = 92.5 %); None when no metric had a usable target.
    completion_rate: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text, default="")
    # Entries outlive the instance and the document they came from.
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="SET NULL"), index=True
    )
    process_key: Mapped[str] = mapped_column(String(128), default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "category": self.category,
            "category_label": CASE_CATEGORIES.get(self.category, self.category),
            "project_name": self.project_name,
            "completion_rate": self.completion_rate,
            "summary": self.summary,
            "document_id": self.document_id,
            "instance_id": self.instance_id,
            "process_key": self.process_key,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


class LeadRecord(Base):
    """An interested customer from an event, handed to the sales department for conversion."""

    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_name: Mapped[str] = mapped_column(String(256))  # 客户（公司或个人）
    contact_person: Mapped[str] = mapped_column(String(128), default="")
    contact: Mapped[str] = mapped_column(String(256), default="")  # 联系方式
    interest_level: Mapped[str] = mapped_column(String(16), default="medium")  # high|medium|low
    note: Mapped[str] = mapped_column(Text, default="")
    event_name: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(32), default="handed_over")
    assigned_group: Mapped[str] = mapped_column(String(64), default="sales")
    instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="SET NULL"), index=True
    )
    process_key: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime]
    handed_over_at: Mapped[datetime | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_name": self.customer_name,
            "contact_person": self.contact_person,
            "contact": self.contact,
            "interest_level": self.interest_level,
            "note": self.note,
            "event_name": self.event_name,
            "status": self.status,
            "assigned_group": self.assigned_group,
            "instance_id": self.instance_id,
            "process_key": self.process_key,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "handed_over_at": self.handed_over_at.isoformat() if self.handed_over_at else None,
        }
