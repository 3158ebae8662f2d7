"""意向客户 after an event: sales (销售部) and managers set a lead's status — 跟进中
(following_up), 已转化 (converted), 无效 (closed) — with a note. Each update is kept
(`lead_updates`), and the event's instance gets a system note with the update and the event's
results so far (how many of its leads converted …), on its page and in its API audit log.

Who may: `engine.access.may_open(actor, "leads")`; others get 403."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access import may_open
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store.audit_log import audit
from engine.store.records_business import LEAD_STATUSES
from engine.store.records_reports import LEAD_UPDATES, LeadRecord, LeadUpdateRecord
from engine.store.tables import InstanceRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor

STATUS_ZH = {"handed_over": "待跟进", "following_up": "跟进中", "converted": "已转化",
             "closed": "无效"}
NOTE_LIMIT = 1000


def require_leads(actor: Actor) -> None:
    if not may_open(actor, "leads"):
        raise Forbidden("只有销售部和管理人员可以查看意向客户 (sales and managers only)")


def event_results(session: Session, instance_id: int) -> dict[str, int]:
    """The event's leads by status (every status, 0 included) and `total`."""
    rows = session.execute(
        select(LeadRecord.status, func.count())
        .where(LeadRecord.instance_id == instance_id)
        .group_by(LeadRecord.status)
    ).all()
    counts = {status: 0 for status in LEAD_STATUSES}
    for status, n in rows:
        counts[status] = counts.get(status, 0) + n
    counts["total"] = sum(n for _, n in rows)
    return counts


def results_text(counts: dict[str, int]) -> str:
    parts = "，".join(f"{STATUS_ZH[s]} {counts[s]}" for s in
                     ("converted", "following_up", "closed", "handed_over") if counts.get(s))
    rate = round(counts["converted"] / counts["total"] * 100, 1) if counts["total"] else 0
    return f"本场活动意向客户 {counts['total']} 条：{parts}（转化率 {rate:g}%）"


def update_lead(
    ctx: EngineContext, session: Session, actor: Actor, lead_id: int, status: str, note: str = ""
) -> LeadRecord:
    """Sets the status (a note alone is fine when the status stays: a follow-up's progress) and
    notes it on the event's instance. 403 for who may not, 404 for no such lead, 400 for a
    status sales cannot set, 409 for the same status without a note."""
    require_leads(actor)
    lead = session.get(LeadRecord, lead_id, with_for_update=True)
    if lead is None:
        raise NotFound(f"意向客户 {lead_id} 不存在 (lead not found)", {"id": lead_id})
    if status not in LEAD_UPDATES:
        raise InvalidInput(f"无效的跟进状态 {status!r} (status must be one of {LEAD_UPDATES})",
                           {"field": "status"})
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        raise InvalidInput(f"备注不能超过 {NOTE_LIMIT} 字 (note too long)", {"field": "note"})
    if status == lead.status and not note:
        raise Conflict(f"该客户已是「{STATUS_ZH[status]}」 (the lead already has this status)",
                       {"id": lead_id, "status": status})
    now = ctx.clock.now()
    before = lead.status
    lead.status = status
    session.add(LeadUpdateRecord(lead_id=lead.id, from_status=before, to_status=status,
                                 note=note, updated_by=actor.username, updated_at=now))
    session.flush()
    if lead.instance_id is not None and session.get(InstanceRecord, lead.instance_id):
        counts = event_results(session, lead.instance_id)
        change = STATUS_ZH.get(before, before) + " → " + STATUS_ZH[status]
        said = f"意向客户「{lead.customer_name}」：{change}" + (f"（{note}）" if note else "")
        audit(session, now, "handler_note", instance_id=lead.instance_id, actor=actor.username,
              details={"note": f"{said}。{results_text(counts)}", "kind": "lead_status",
                       "lead_id": lead.id, "status": status, "lead_results": counts})
    return lead
