"""案例库 (case library): what the project retrospectives filed (`case_library`, written by the
handler `add_case_library_entry`), to browse, search and reuse as the template of a new project.

Everyone may read the library (`engine.access.may_open(actor, "cases")`). A case reads the
instance it came from for what a planner wants to reuse — the requirement, the 立项书's goal,
budget and strategy, the plan, the metrics against their targets, highlights, shortfalls and
lessons — and the retrospective report itself. Tags are what the process wrote that people
search by: the case's category, the requirement source, the requesting department, and the
words of a `case_tags` field when a model records one.

Outcome of a case (its 目标完成率): ``met`` ≥ 100 %, ``partly`` ≥ 80 %, ``missed`` below,
``unrated`` without a rate (no metric had a usable target)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import may_open
from engine.errors import Forbidden, NotFound
from engine.forms.people import person_groups
from engine.read import data_view, start_page
from engine.read.names import user_names
from engine.store.records_business import CASE_CATEGORIES, CaseLibraryRecord
from engine.store.tables import DocumentRecord, InstanceRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor

OUTCOMES = ("met", "partly", "missed", "unrated")
CATEGORIES = tuple(CASE_CATEGORIES)  # promotion, event, brand, channel, other
LIST_LIMIT = 1000  # the newest cases a search looks through
# What a case shows of its project, in this order (each under its form label).
OVERVIEW_KEYS = (
    "requirement_source", "requesting_department", "requirement_description", "initial_goal",
    "project_goal", "budget", "cycle_start", "cycle_end", "core_strategy",
)
PLAN_KEYS = ("plan_strategy", "plan_timeline", "plan_resources", "risk_plan")
RESULT_KEYS = ("metrics", "highlights", "shortfalls", "process_improvements")
TAG_KEYS = ("requirement_source", "requesting_department")
# Start-form fields a template does not carry over: the new project's own name and people.
NOT_CARRIED = frozenset({"title", "project_name"})


def outcome_of(rate: float | None) -> str:
    if rate is None:
        return "unrated"
    return "met" if rate >= 100 else "partly" if rate >= 80 else "missed"


@dataclass
class CaseQuery:
    q: str = ""
    category: str = ""
    outcome: str = ""
    tag: str = ""
    page: int = 1
    per_page: int = 20


@dataclass
class CasePage:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def require_cases(actor: Actor) -> None:
    if not may_open(actor, "cases"):
        raise Forbidden("无权查看案例库 (not allowed to read the case library)")


class _Readers:
    """One `data_view.DataReader` per model version, read once per request."""

    def __init__(self, ctx: EngineContext, session: Session, english: bool) -> None:
        self.ctx, self.session, self.english = ctx, session, english
        self.cache: dict[int, data_view.DataReader | None] = {}

    def get(self, version_id: int | None) -> data_view.DataReader | None:
        if version_id is None:
            return None
        if version_id not in self.cache:
            try:
                self.cache[version_id] = data_view.reader(
                    self.ctx, self.session, version_id, self.english
                )
            except Exception:  # a version that no longer parses: the case still lists
                self.cache[version_id] = None
        return self.cache[version_id]


def _text_tags(value: Any) -> list[str]:
    if isinstance(value, list):
        words = [str(v) for v in value if isinstance(v, str | int)]
    elif isinstance(value, str):
        words = re.split(r"[,，、;；\s]+", value)
    else:
        return []
    return [w.strip()[:40] for w in words if w.strip()]


def tags_of(
    record: CaseLibraryRecord, data: Mapping[str, Any], reader: data_view.DataReader | None
) -> list[str]:
    """The case's category, the requirement source and department, and `case_tags`."""
    tags = [CASE_CATEGORIES.get(record.category, record.category)]
    wanted = {k: data[k] for k in TAG_KEYS if data.get(k) not in (None, "")}
    if reader is not None:
        tags += [str(row["value"]) for row in reader.rows(wanted)[0]]
    else:
        tags += [str(v) for v in wanted.values()]
    tags += _text_tags(data.get("case_tags"))
    return list(dict.fromkeys(t for t in tags if t))


def _summary_item(
    record: CaseLibraryRecord, data: Mapping[str, Any], tags: list[str], owner: str | None
) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": record.title,
        "category": record.category,
        "category_label": CASE_CATEGORIES.get(record.category, record.category),
        "project_name": record.project_name,
        "completion_rate": record.completion_rate,
        "outcome": outcome_of(record.completion_rate),
        "targets_met": _result(data).get("met_count"),
        "targets_total": _result(data).get("total_count"),
        "tags": tags,
        "summary": record.summary,
        "process": record.process_key,
        "instance_id": record.instance_id,
        "owner": record.created_by,
        "owner_name": owner,
        "created_at": record.created_at,
    }


def _result(data: Mapping[str, Any]) -> Mapping[str, Any]:
    found = data.get("completion_result")
    return found if isinstance(found, Mapping) else {}


def _matches(item: dict[str, Any], data: Mapping[str, Any], words: list[str]) -> bool:
    hay = " ".join(
        [item["title"], item["project_name"], item["summary"], item["category_label"],
         *item["tags"], *(str(data.get(k) or "") for k in ("core_strategy", "plan_strategy"))]
    ).casefold()
    return all(w in hay for w in words)


