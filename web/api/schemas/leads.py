"""意向客户 (`/api/v1/leads`): what is asked and what is answered."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from engine.read.leads import LEAD_STATUSES, LEAD_UPDATES
from web.api.schemas.requests import PageNumber, PerPage, PositiveId
from web.api.schemas.responses import Page


class LeadQuery(BaseModel):
    status: Literal[LEAD_STATUSES] | None = Field(
        None, description="handed_over (待跟进), following_up, converted, closed (无效)"
    )
    # at most a BIGINT: a larger id cannot exist, and the database refuses to compare with it
    instance_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        None, description="one event's"
    )
    q: Annotated[str, Field(max_length=100)] = Field("", description="customer, contact, event")
    page: PageNumber = 1
    per_page: PerPage = 50


class LeadStatus(BaseModel):
    status: Literal[LEAD_UPDATES] = Field(description="跟进中 following_up, 已转化 converted, "
                                     "无效 closed")
    note: Annotated[str, Field(max_length=1000)] = ""


class LeadUpdate(BaseModel):
    from_status: str
    status: str
    note: str
    by: str = Field(description="username")
    by_name: str
    at: str


class Lead(BaseModel):
    id: PositiveId
    customer_name: str
    contact_person: str
    contact: str
    interest_level: Literal["high", "medium", "low"]
    note: str
    event_name: str
    instance_id: int | None = Field(description="the event's instance")
    status: Literal[LEAD_STATUSES]
    handed_over_at: str | None
    last_update: LeadUpdate | None


class EventResults(BaseModel):
    handed_over: int
    following_up: int
    converted: int
    closed: int
    total: int


class LeadDetail(Lead):
    history: list[LeadUpdate]
    event_results: EventResults | None


class LeadPage(Page[Lead]):
    summary: dict[str, int] = Field(description="the leads of the other filters, by status")
