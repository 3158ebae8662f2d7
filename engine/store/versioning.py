"""Optimistic locking of an instance row: every change bumps its version, and a flush that finds
the version moved on (another transaction committed first) becomes a Conflict (HTTP 409)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict

if TYPE_CHECKING:
    from engine.store.tables import InstanceRecord


def flush_checked(session: Session, record: InstanceRecord) -> None:
    """`session.flush()`; a concurrent update of `record` raises Conflict."""
    instance_id = record.id  # read before a failed flush expires the object
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "该流程实例已被其他操作更新，请刷新后重试 (the instance was changed concurrently)",
            {"instance_id": instance_id},
        ) from exc


def touch(session: Session, record: InstanceRecord, now: datetime) -> None:
    """Bump the instance's version without changing its state, so that a concurrent operation
    on the same instance cannot also commit."""
    record.updated_at = now
    flag_modified(record, "updated_at")  # bump the version even if the time did not move
    flush_checked(session, record)
