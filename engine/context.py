"""Everything a use case needs, built once and passed in explicitly (no module singletons)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, cast

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.bpmn.serializer import StateSerializer
from engine.bpmn.specs import SpecCache
from engine.clock import Clock, SystemClock
from engine.notify.notifier import LogNotifier, Notifier
from engine.operations import save_hooks as planflow_save_hooks
from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import make_helpers
from engine.sandbox.pool import ScriptPool, shared_pool
from engine.store.calendar_rows import load_calendar
from engine.store.db import make_engine, make_session_factory
from handlers import HandlerRegistry, default_registry

if TYPE_CHECKING:
    from engine.settings import Settings
    from engine.store.hooks import SaveHooks
    from engine.workcal import WorkCalendar


# The module implements engine.store.hooks.SaveHooks with plain functions.
PLANFLOW_SAVE_HOOKS = cast("SaveHooks", planflow_save_hooks)

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
    notifier: Notifier
    # Worker processes for diagram code: process infrastructure like `db`, shared by renewed()
    # contexts (and by default by every context of this process: engine.sandbox.pool).
    pool: ScriptPool | None = None
    # What a save asks of planflow's task operations (engine.store.hooks), passed in so that
    # the store imports nothing above it.
    save_hooks: SaveHooks = PLANFLOW_SAVE_HOOKS

    def close(self, *, workers: bool = True) -> None:
        """Release what this context holds outside Python: the notifier's delivery thread, the
        database connections and (unless ``workers=False``, for a pool other contexts of this
        process go on using) the script workers — the pool starts new ones if a context
        sharing it runs a script later."""
        self.notifier.shutdown()
        if workers and self.pool is not None:
            self.pool.close()
        self.db.dispose()

    def set_calendar(self, calendar: WorkCalendar) -> None:
        """Swap the working-day calendar (after an admin edits it, or on the scheduler's
        periodic reload); scripts see it at once through the delegating proxy."""
        self.calendar = calendar

    def reload_calendar(self, session: Session) -> None:
        """`set_calendar` with the calendar as stored now."""
        self.set_calendar(load_calendar(session))


class _CalendarProxy:
    """What scripts get as their calendar: always the context's current one."""

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def is_workday(self, d: date) -> bool:
        return self._ctx.calendar.is_workday(d)

    def add_workdays(self, d: date, n: int) -> date:
        return self._ctx.calendar.add_workdays(d, n)


def build_context(
    settings: Settings,
    clock: Clock | None = None,
    handlers: HandlerRegistry | None = None,
    db: Engine | None = None,
    notifier: Notifier | None = None,
    pool: ScriptPool | None = None,
) -> EngineContext:
    clock = clock or SystemClock()
    db = db or make_engine(settings.database_url)
    sessions = make_session_factory(db)
    with sessions() as session:
        calendar = load_calendar(session)
    ctx = EngineContext(
        settings=settings,
        clock=clock,
        db=db,
        sessions=sessions,
        specs=SpecCache(),
        handlers=handlers or default_registry(),
        serializer=StateSerializer(),
        environment=None,  # type: ignore[arg-type]  (set below: it needs the context)
        calendar=calendar,
        notifier=notifier or LogNotifier(),
        pool=pool or shared_pool(),
    )
    if notifier is None:
        # In-app notifications + outbox (e-mail, DingTalk/WeCom/Feishu robots), delivered
        # after commit; it logs every event as LogNotifier did.
        from engine.notify.notifications import PlanflowNotifier

        ctx.notifier = PlanflowNotifier(ctx)
    ctx.environment = _script_environment(ctx)
    return ctx


def renewed(ctx: EngineContext) -> EngineContext:
    """The context a freshly started process would build against the same database: a new spec
    cache, serializer and script environment, so nothing parsed, wired or cached in memory by
    earlier actions survives. The database engine, sessions, clock, handlers, calendar and
    notifier are shared (they hold no workflow state), and so is the script worker pool
    (process infrastructure, like the database engine). Restore-equivalence tests run every
    action in one of these."""
    fresh = replace(ctx, specs=SpecCache(), serializer=StateSerializer())
    fresh.environment = _script_environment(fresh)
    return fresh


def _script_environment(ctx: EngineContext) -> RestrictedEnvironment:
    return RestrictedEnvironment(
        make_helpers(ctx.clock.now, _CalendarProxy(ctx), ctx.settings.zone),
        time_limit=ctx.settings.script_time_limit,
        pool=ctx.pool,
    )
