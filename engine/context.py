"""Everything a use case needs, built once and passed in explicitly (no module singletons)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.clock import Clock, SystemClock
from engine.db import make_engine, make_session_factory
from engine.script_helpers import make_helpers
from engine.scripts import RestrictedEnvironment
from engine.serializer import StateSerializer
from engine.settings import Settings
from engine.specs import SpecCache
from engine.workcal import WorkCalendar, load_default_calendar
from handlers import HandlerRegistry, default_registry


@dataclass
class EngineContext:
    settings: Settings
    clock: Clock
    db: Engine
    sessions: sessionmaker[Session]
    specs: SpecCache
    handlers: HandlerRegistry
    serializer: StateSerializer
    environment: RestrictedEnvironment
    calendar: WorkCalendar

    def set_calendar(self, calendar: WorkCalendar) -> None:
        """Swap the working-day calendar (after an admin edits it); scripts see it at once."""
        self.calendar = calendar
        self.environment = RestrictedEnvironment(
            make_helpers(self.clock.now, calendar), time_limit=self.settings.script_time_limit
        )


def build_context(
    settings: Settings,
    clock: Clock | None = None,
    handlers: HandlerRegistry | None = None,
    db: Engine | None = None,
) -> EngineContext:
    clock = clock or SystemClock()
    db = db or make_engine(settings.database_url)
    calendar = load_default_calendar()
    return EngineContext(
        settings=settings,
        clock=clock,
        db=db,
        sessions=make_session_factory(db),
        specs=SpecCache(),
        handlers=handlers or default_registry(),
        serializer=StateSerializer(),
        environment=RestrictedEnvironment(
            make_helpers(clock.now, calendar), time_limit=settings.script_time_limit
        ),
        calendar=calendar,
    )
