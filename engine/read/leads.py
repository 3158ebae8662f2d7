"""意向客户 handed to sales (`leads`, written by the launch's handler `handover_leads`), for
sales (销售部) and managers: the list with each lead's latest update, one lead with its
history, and the status counts (`summary`) the filters leave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.read.names import user_names
from engine.store.records_business import LEAD_STATUSES
from engine.store.records_reports import LEAD_UPDATES, LeadRecord, LeadUpdateRecord
from engine.usecases.leads import event_results, require_leads

if TYPE_CHECKING:
    from engine.people.accounts import Actor

__all__ = [
    "LEAD_STATUSES", "LEAD_UPDATES", "LeadQuery", "event_results", "get_lead", "lead_events",
    "list_leads",
]
INTEREST = {"high": 0, "medium": 1, "low": 2}


@dataclass
class LeadQuery:
    status: str = ""
    instance_id: int | None = None
    q: str = ""
    page: int = 1
    per_page: int = 50


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _update(row: LeadUpdateRecord, names: dict[str, str]) -> dict[str, Any]:
    return {"from_status": row.from_status, "status": row.to_status, "note": row.note,
            "by": row.updated_by, "by_name": names.get(row.updated_by, row.updated_by),
            "at": _iso(row.updated_at)}


def _item(lead: LeadRecord, last: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": lead.id, "customer_name": lead.customer_name,
        "contact_person": lead.contact_person, "contact": lead.contact,
        "interest_level": lead.interest_level, "note": lead.note,
        "event_name": lead.event_name, "instance_id": lead.instance_id,
        "status": lead.status, "handed_over_at": _iso(lead.handed_over_at or lead.created_at),
        "last_update": last,
    }


def list_leads(session: Session, actor: Actor, query: LeadQuery) -> dict[str, Any]:
    """Newest hand-over first; within one, high interest first. ``summary``: the leads of the
    other filters by status (so the status filter shows what each choice would list)."""
    require_leads(actor)
    where = []
    if query.instance_id is not None:
        where.append(LeadRecord.instance_id == query.instance_id)
    for word in query.q.split():
        like = f"%{word}%"
        where.append(or_(LeadRecord.customer_name.ilike(like),
                         LeadRecord.contact_person.ilike(like), LeadRecord.contact.ilike(like),
                         LeadRecord.event_name.ilike(like), LeadRecord.note.ilike(like)))
    counts = dict(session.execute(
        select(LeadRecord.status, func.count()).where(*where).group_by(LeadRecord.status)
    ).all())
    summary = {s: counts.get(s, 0) for s in LEAD_STATUSES}
    if query.status:
        where.append(LeadRecord.status == query.status)
    total = session.scalar(select(func.count()).select_from(LeadRecord).where(*where)) or 0
    leads = session.scalars(
        select(LeadRecord).where(*where)
        .order_by(LeadRecord.created_at.desc(),
                  case(INTEREST, value=LeadRecord.interest_level, else_=1), LeadRecord.id)
        .offset((query.page - 1) * query.per_page).limit(query.per_page)
    ).all()
    latest = _latest_updates(session, [r.id for r in leads])
    names = user_names(session, [u.updated_by for u in latest.values()])
    return {
        "items": [_item(r, _update(latest[r.id], names) if r.id in latest else None)
                  for r in leads],
        "total": total, "page": query.page, "per_page": query.per_page, "summary": summary,
    }


def _latest_updates(session: Session, lead_ids: list[int]) -> dict[int, LeadUpdateRecord]:
    if not lead_ids:
        return {}
    newest = (
        select(func.max(LeadUpdateRecord.id))
        .where(LeadUpdateRecord.lead_id.in_(lead_ids))
        .group_by(LeadUpdateRecord.lead_id)
    )
    rows = session.scalars(select(LeadUpdateRecord).where(LeadUpdateRecord.id.in_(newest)))
    return {row.lead_id: row for row in rows}


def get_lead(session: Session, actor: Actor, lead_id: int) -> dict[str, Any]:
    """One lead with every update (oldest first) and its event's results."""
    require_leads(actor)
    lead = session.get(LeadRecord, lead_id)
    if lead is None:
        raise NotFound(f"意向客户 {lead_id} 不存在 (lead not found)", {"id": lead_id})
    updates = session.scalars(
        select(LeadUpdateRecord).where(LeadUpdateRecord.lead_id == lead_id)
        .order_by(LeadUpdateRecord.id)
    ).all()
    names = user_names(session, [u.updated_by for u in updates])
    history = [_update(u, names) for u in updates]
    return {
        **_item(lead, history[-1] if history else None),
        "history": history,
        "event_results": event_results(session, lead.instance_id)
        if lead.instance_id is not None else None,
    }


def lead_events(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The events that handed leads over (newest first), for the event filter."""
    require_leads(actor)
    rows = session.execute(
        select(LeadRecord.instance_id, func.max(LeadRecord.event_name),
               func.max(LeadRecord.created_at).label("at"))
        .where(LeadRecord.instance_id.is_not(None))
        .group_by(LeadRecord.instance_id)
        .order_by(func.max(LeadRecord.created_at).desc())
    ).all()
    return [{"instance_id": iid, "event_name": name or f"#{iid}"} for iid, name, _ in rows]
