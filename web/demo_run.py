"""How `planflow demo` plays an instance (web/demo_scenarios.py): the use cases as a person would
call them, one transaction each, with a clock that can be set back in time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import FixedClock
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow
from engine.usecases import control, instances

if TYPE_CHECKING:
    from engine.context import EngineContext

__all__ = ["DemoRun"]


class DemoRun:
    """Runs the use cases one transaction each, with a clock that can be set back in time."""

    def __init__(self, ctx: EngineContext, tz: ZoneInfo) -> None:
        self.real = ctx
        self.tz = tz
        self.now = ctx.clock.now()
        self.clock = FixedClock(self.now)
        self.past = dataclasses.replace(ctx, clock=self.clock)

    def at(self, when: datetime) -> None:
        self.clock.set(min(when, self.now))

    def _run(self, fn: Callable[[Session, EngineContext], Any], real: bool = False) -> Any:
        ctx = self.real if real else self.past
        with transaction(ctx.sessions) as session:
            return fn(session, ctx)

    def start(self, user: str, key: str, data: dict[str, Any]) -> int:
        def go(session: Session, ctx: EngineContext) -> int:
            return instances.start(ctx, session, actor_for(session, user), key, data).id

        return int(self._run(go))

    def do(self, user: str, instance_id: int, element_id: str, data: dict[str, Any]) -> None:
        """Completes the (first) open task `element_id` as `user`."""

        def go(session: Session, ctx: EngineContext) -> None:
            row = session.scalars(
                select(HumanTaskRow)
                .where(
                    HumanTaskRow.instance_id == instance_id,
                    HumanTaskRow.element_id == element_id,
                    HumanTaskRow.status == "open",
                )
                .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
            ).first()
            if row is None:
                raise RuntimeError(f"demo: no open task {element_id} in #{instance_id}")
            instances.complete(ctx, session, actor_for(session, user), row.id, data)

        self._run(go)

    def message(self, user: str, instance_id: int, name: str, payload: dict[str, Any]) -> None:
        self._run(
            lambda s, c: instances.send_message(
                c, s, actor_for(s, user), instance_id, name, payload
            )
        )

    def tick(self, instance_id: int, real: bool = False) -> None:
        self._run(lambda s, c: control.fire_due_timers(c, s, instance_id), real=real)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.tz)
