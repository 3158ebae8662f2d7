"""案例库 (`/api/v1/cases`): what is asked and what is answered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from engine.read.cases import CATEGORIES, OUTCOMES
from web.api.schemas.requests import PageNumber, PerPage
from web.api.schemas.responses import Page

Json = dict[str, Any]
SearchText = Annotated[str, Field(max_length=100, description="words, all must match")]


class CaseQuery(BaseModel):
    q: SearchText = ""
    category: Literal[CATEGORIES] | None = Field(
        None, description="promotion, event, brand, channel, other"
    )
    outcome: Literal[OUTCOMES] | None = Field(
        None, description="met (≥100 %), partly (≥80 %), missed, unrated"
    )
    tag: Annotated[str, Field(max_length=100)] = ""
    page: PageNumber = 1
    per_page: PerPage = 20


class CaseSummary(BaseModel):
    """An entry of the 案例库 (`engine.read.cases`)."""

    id: int
    title: str
    category: str
    category_label: str
    project_name: str
    completion_rate: float | None = Field(description="目标完成率, percent")
    outcome: Literal[OUTCOMES]
    targets_met: int | None = None
    targets_total: int | None = None
    tags: list[str]
    summary: str
    process: str = Field(description="the process model the case came from")
    instance_id: int | None
    owner: str | None = Field(description="username of the project's A角")
    owner_name: str | None
    created_at: str


class CasePage(Page[CaseSummary]):
    facets: dict[str, list[Json]] = Field(
        description="categories, outcomes, tags: what each filter would find, with counts"
    )


class LabelledValue(BaseModel):
    key: str
    label: str
    value: Any = Field(description="text, true/false, or {columns, rows} for a table")


class CaseReport(BaseModel):
    id: int
    title: str
    markdown: str


class CaseTemplate(BaseModel):
    """POST it to /process-instances as it is (with the new project's name and people) to
    start a new project from this case."""

    process: str
    data: Json


class Case(CaseSummary):
    overview: list[LabelledValue] = Field(description="requirement and 立项书")
    plan: list[LabelledValue] = Field(description="the execution plan's strategy")
    results: list[LabelledValue] = Field(description="metrics vs targets, highlights, lessons")
    report: CaseReport | None = Field(description="《项目复盘报告》")
    template: CaseTemplate | None = Field(description="the prefilled start form")
