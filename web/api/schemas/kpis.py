"""考核数据 (`/api/v1/kpis/...`) and award nominations (`/api/v1/awards/nominations`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from web.api.schemas.requests import PositiveId

PeriodText = Annotated[str, Field(
    max_length=7, pattern=r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$",
    description="2026-03 (a month), 2026-Q1 (a quarter) or 2026 (a year); default: this month",
)]


class KpiQuery(BaseModel):
    period: PeriodText = ""


class NominationQuery(BaseModel):
    period: PeriodText = Field("", description="one period's (default: all)")


class Period(BaseModel):
    key: str
    kind: Literal["month", "quarter", "year"]
    first_day: str
    last_day: str


class PersonKpi(BaseModel):
    username: str
    name: str
    department: str
    projects_led: int = Field(description="projects owned as A角 that finished in the period")
    completion_rate: float | None = Field(description="目标完成率 of those projects, percent")
    targets_met: int
    targets_total: int
    tasks_due: int = Field(description="tasks due in the period, done or overdue")
    tasks_on_time: int
    on_time_rate: float | None = Field(description="按时完成率, percent")
    ideas_adopted: int = Field(description="创意贡献度: ideas of theirs adopted")
    collaboration_rating: float | None = Field(description="协作满意度 of their department, 1–5")
    ratings: int


class DepartmentRating(BaseModel):
    department: str
    name: str
    rating: float


class ProjectKpi(BaseModel):
    instance_id: int
    title: str
    process: str
    process_name: str
    status: str
    owner: str
    owner_name: str
    completed_at: str | None
    completion_rate: float | None
    targets_met: int | None
    targets_total: int | None
    tasks_due: int
    tasks_on_time: int
    on_time_rate: float | None
    ideas_adopted: int
    collaboration_rating: float | None
    collaboration: list[DepartmentRating]


class Recorded(BaseModel):
    """Whether any model recorded these in the period (the internal review's adopted ideas,
    the retrospective's department ratings)."""

    ideas: bool
    ratings: bool


class PeopleKpis(BaseModel):
    period: Period
    people: list[PersonKpi]
    recorded: Recorded


class ProjectKpis(BaseModel):
    period: Period
    projects: list[ProjectKpi]
    recorded: Recorded


class Nominate(BaseModel):
    award: Literal["creative_star", "project_benchmark"] = Field(
        description="月度创意之星 (a person, a month) or 季度项目标杆奖 (a project, a quarter)"
    )
    period: Annotated[str, Field(min_length=4, max_length=7)]
    nominee: Annotated[str, Field(max_length=64)] = Field("", description="创意之星: username")
    instance_id: PositiveId | None = Field(None, description="项目标杆奖: the project")
    reason: Annotated[str, Field(max_length=2000)]


class Nomination(BaseModel):
    id: int
    award: str
    period: str
    nominee: str | None
    instance_id: int | None
    subject_name: str
    reason: str
    figures: dict[str, Any] = Field(description="the numbers it was made from")
    nominated_by: str
    nominated_by_name: str
    created_at: str
