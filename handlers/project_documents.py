"""项目策划全流程's documents as people read them: `generate_project_document` renders the
project's documents (《项目立项书》, 《项目执行方案》, 《项目进度周报》, 《项目复盘报告》) with
`handlers.documents.generate_document`, from a copy of the task data in which every person is
named as the department knows them (the user's name, not the username), and — for the approved
《项目立项书》 — who confirmed the 立项 and when.

Who confirmed and when is read from the task projection (the last round's 经理确认立项 and
需求部门确认立项 steps); the confirmation that approves the charter is completed in the same
action that generates it, before its row is saved: that one is the action's actor, now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.store.tables import DocumentRecord, HumanTaskRow, UserRecord
from engine.wall_clock import shown
from handlers.common import dict_rows, label, text
from handlers.documents import document_file_name, generate_document

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from handlers.registry import HandlerContext, HandlerRegistry

# The confirmations of the 立项 gate: step, who confirms (as the charter names them), decision.
CONFIRMATIONS = (
    ("Task_manager_confirm", "策划部经理", "manager_charter"),
    ("Task_requester_confirm", "需求部门", "requester_charter"),
)
# Variables holding a username, and lists of rows with a column holding one.
PERSON_KEYS = ("a_owner", "b_owner", "risk_raised_by", "started_by")
PERSON_COLUMNS = {
    "division_of_labour": "owner",
    "milestones": "owner",
    "extra_budget_requests": "requested_by",
}


def register(registry: HandlerRegistry) -> None:
    registry.handler("generate_project_document")(generate_project_document)


def generate_project_document(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """`generate_document` for a project document, people by name. `confirmed` (with
    `doc_type` project_charter): the approved charter — status 已确认, who confirmed and when,
    titled 《项目立项书》— <project>（已确认）."""
    data = with_names(ctx.session, ctx.data)
    confirmed = bool(params.get("confirmed")) and params.get("doc_type") == "project_charter"
    if confirmed:
        data["charter_confirmed"] = True
        data["charter_confirmations"] = confirmations(
            ctx.session, ctx.instance_id, ctx.data, ctx.actor, ctx.clock.now(), ctx.zone
        )
    reference = generate_document({"doc_type": params.get("doc_type")}, replace(ctx, data=data))
    if confirmed:
        _retitle(ctx, reference, data)
    return reference


def with_names(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `data` where every username in a person field is the user's name. Text that
    is not a username (a free-text 负责人 such as 外部供应商) stays as written."""
    out = dict(data)
    wanted = {text(data.get(k), 64) for k in PERSON_KEYS}
    for key, column in PERSON_COLUMNS.items():
        wanted |= {text(row.get(column), 64) for row in dict_rows(data.get(key))}
    names = display_names(session, wanted)
    for key in PERSON_KEYS:
        value = text(data.get(key), 64)
        if value in names:
            out[key] = names[value]
    for key, column in PERSON_COLUMNS.items():
        rows = dict_rows(data.get(key))
        if rows:
            out[key] = [
                {**row, column: names.get(text(row.get(column), 64), row.get(column))}
                for row in rows
            ]
    return out


def display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    found = session.execute(
        select(UserRecord.username, UserRecord.display_name).where(
            UserRecord.username.in_(wanted)
        )
    )
    return {username: display or username for username, display in found}


def confirmations(
    session: Session,
    instance_id: int,
    data: Mapping[str, Any],
    actor: str | None,
    now: datetime,
    zone: tzinfo,
) -> list[dict[str, str]]:
    """The last round's confirmation of each side: [{party, name, at, decision, comment}]. A
    confirmation completed in this very action (the one that approves the charter) has no
    saved row yet: it is the actor's, now."""
    rows = session.scalars(
        select(HumanTaskRow)
        .where(
            HumanTaskRow.instance_id == instance_id,
            HumanTaskRow.element_id.in_([step for step, _, _ in CONFIRMATIONS]),
        )
        .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
    ).all()
    latest = {row.element_id: row for row in rows}  # the last round's step of each side
    done: dict[str, tuple[str, datetime]] = {}
    for step, row in latest.items():
        if row.status == "completed" and row.completed_by and row.completed_at:
            done[step] = (row.completed_by, row.completed_at)
        elif actor:
            done[step] = (actor, now)
    names = display_names(session, (who for who, _ in done.values()))
    out = []
    for step, party, prefix in CONFIRMATIONS:
        if step not in done:
            continue
        who, at = done[step]
        if step == "Task_requester_confirm" and text(data.get("requesting_department")):
            party = f"{party}（{text(data.get('requesting_department'), 50)}）"
        out.append(
            {
                "party": party,
                "name": names.get(who, who),
                "at": shown(at, zone),
                "decision": label("decision", data.get(f"{prefix}_decision")),
                "comment": text(data.get(f"{prefix}_comment"), 500),
            }
        )
    return out


def _retitle(ctx: HandlerContext, reference: dict[str, Any], data: Mapping[str, Any]) -> None:
    """The approved charter is titled as approved, not as one more revision."""
    subject = text(data.get("project_name"), 150)
    title = "《项目立项书》" + (f"— {subject}" if subject else "") + "（已确认）"
    record = ctx.session.get(DocumentRecord, reference["document_id"])
    if record is None:
        return
    record.title = title[:256]
    reference["title"] = record.title
    reference["file_name"] = document_file_name(record.title, "md")
    for note in ctx.notes:
        if note.get("document_id") == record.id:
            note["note"] = f"已生成{record.title}"
