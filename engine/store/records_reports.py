"""What people add to what the processes wrote: sales' status updates of the leads handed to
them (跟进中 / 已转化 / 无效, with who and when).

They share `engine.store.tables.Base`; migration `0008_lead_updates` creates them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.records_business import LeadRecord
from engine.store.tables import Base

# The statuses sales may set (a lead starts as `handed_over`: 已移交, waiting for sales).
LEAD_UPDATES = ("following_up", "converted", "closed")

__all__ = ["LEAD_UPDATES", "LeadRecord", "LeadUpdateRecord"]


class LeadUpdateRecord(Base):
    """One status update of a lead by sales: from, to, a note, who and when."""

    __tablename__ = "lead_updates"
    __table_args__ = (Index("ix_lead_updates_lead", "lead_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
