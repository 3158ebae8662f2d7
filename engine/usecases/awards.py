"""Award nominations (manual §5: 月度创意之星, 季度项目标杆奖), made from the appraisal numbers:
创意之星 names a person for a month, 项目标杆奖 a project for a quarter. The caller passes the
numbers the nomination was made from (`engine.read.kpis.nominee_figures`); a person or project
without numbers in that period cannot be nominated. One nomination per award, period and
person or project (409 for a second). Who may: whoever may see the numbers
(`engine.access.may_open(actor, "kpis")`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import may_open
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store.records_reports import AWARDS, AwardNominationRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor

REASON_LIMIT = 2000
AWARD_ZH = {"creative_star": "月度创意之星", "project_benchmark": "季度项目标杆奖"}


def require_awards(actor: Actor) -> None:
    if not may_open(actor, "kpis"):
        raise Forbidden("只有管理人员和流程管理员可以提名 (managers and process owners only)")


def nominate(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    *,
    award: str,
    period: str,
    period_kind: str,
    subject: tuple[str, str | int],
    subject_name: str,
    figures: Mapping[str, Any] | None,
    reason: str,
) -> AwardNominationRecord:
    """``subject``: ("user", username) or ("instance", id); ``figures``: its row of the
    period's numbers (None: it has none)."""
    require_awards(actor)
    if award not in AWARDS:
        raise InvalidInput(f"未知奖项 {award!r} (unknown award)", {"field": "award"})
    if period_kind != AWARDS[award]:
        kind = "月份（如 2026-03）" if AWARDS[award] == "month" else "季度（如 2026-Q1）"
        raise InvalidInput(f"{AWARD_ZH[award]}按{kind}评选 (the award is per {AWARDS[award]})",
                           {"field": "period"})
    wanted = "user" if award == "creative_star" else "instance"
    if subject[0] != wanted:
        field = "nominee" if wanted == "user" else "instance_id"
        raise InvalidInput(f"{AWARD_ZH[award]}需要指定{'人员' if wanted == 'user' else '项目'} "
                           f"(needs a {field})", {"field": field})
    if figures is None:
        field = "nominee" if wanted == "user" else "instance_id"
        raise InvalidInput("该周期内没有其考核数据，不能提名 (no numbers in this period)",
                           {"field": field})
    reason = reason.strip()
    if not reason or len(reason) > REASON_LIMIT:
        raise InvalidInput(f"请填写提名理由（不超过 {REASON_LIMIT} 字） (reason required)",
                           {"field": "reason"})
    key = f"{subject[0]}:{subject[1]}"
    taken = session.scalar(select(AwardNominationRecord.id).where(
        AwardNominationRecord.award == award, AwardNominationRecord.period == period,
        AwardNominationRecord.subject == key))
    if taken is not None:
        raise Conflict(f"{subject_name} 已被提名{AWARD_ZH[award]}（{period}） (already nominated)",
                       {"nomination_id": taken})
    record = AwardNominationRecord(
        award=award, period=period, subject=key,
        nominee=str(subject[1]) if wanted == "user" else None,
        instance_id=int(subject[1]) if wanted == "instance" else None,
        subject_name=subject_name[:256], reason=reason, figures=dict(figures),
        nominated_by=actor.username, created_at=ctx.clock.now(),
    )
    session.add(record)
    session.flush()
    return record
