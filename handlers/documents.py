"""The department's documents (manual §6), generated from instance data with the Markdown
templates in `bpmn/templates/<doc_type>.md.j2` (《策划部作业手册》 standard templates as data).

`generate_document` renders, stores a `DocumentRecord` in the caller's session (flushed for the
id, never committed) and returns a small reference the diagram keeps in its result variable.
`markdown_to_docx` turns any stored document into a Word file for download.

Templates run in Jinja2's sandbox with autoescape off (the output is Markdown, shown as text);
how values print there (missing ones as "—", table cells, money, dates) is
`handlers/document_filters.py`. This module is the handler and what each document says.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from engine.store.tables import DocumentRecord
from engine.wall_clock import DEFAULT_ZONE, local, shown
from handlers.brand_documents import brand_effect_report, brand_health_report
from handlers.common import DASH, dict_rows, label, text
from handlers.document_filters import parse_when, template_environment
from handlers.docx_render import markdown_to_docx
from handlers.kpi import compute_completion_rate
from handlers.launch_documents import invitation_context

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry

__all__ = [
    "DOC_TYPES",
    "DocType",
    "document_file_name",
    "generate_document",
    "generate_instance_document",
    "markdown_to_docx",
    "render_document",
]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEMPLATE_DIR = PROJECT_ROOT / "bpmn" / "templates"


@dataclass(frozen=True)
class DocType:
    key: str
    name: str  # 项目立项书 (shown in 《》)
    subject_keys: tuple[str, ...]  # data keys naming what the document is about


DOC_TYPES: dict[str, DocType] = {
    d.key: d
    for d in (
        DocType("project_charter", "项目立项书", ("project_name",)),
        DocType("execution_plan", "项目执行方案", ("project_name",)),
        DocType("weekly_report", "项目进度周报", ("project_name",)),
        DocType("retrospective_report", "项目复盘报告", ("project_name",)),
        DocType("event_summary", "活动总结", ("event_name", "theme")),
        DocType("invitation", "邀请函", ("event_name", "theme")),
        DocType("brand_effect_report", "品牌推广效果报告", ("annual_theme", "brand_positioning")),
        DocType("brand_health_report", "品牌健康度报告", ("annual_theme", "brand_positioning")),
    )
}


def register(registry: HandlerRegistry) -> None:
    registry.handler("generate_document")(generate_document)
    registry.handler("generate_instance_document")(generate_instance_document)


# --- the handler ------------------------------------------------------------------------------


def generate_document(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """Renders the `doc_type` document from the task data, stores it and returns
    `{"document_id", "doc_type", "title", "file_name", "url", "api_url", "sequence"}`
    (`sequence`: 1 for the first document of this type in the instance, 2 for the next week's
    report or the revised charter, …)."""
    doc_type = text(params.get("doc_type"), 64)
    if doc_type not in DOC_TYPES:
        raise ValueError(f"未知的文档类型 (unknown document type) {doc_type!r}")
    previous = (
        ctx.session.scalar(
            select(func.count(DocumentRecord.id)).where(
                DocumentRecord.instance_id == ctx.instance_id,
                DocumentRecord.doc_type == doc_type,
            )
        )
        or 0
    )
    now = ctx.clock.now()
    title, content = render_document(
        doc_type, ctx.data, now=now, sequence=previous + 1, instance_id=ctx.instance_id,
        zone=ctx.zone,
    )
    record = DocumentRecord(
        instance_id=ctx.instance_id,
        doc_type=doc_type,
        title=title[:256],
        content_md=content,
        created_at=now,
    )
    ctx.session.add(record)
    ctx.session.flush()
    ctx.notes.append({"note": f"已生成{record.title}", "document_id": record.id})
    return {
        "document_id": record.id,
        "doc_type": doc_type,
        "title": record.title,
        "file_name": document_file_name(record.title, "md"),
        "url": f"/instances/{ctx.instance_id}/documents/{record.id}",
        "api_url": f"/api/v1/process-instances/{ctx.instance_id}/documents/{record.id}",
        "sequence": previous + 1,
    }


def generate_instance_document(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """`generate_document` from the instance's data across all its branches
    (`HandlerContext.instance_data`), not only the task's own branch: for a document that
    reports on parallel branches which have not joined it — the launch's 《活动总结》 is due
    after the event whatever preparation is still open, and shows the posters, the venue and
    the guests as far as they got."""
    return generate_document(params, replace(ctx, data=ctx.instance_data()))


def render_document(
    doc_type: str,
    data: Mapping[str, Any],
    *,
    now: datetime,
    sequence: int = 1,
    instance_id: int | None = None,
    template_dirs: list[Path] | None = None,
    zone: tzinfo = DEFAULT_ZONE,
) -> tuple[str, str]:
    """(title, Markdown) of a document; pure apart from reading the template file. Times are
    shown in ``zone`` (the deployment's: `HandlerContext.zone`); the builders get ``now`` as
    wall-clock time there, so ``now.tzinfo`` is the zone."""
    spec = DOC_TYPES[doc_type]
    values = dict(data)
    context: dict[str, Any] = {
        **values,
        "data": values,
        "doc_type": doc_type,
        "doc_name": f"《{spec.name}》",
        "sequence": sequence,
        "instance_id": instance_id,
        "generated_at": shown(now, zone),
        "report_date": shown(now, zone, "date"),
    }
    context.update(_BUILDERS[doc_type](values, local(now, zone), sequence))
    title = _title(spec, values, context)
    context["doc_title"] = title
    dirs = tuple(template_dirs or template_search_path())
    template = template_environment(dirs, zone).get_template(f"{doc_type}.md.j2")
    content = template.render(context).strip() + "\n"
    return title, content


def document_file_name(title: str, extension: str) -> str:
    """A file name from the title: 《项目立项书》— 新品预售 → 项目立项书-新品预售.md."""
    name = title.replace("《", "").replace("》", "").replace("—", "-")
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "", name)
    name = re.sub(r"\s*-\s*", "-", name)
    name = re.sub(r"\s+", "_", name).strip("._-") or "document"
    return f"{name[:120]}.{extension}"


def template_search_path() -> list[Path]:
    """`$PLANFLOW_BPMN_DIR/templates` first (a deployment's own templates), then the project's."""
    dirs = []
    configured = os.environ.get("PLANFLOW_BPMN_DIR")
    if configured:
        dirs.append(Path(configured) / "templates")
    dirs.append(DEFAULT_TEMPLATE_DIR)
    return [d for d in dict.fromkeys(dirs) if d.is_dir()] or [DEFAULT_TEMPLATE_DIR]


# --- titles and per-document context ---------------------------------------------------------


def _title(spec: DocType, data: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    subject = next((text(data.get(k), 150) for k in spec.subject_keys if text(data.get(k))), "")
    title = f"《{spec.name}》"
    if subject:
        title += f"— {subject}"
    suffix = context.get("title_suffix")
    if suffix:
        title += suffix if str(suffix).startswith("（") else f" {suffix}"
    return title


def _charter(data: dict[str, Any], now: datetime, sequence: int) -> dict[str, Any]:
    start, end = parse_when(data.get("cycle_start")), parse_when(data.get("cycle_end"))
    days = None
    if start is not None and end is not None:
        start_day = start.date() if isinstance(start, datetime) else start
        end_day = end.date() if isinstance(end, datetime) else end
        days = (end_day - start_day).days + 1
    returns = [
        (who, text(data.get(key)))
        for who, key in (
            ("策划部经理", "manager_charter_return_reason"),
            ("需求部门", "requester_charter_return_reason"),
        )
        if text(data.get(key))
    ]
    return {
        "revision": sequence,
        "cycle_days": days,
        "previous_returns": returns if sequence > 1 else [],
        "title_suffix": f"（第{sequence}版）" if sequence > 1 else "",
    }


def _execution_plan(data: dict[str, Any], now: datetime, sequence: int) -> dict[str, Any]:
    labour = [
        {
            "work_item": row.get("work_item"),
            "owner": row.get("owner"),
            "department": row.get("department"),
        }
        for row in dict_rows(data.get("division_of_labour"))
    ]
    reviews = [
        (who, data.get(f"{key}_decision"), data.get(comment))
        for who, key, comment in (
            ("内部评审（方案预审会）", "internal_review", "internal_review_comments"),
            ("需求部门", "requester_review", "requester_review_comment"),
            ("财务部", "finance_review", "finance_review_comment"),
            ("法务部", "legal_review", "legal_review_comment"),
            ("分级预算审批", "budget_approval", "budget_approval_comment"),
        )
    ]
    return {
        "labour": labour,
        "milestone_rows": _milestones(data, now.tzinfo or DEFAULT_ZONE),
        "reviews": reviews,
        "title_suffix": f"（第{sequence}版）" if sequence > 1 else "",
    }


def _milestones(data: Mapping[str, Any], zone: tzinfo) -> list[dict[str, Any]]:
    rows = [
        {
            "milestone": row.get("milestone"),
            "due_date": row.get("due_date"),
            "owner": row.get("owner"),
            "_due": _day(row.get("due_date"), zone),
        }
        for row in dict_rows(data.get("milestones"))
    ]
    rows.sort(key=lambda r: (r["_due"] is None, r["_due"] or date.min))
    return rows


def _day(value: Any, zone: tzinfo) -> date | None:
    when = parse_when(value)
    if when is None:
        return None
    if isinstance(when, datetime):
        return local(when, zone).date()
    return when


def _weekly(data: dict[str, Any], now: datetime, sequence: int) -> dict[str, Any]:
    today = now.date()
    period_start = today - timedelta(days=6)
    tracked = []
    for row in _milestones(data, now.tzinfo or DEFAULT_ZONE):
        due = row["_due"]
        if due is None:
            status = DASH
        elif due < period_start:
            status = "已过期限"
        elif due <= today:
            status = "本周到期"
        elif due <= today + timedelta(days=7):
            status = "下周到期"
        else:
            status = "未到期"
        tracked.append({**row, "status": status})
    return {
        "week_number": sequence,
        "period_start": period_start.isoformat(),
        "period_end": today.isoformat(),
        "tracked_milestones": tracked,
        "title_suffix": f"第{sequence}期（{today.isoformat()}）",
    }


def _retrospective(data: dict[str, Any], now: datetime, sequence: int) -> dict[str, Any]:
    result = data.get("completion_result")
    if not isinstance(result, dict) or "metrics" not in result:
        result = compute_completion_rate(data.get("metrics"))
    return {
        "completion": result,
        "metric_rows": dict_rows(result.get("metrics")),
        "case_category_label": label("case_category", data.get("case_category")),
    }


def _event_summary(data: dict[str, Any], now: datetime, sequence: int) -> dict[str, Any]:
    guests = _guest_rows(data)
    leads = dict_rows(data.get("leads"))
    assets = [
        ("T-30 悬念预热海报", "teaser_poster"),
        ("T-15 亮点揭秘视频", "highlight_video"),
        ("T-3 倒计时海报", "countdown_poster"),
    ]
    published = {"published": "已发布", "cancelled": "不再发布"}
    return {
        **guests,
        "lead_rows": leads,
        "lead_count": len(leads),
        "high_interest_count": sum(1 for lead in leads if lead.get("interest_level") == "high"),
        # (name, design link, design note, publication, published link)
        "asset_rows": [
            (
                name,
                data.get(f"{key}_design_asset_url"),
                data.get(f"{key}_design_note"),
                published.get(str(data.get(f"{key}_publish_status")), "未发布"),
                data.get(f"{key}_published_url"),
            )
            for name, key in assets
        ],
    }


def _guest_rows(data: dict[str, Any]) -> dict[str, Any]:
    """The invited guests with their answers. The summary does not wait for late preparation:
    while some confirmations are still open, the guest list shows who has not answered yet
    and the counts are of the answers so far."""
    invited = dict_rows(data.get("guests"))
    answered = dict_rows(data.get("guest_confirmations"))
    if len(answered) >= len(invited):
        return {"guest_rows": answered or invited, "guests_pending": False}

    def who(g: dict[str, Any]) -> tuple[Any, ...]:
        return (g.get("guest_name"), g.get("organization"), g.get("contact"))

    status = {who(g): g.get("rsvp_status") for g in answered}
    return {
        "guest_rows": [{**g, "rsvp_status": status.get(who(g))} for g in invited],
        "guests_pending": True,
        "answered_guest_count": len(answered),
        "invited_guest_count": len(invited),
        "confirmed_guest_count": sum(1 for g in answered if g.get("rsvp_status") == "confirmed"),
    }


_BUILDERS: dict[str, Callable[[dict[str, Any], datetime, int], dict[str, Any]]] = {
    "project_charter": _charter,
    "execution_plan": _execution_plan,
    "weekly_report": _weekly,
    "retrospective_report": _retrospective,
    "event_summary": _event_summary,
    "invitation": invitation_context,
    "brand_effect_report": brand_effect_report,
    "brand_health_report": brand_health_report,
}
