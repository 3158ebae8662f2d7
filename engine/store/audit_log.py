"""The instance audit log: one entry per thing that happened, in the caller's transaction
(a save holds its entries back and writes them in one INSERT: engine.store.held_audits)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.store.tables import AuditRecord


def audit(
    session: Session,
    at: datetime,
    action: str,
    *,
    instance_id: int | None = None,
    actor: str | None = None,
    task_id: str | None = None,
    element_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    session.add(
        AuditRecord(
            instance_id=instance_id,
            at=at,
            actor=actor,
            action=action,
            task_id=task_id,
            element_id=element_id,
            details=jsonable(dict(details or {})),
        )
    )


def jsonable(value: Any) -> Any:
    """Data as JSON will store it (dates become ISO strings)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