def _rows(session: Session) -> list[Any]:
    query = (
        select(CaseLibraryRecord, InstanceRecord.data, InstanceRecord.version_id)
        .outerjoin(InstanceRecord, InstanceRecord.id == CaseLibraryRecord.instance_id)
        .order_by(CaseLibraryRecord.created_at.desc(), CaseLibraryRecord.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(session.execute(query).all())


def list_cases(
    ctx: EngineContext, session: Session, actor: Actor, query: CaseQuery, english: bool = False
) -> CasePage:
    """The cases matching every word of ``q`` (title, project, summary, tags, strategy), of
    the category, outcome and tag given; newest first. ``facets`` count what each filter
    would find among the other filters' results."""
    require_cases(actor)
    readers = _Readers(ctx, session, english)
    rows = _rows(session)
    owners = user_names(session, [r[0].created_by for r in rows])
    words = [w.casefold() for w in query.q.split() if w]
    found = []
    for record, data, version_id in rows:
        data = data if isinstance(data, Mapping) else {}
        tags = tags_of(record, data, readers.get(version_id))
        item = _summary_item(record, data, tags, owners.get(record.created_by or ""))
        if _matches(item, data, words):
            found.append(item)
    facets = _facets(found, query)
    chosen = [
        i for i in found
        if (not query.category or i["category"] == query.category)
        and (not query.outcome or i["outcome"] == query.outcome)
        and (not query.tag or query.tag in i["tags"])
    ]
    start = (query.page - 1) * query.per_page
    return CasePage(chosen[start:start + query.per_page], len(chosen), query.page,
                    query.per_page, facets)


def _facets(found: list[dict[str, Any]], query: CaseQuery) -> dict[str, list[dict[str, Any]]]:
    def count(key: str, values: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in found:
            keep = all(
                not wanted or (wanted in item["tags"] if k == "tag" else item[k] == wanted)
                for k, wanted in (("category", query.category), ("outcome", query.outcome),
                                  ("tag", query.tag))
                if k != key
            )
            if keep:
                for v in values if key != "tag" else item["tags"]:
                    if key == "tag" or item[key] == v:
                        out[v] = out.get(v, 0) + 1
        return out

    categories = count("category", list(CASE_CATEGORIES))
    outcomes = count("outcome", list(OUTCOMES))
    tags = count("tag", [])
    return {
        "categories": [{"key": k, "label": CASE_CATEGORIES[k], "count": categories.get(k, 0)}
                       for k in CASE_CATEGORIES],
        "outcomes": [{"key": k, "count": outcomes.get(k, 0)} for k in OUTCOMES],
        "tags": [{"key": t, "count": n}
                 for t, n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:30]],
    }


def get_case(
    ctx: EngineContext, session: Session, actor: Actor, case_id: int, english: bool = False
) -> dict[str, Any]:
    """One case: its summary, the project's requirement, charter and plan, the results (each
    under its form label), the retrospective report (Markdown) and the start-form template."""
    require_cases(actor)
    found = session.execute(
        select(CaseLibraryRecord, InstanceRecord.data, InstanceRecord.version_id)
        .outerjoin(InstanceRecord, InstanceRecord.id == CaseLibraryRecord.instance_id)
        .where(CaseLibraryRecord.id == case_id)
    ).first()
    if found is None:
        raise NotFound(f"案例 {case_id} 不存在 (case not found)", {"id": case_id})
    record, data, version_id = found
    data = data if isinstance(data, Mapping) else {}
    reader = _Readers(ctx, session, english).get(version_id)
    owners = user_names(session, [record.created_by])
    item = _summary_item(record, data, tags_of(record, data, reader),
                         owners.get(record.created_by or ""))
    document = session.get(DocumentRecord, record.document_id) if record.document_id else None

    def section(keys: tuple[str, ...]) -> list[dict[str, Any]]:
        wanted = {k: data[k] for k in keys if data.get(k) not in (None, "", [])}
        return reader.rows(wanted)[0] if reader is not None else []

    return {
        **item,
        "overview": section(OVERVIEW_KEYS),
        "plan": section(PLAN_KEYS),
        "results": section(RESULT_KEYS),
        "report": None if document is None else {
            "id": document.id, "title": document.title, "markdown": document.content_md,
        },
        "template": case_template(ctx, session, record.process_key, data),
    }


def case_template(
    ctx: EngineContext, session: Session, process: str, data: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The start form of the case's process, prefilled from the case's project: every start
    field the project had a value for, except its name and its people (A角, B角) — a new
    project has its own. None when the process has no start form any more."""
    if not process:
        return None
    try:
        form = start_page.start_form_for(ctx, session, process)
    except Exception:  # the model's live version no longer parses: no template
        return None
    if form is None:
        return None
    prefill = {
        f.path: data[f.path]
        for f in form.fields
        if f.path in data and f.path not in NOT_CARRIED and "." not in f.path
        and person_groups(f.component) is None and data[f.path] not in (None, "")
    }
    return {"process": process, "data": prefill}
