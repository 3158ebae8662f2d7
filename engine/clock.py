"""Time as the engine sees it.

The engine never calls `datetime.now()` itself; it asks a `Clock`. SpiffWorkflow's timer
events, however, read `datetime.now(timezone.utc)` inside their module. `engine_time(clock)`
makes those reads answer from our clock for the duration of an engine run, by giving that one
module a `datetime` subclass whose `now()` consults a context variable. Outside an engine run
(and in other threads) it behaves exactly like `datetime`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: for tests, `planflow tick --as-of` and backfills."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware(at)

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self._at = self._at + timedelta(**delta)
        return self._at


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return at


_current_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar(
    "planflow_clock", default=None
)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        clock = _current_clock.get()
        if clock is None:
            return datetime.now(tz)
        current = clock.now()
        return (
            current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)
        )


_install_lock = threading.Lock()
_installed = False


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            spiff_timer.datetime = _ClockedDatetime  # type: ignore[misc]
            _installed = True


@contextmanager
def engine_time(clock: Clock) -> Iterator[None]:
    """Run SpiffWorkflow code with its notion of 'now' taken from `clock`."""
    _install()
    token = _current_clock.set(clock)
    try:
        yield
    finally:
        _current_clock.reset(token)
