"""Unit tests of the department's handlers, each called alone with a `HandlerContext` on an
in-memory SQLite session (schema from the ORM metadata; no Flask, no workflow)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import engine.store.records_business  # noqa: F401  (tables on Base.metadata)
from engine.clock import FixedClock
from engine.store.tables import Base
from engine.wall_clock import DEFAULT_ZONE
from handlers.registry import HandlerContext

NOW = datetime(2026, 3, 9, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai


@contextmanager
def handler_session() -> Iterator[Session]:
    db = create_engine("sqlite://")
    Base.metadata.create_all(db)
    session = Session(db)
    try:
        yield session
    finally:
        session.close()
        db.dispose()


def make_ctx(
    session: Session,
    data: dict[str, Any] | None = None,
    *,
    instance_id: int = 7,
    process_key: str = "project_initiation",
    element_id: str = "Task_x",
    clock: FixedClock | None = None,
) -> HandlerContext:
    return HandlerContext(
        instance_id=instance_id,
        process_key=process_key,
        element_id=element_id,
        clock=clock or FixedClock(NOW),
        session=session,
        started_by="alice",
        data=data or {},
        zone=DEFAULT_ZONE,
    )
