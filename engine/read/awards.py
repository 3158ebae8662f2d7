"""The award nominations (月度创意之星, 季度项目标杆奖) for whoever may see the numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.read import kpis
from engine.read.names import user_names
from engine.store.records_reports import AWARDS, AwardNominationRecord
from engine.usecases.awards import require_awards

if TYPE_CHECKING:
    from datetime import datetime

    from engine.people.accounts import Actor

__all__ = ["AWARDS", "list_nominations", "nominee_figures"]


def list_nominations(session: Session, actor: Actor, period: str = "") -> list[dict[str, Any]]:
    """Newest first; of one period (``2026-03`` / ``2026-Q1``) or all."""
    require_awards(actor)
    query = select(AwardNominationRecord).order_by(AwardNominationRecord.id.desc())
    if period:
        query = query.where(AwardNominationRecord.period == period)
    records = session.scalars(query.limit(500)).all()
    names = user_names(session, [r.nominated_by for r in records])
    return [
        {
            "id": r.id, "award": r.award, "period": r.period, "nominee": r.nominee,
            "instance_id": r.instance_id, "subject_name": r.subject_name, "reason": r.reason,
            "figures": r.figures, "nominated_by": r.nominated_by,
            "nominated_by_name": names.get(r.nominated_by, r.nominated_by),
            "created_at": r.created_at.isoformat(),
        }
        for r in records
    ]


def nominee_figures(
    session: Session, actor: Actor, award: str, period_text: str, tz: ZoneInfo, now: datetime,
    *, nominee: str = "", instance_id: int | None = None,
) -> dict[str, Any]:
    """What `engine.usecases.awards.nominate` needs: the period (key, kind), the subject, its
    name and its row of the period's numbers (None when it has none)."""
    if not period_text:
        raise InvalidInput("请指定考核周期 (period required)", {"field": "period"})
    found = kpis.kpis(session, actor, period_text, tz, now, field="period")
    period = found["period"]
    if award == "project_benchmark":
        subject: tuple[str, str | int] = ("instance", instance_id or 0)
        row = next((p for p in found["projects"] if p["instance_id"] == instance_id), None)
        name = row["title"] if row else f"#{instance_id}"
    else:
        subject = ("user", nominee)
        row = next((p for p in found["people"] if p["username"] == nominee), None)
        name = row["name"] if row else nominee
    kind = kpis.parse_period(period_text, now.astimezone(tz).date(), "period").kind
    return {"period": period["key"], "period_kind": kind, "subject": subject,
            "subject_name": name, "figures": row}
