"""意向客户 handed to sales: `GET /api/v1/leads`, `GET /api/v1/leads/{id}` and
`POST /api/v1/leads/{id}/status` (销售部 and managers: `engine.access.may_open(actor,
"leads")`). A status update is noted on the event's instance with the event's results."""

from __future__ import annotations

from typing import Any

from engine.read import leads
from engine.usecases.leads import update_lead
from web.api.endpoint import Call, endpoint
from web.api.schemas.leads import LeadDetail, LeadPage, LeadQuery, LeadStatus


@endpoint("GET", "/leads", summary="意向客户 handed to sales (newest hand-over first)",
          query=LeadQuery, ok=LeadPage, errors=(403,))
def list_leads(call: Call, query: LeadQuery) -> dict[str, Any]:
    wanted = leads.LeadQuery(status=query.status or "", instance_id=query.instance_id,
                             q=query.q, page=query.page, per_page=query.per_page)
    return leads.list_leads(call.session, call.actor, wanted)


@endpoint("GET", "/leads/<int:lead_id>", summary="One lead with its status history",
          ok=LeadDetail, errors=(403, 404))
def get_lead(call: Call, lead_id: int) -> dict[str, Any]:
    return leads.get_lead(call.session, call.actor, lead_id)


@endpoint("POST", "/leads/<int:lead_id>/status", summary="跟进中 / 已转化 / 无效: update a "
          "lead (noted on the event's instance)", body=LeadStatus, ok=LeadDetail,
          errors=(400, 403, 404, 409))
def set_lead_status(call: Call, lead_id: int, body: LeadStatus) -> dict[str, Any]:
    update_lead(call.ctx, call.session, call.actor, lead_id, body.status, body.note)
    return leads.get_lead(call.session, call.actor, lead_id)
