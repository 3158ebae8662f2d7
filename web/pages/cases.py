"""案例库 (everyone): browse and search the cases the project retrospectives filed, open one
(its project, results and 《项目复盘报告》), download the report, and start a new project from
a case: the process's start form prefilled from it (`engine.read.cases.case_template`), sent
to the ordinary start (`pages.start_submit`)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from werkzeug.wrappers import Response

from engine.access import instance_for
from engine.errors import InvalidInput, NotFound
from engine.read import cases, start_page
from engine.read.documents import DocumentFile
from web.api.documents import document_response, requested_format
from web.core import engine_ctx, unit_of_work
from web.errors import error_page
from web.i18n import current_language
from web.pages import bp
from web.pages.common import manage_page, the_actor
from web.pages.tasks import form_texts, shown_schema

PER_PAGE = 12


def _int(value: str | None, default: int = 1) -> int:
    try:
        return max(1, min(10_000, int(value or default)))
    except ValueError:
        return default


def _query() -> cases.CaseQuery:
    args = request.args
    category = args.get("category", "")
    outcome = args.get("outcome", "")
    return cases.CaseQuery(
        q=args.get("q", "").strip()[:100],
        category=category if category in cases.CATEGORIES else "",
        outcome=outcome if outcome in cases.OUTCOMES else "",
        tag=args.get("tag", "").strip()[:100],
        page=_int(args.get("page")),
        per_page=PER_PAGE,
    )


@bp.app_template_global("case_page_url")
def case_page_url(page: int) -> str:
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return url_for("pages.cases_list", page=page, **args)


@bp.get("/cases")
@manage_page()
def cases_list() -> str:
    query = _query()
    with unit_of_work() as session:
        found = cases.list_cases(engine_ctx(), session, the_actor(), query,
                                 english=current_language() == "en")
    pages = max(1, -(-found.total // PER_PAGE))
    return render_template(
        "pages/cases.html", found=found, query=query, pages=pages,
        filtered=bool(query.q or query.category or query.outcome or query.tag),
    )


@bp.get("/cases/<int:case_id>")
@manage_page()
def case_detail(case_id: int) -> str:
    actor = the_actor()
    with unit_of_work() as session:
        case = cases.get_case(engine_ctx(), session, actor, case_id,
                              english=current_language() == "en")
        linked = False  # the project itself: for whoever may see it (engine.access)
        if case["instance_id"] is not None:
            try:
                linked = bool(instance_for(session, actor, "view", case["instance_id"]))
            except NotFound:
                linked = False
    return render_template("pages/case_detail.html", case=case, instance_linked=linked)


@bp.get("/cases/<int:case_id>/report")
@manage_page()
def case_report(case_id: int) -> Any:
    try:
        fmt = requested_format()
    except InvalidInput as exc:
        return error_page(400, exc.message)
    with unit_of_work() as session:
        case = cases.get_case(engine_ctx(), session, the_actor(), case_id)
    report = case["report"]
    if report is None:
        return error_page(404)
    document = DocumentFile(report["id"], case["instance_id"] or 0, "retrospective_report",
                            report["title"], report["markdown"])
    return document_response(document, fmt)


@bp.get("/cases/<int:case_id>/start")
@manage_page()
def case_start(case_id: int) -> str | tuple[str, int] | Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        case = cases.get_case(ctx, session, the_actor(), case_id)
        template = case["template"]
        if template is None:
            return error_page(404)
        view = start_page.start_view(ctx, session, template["process"])
        schema = shown_schema(view["form"], session)
    config = {
        "schema": schema,
        "data": template["data"],
        "readonly": False,
        "submitUrl": url_for("pages.start_submit", key=template["process"]),
        **form_texts(),
    }
    labels = _labels(view["form"])
    carried = "、".join(labels.get(k, k) for k in template["data"])
    return render_template("pages/case_start.html", case=case, m=view, form_config=config,
                           carried=carried)


def _labels(node: Any) -> dict[str, str]:
    """key -> label of every field of a form-js schema."""
    out: dict[str, str] = {}
    if isinstance(node, dict):
        if node.get("key") and node.get("label"):
            out[str(node["key"])] = str(node["label"])
        for child in node.get("components") or []:
            out.update(_labels(child))
    return out
