"""案例入库: a finished project becomes an entry of the case library (manual §2.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.store.records_business import CASE_CATEGORIES, CaseLibraryRecord
from engine.store.tables import DocumentRecord
from handlers.common import text, to_number

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    registry.handler("add_case_library_entry")(add_case_library_entry)


def add_case_library_entry(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """Writes a `CaseLibraryRecord` (flushed, not committed) and returns
    `{"case_id", "title", "category", "category_label", "completion_rate", "document_id"}`.

    Parameters: `title`, `category` (promotion/event/brand/channel/other; anything else is
    filed as other), `project_name`, `completion_rate` (percent or None), `document` (the
    `generate_document` result of the retrospective report). The summary is taken from the
    retrospective's highlights and process improvements in the instance data."""
    project_name = text(params.get("project_name") or ctx.data.get("project_name"), 256)
    title = text(params.get("title"), 256) or project_name or "未命名案例"
    category = text(params.get("category"), 32)
    if category not in CASE_CATEGORIES:
        category = "other"
    rate = to_number(params.get("completion_rate"))
    document_id = _document_id(params.get("document"), ctx)
    record = CaseLibraryRecord(
        title=title,
        category=category,
        project_name=project_name,
        completion_rate=round(rate, 1) if rate is not None else None,
        summary=_summary(ctx.data),
        document_id=document_id,
        instance_id=ctx.instance_id,
        process_key=ctx.process_key,
        created_by=text(ctx.data.get("a_owner"), 64) or ctx.started_by,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(record)
    ctx.session.flush()
    ctx.notes.append(
        {"note": f"已入案例库：{title}（{CASE_CATEGORIES[category]}）", "case_id": record.id}
    )
    return {
        "case_id": record.id,
        "title": title,
        "category": category,
        "category_label": CASE_CATEGORIES[category],
        "completion_rate": record.completion_rate,
        "document_id": document_id,
    }


def _document_id(document: Any, ctx: HandlerContext) -> int | None:
    """The id of a document of this instance, else None (a stale or foreign id is not linked)."""
    if not isinstance(document, dict):
        return None
    raw = document.get("document_id")
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    try:
        doc_id = int(raw)
    except ValueError:
        return None
    record = ctx.session.get(DocumentRecord, doc_id)
    if record is None or record.instance_id != ctx.instance_id:
        return None
    return doc_id


def _summary(data: Any) -> str:
    parts = []
    for key, heading in (
        ("highlights", "亮点"),
        ("shortfalls", "不足"),
        ("process_improvements", "流程改进"),
    ):
        value = text(data.get(key), 2000)
        if value:
            parts.append(f"{heading}：{value}")
    return "\n".join(parts)
