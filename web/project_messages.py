"""The messages a running project accepts from its people — 风险上报 (`raise_risk`) and 追加预算申请
(`request_extra_budget`) — as the instance page's forms and `planflow message` send them: what
each form asks and who sent it. The payload is the one the API takes (bpmn/README.md §2,
Messages); the diagram reads the sender to pre-fill 上报人 and to assign the request form."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

# message → the payload key naming who sent it
SENDER_KEYS = {"raise_risk": "raised_by", "request_extra_budget": "requested_by"}
RISK_LEVELS = ("low", "medium", "high")
MAX_TEXT = 2000


def with_sender(name: str, payload: dict[str, Any], username: str) -> dict[str, Any]:
    """The payload with its sender: the acting user, unless the payload names someone."""
    key = SENDER_KEYS.get(name)
    if key is None or payload.get(key):
        return payload
    return {**payload, key: username}


def from_form(name: str, form: Mapping[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None) from the page's form for `name`, or (None, the catalog key of what is
    wrong)."""
    if name == "raise_risk":
        description = (form.get("risk_description") or "").strip()
        level = form.get("risk_level") or "medium"
        if not description or len(description) > MAX_TEXT:
            return None, "messages.invalid.risk_description"
        if level not in RISK_LEVELS:
            return None, "messages.invalid.risk_level"
        return {"risk_description": description, "risk_level": level}, None
    if name == "request_extra_budget":
        reason = (form.get("extra_budget_reason") or "").strip()
        try:
            amount = Decimal((form.get("extra_budget_amount") or "").strip())
        except InvalidOperation:
            amount = Decimal(0)
        if not amount.is_finite() or amount <= 0 or amount > Decimal("1e12"):
            return None, "messages.invalid.extra_budget_amount"
        if not reason or len(reason) > MAX_TEXT:
            return None, "messages.invalid.extra_budget_reason"
        number: int | float = int(amount) if amount == amount.to_integral() else float(amount)
        return {"extra_budget_amount": number, "extra_budget_reason": reason}, None
    return None, "messages.invalid.unknown"
