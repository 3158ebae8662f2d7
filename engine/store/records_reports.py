"""What people add to what the processes wrote: sales' status updates of the leads handed to
them (跟进中 / 已转化 / 无效, with who and when), and the award nominations made from the
appraisal numbers (月度创意之星, 季度项目标杆奖).

They share `engine.store.tables.Base`; migrations `0008_lead_updates` and
`0010_award_nominations` create them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.records_business import LeadRecord
from engine.store.tables import Base, BigId

# The statuses sales may set (a lead starts as `handed_over`: 已移交, waiting for sales).
LEAD_UPDATES = ("following_up", "converted", "closed")
# 月度创意之星 (a person, for a month), 季度项目标杆奖 (a project, for a quarter)
AWARDS = {"creative_star": "month", "project_benchmark": "quarter"}

__all__ = [
    "AWARDS", "LEAD_UPDATES", "AwardNominationRecord", "LeadRecord", "LeadUpdateRecord",
]


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


class AwardNominationRecord(Base):
    """A nomination for an award of one period: a person (创意之星, `nominee`) or a project
    (项目标杆奖, `instance_id`), with the numbers it was made from (`figures`)."""

    __tablename__ = "award_nominations"
    __table_args__ = (
        # one nomination per award, period and person / project
        UniqueConstraint("award", "period", "subject", name="uq_award_nominations_subject"),
        Index("ix_award_nominations_period", "period", "award"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))  # 2026-03 (a month) | 2026-Q1 (a quarter)
    subject: Mapped[str] = mapped_column(String(96))  # user:<username> | instance:<id>
    nominee: Mapped[str | None] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="SET NULL")
    )
    subject_name: Mapped[str] = mapped_column(String(256))  # as it read when nominated
    reason: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nominated_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
