"""The instance audit log: one entry per thing that happened, in the caller's transaction
(a save holds its entries back and writes them in one INSERT: engine.store.held_audits)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session, aliased

from engine import jsoncodec
from engine.store.tables import AuditRecord


def among_latest(which: Callable[[Any], Any], nth: Any) -> Any:
    """SQL: the `AuditRecord` row is one of the latest entries ``which`` selects — from the
    ``nth``-newest (0 for the newest; a bind or a constant) on, all of them when there are
    fewer — found through the (instance_id, id) index. ``which(entry)``: the condition on an
    entry, here asked of an alias of its own."""
    entry = aliased(AuditRecord)
    nth_newest = (
        select(entry.id).where(which(entry)).order_by(entry.id.desc())
        .limit(literal_column("1")).offset(nth).scalar_subquery()
    )
    return AuditRecord.id >= func.coalesce(nth_newest, literal_column("0"))


# Every action the audit log records, named once so every channel can label each one (the
# pages' labels are checked against this list); `audit` refuses any other.
ACTIONS = frozenset({
    # an instance's life
    "started", "completed", "terminated", "suspended", "resumed", "retried", "retry_scheduled",
    "error", "data_updated", "message_received", "timer_fired", "timer_rescheduled",
    "service_called", "service_failed", "handler_note", "expression_failed",
    # its tasks
    "task_created", "task_claimed", "task_unclaimed", "task_completed", "task_submitted",
    "task_transferred", "task_delegated", "task_delegate_resolved", "task_delegation_recalled",
    "task_returned", "task_withdrawn", "instance_withdrawn", "task_handover", "task_handback",
    "signer_added", "signer_removed", "signer_signed",
    "vote_opened", "vote_cast", "vote_decided", "vote_without_voters", "reminder", "cc",
    # administration
    "deployed", "user_created", "user_deactivated", "user_reactivated", "password_reset",
    "group_created", "groups_changed", "absence_set", "absence_ended", "calendar_changed",
    "calendar_year_set", "admin_override",
})


def audit(session: Session, at: datetime, action: str, **entry: Any) -> None:
    """An entry (`audit_row`'s arguments) added to the session as a record."""
    row = audit_row(at, action, **entry)
    session.add(AuditRecord(**row))


def audit_row(
    at: datetime,
    action: str,
    *,
    instance_id: int | None = None,
    actor: str | None = None,
    task_id: str | None = None,
    element_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit entry's column values (`audit` adds them as a record; a save hands them to its
    `HeldAudits` without one)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to ACTIONS (and its labels)")
    return {
        "instance_id": instance_id,
        "at": at,
        "actor": actor,
        "action": action,
        "task_id": task_id,
        "element_id": element_id,
        "details": jsonable(dict(details or {})),
    }


def jsonable(value: Any) -> Any:
    """Data as JSON will store it (dates become strings, as `str` writes them)."""
    return jsoncodec.loads(jsoncodec.dumps_bytes(value, default=str))
