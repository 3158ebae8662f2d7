"""Read side of the 抄送我的 ("CC'd to me") page: one page of the actor's copies with the words a
person reads (instance title, process and step names, who copied), and the read-only context of
one copied instance (key data, step history, open steps, documents).

Like `engine.read.inbox`, it reads the projection, the audit log and the cached parsed model only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.read import copies
from engine.read.form_view import form_values
from engine.read.inbox import (
    PER_PAGE,
    Listing,
    paged,
)
from engine.read.names import process_names, user_names
from engine.read.step_history import HISTORY_SHOWN, step_history
from engine.store import instance_state as store
from engine.store.records_ops import InstanceCcRecord
from engine.store.tables import HumanTaskRow

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor


def cc_listing(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    *,
    unread_only: bool = False,
    q: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Listing:
    """抄送我的: the actor's copies, newest first (the unread ones highlighted by the page)."""
    query = copies.copies_select(actor, unread_only=unread_only, q=q)
    rows, total, page, per_page = paged(session, query, page, per_page)
    names = process_names(session)
    people = user_names(session, [row[0].cc_by for row in rows])
    items = [
        {
            "id": row[0].id,
            "instance_id": row[0].instance_id,
            "title": row.title,
            "process": row.model_key,
            "process_name": names.get(row.model_key, row.model_key),
            "instance_status": row.status,
            "step": row.step,
            "cc_by": row[0].cc_by,
            "cc_by_name": people.get(row[0].cc_by, row[0].cc_by),
            "note": row[0].note,
            "created_at": row[0].created_at,
            "read": row[0].read_at is not None,
        }
        for row in rows
    ]
    return Listing(items, total, page, per_page)


def cc_context(
    ctx: EngineContext, session: Session, actor: Actor, cc_id: int, all_steps: bool = False
) -> dict[str, Any]:
    """What the read-only page of one copy shows (NotFound for someone else's copy); opening
    it marks it read: `engine.operations.cc.cc_view`, which the page calls first. Its history
    holds the latest `HISTORY_SHOWN` steps, as the task page's, or (``all_steps``) all."""
    view = copies.cc_detail(ctx, session, actor, cc_id)
    detail = view["instance"]
    record = store.get_instance(session, detail["id"])
    model = store.parsed_model(ctx, session, record.version_id)
    item = session.get(InstanceCcRecord, cc_id)
    assert item is not None  # cc_detail found it
    open_tasks = [t for t in detail["tasks"] if t["status"] in ("open", "on_hold")]
    # the people the page names, read with its history's
    history, earlier, _, everybody = step_history(
        session, model, record.id, "", ctx.settings.zone,
        latest=None if all_steps else HISTORY_SHOWN,
        also=(item.cc_by, record.started_by, record.data, [t["assignee"] for t in open_tasks]),
    )
    for entry in history:
        entry["actor_name"] = everybody.get(entry["actor"] or "", entry["actor"])
    start_form = model.forms.get(model.start_form) if model.start_form else None
    step_name = None
    if item.task_id:
        row = session.get(HumanTaskRow, item.task_id)
        step_name = row.name if row is not None else item.element_id
    return {
        "cc": {
            **view["cc"],
            "step": step_name,
            "cc_by_name": everybody.get(item.cc_by, item.cc_by),
            "created_at": item.created_at,
        },
        "instance": {
            "id": record.id,
            "title": record.title,
            "process_name": process_names(session).get(record.model_key, model.name),
            "version": record.version_number,
            "status": "suspended"
            if record.suspended and record.status not in ("completed", "terminated")
            else record.status,
            "stage": record.stage,
            "started_by_name": everybody.get(record.started_by, record.started_by),
            "created_at": record.created_at,
            "completed_at": record.completed_at,
        },
        "key_data": form_values(start_form, record.data or {}, everybody, ctx.settings.zone),
        "history": history,
        "history_earlier": earlier,
        "history_shown": HISTORY_SHOWN,
        "open_tasks": [
            {
                "name": t["name"],
                "assignee_name": everybody.get(t["assignee"] or "", t["assignee"]),
                "candidate_groups": t["candidate_groups"],
            }
            for t in open_tasks
        ],
        "documents": detail["documents"],
    }
