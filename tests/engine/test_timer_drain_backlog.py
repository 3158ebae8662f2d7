"""A backlog longer than the scheduler's DRAIN_SECONDS: the poll lets the reminders have their
turn, then drains on at once in the same poll instead of idling until the next interval tick
(engine.timing.scheduler). Exactly once still."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from engine.timing import scheduler
from engine.timing.scheduler import TimerService
from tests.conftest import FIXTURES
from tests.engine.timer_helpers import fired_counts, start_many


@pytest.fixture
def once_ctx(ctx: Any) -> Any:
    from engine.store.db import transaction
    from engine.usecases.deploy import deploy, uploads_from_paths

    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([FIXTURES / "models_extra" / "timer_once.bpmn"]),
               "owner")
    return ctx


def test_a_backlog_past_drain_seconds_drains_on_after_the_reminders(
    once_ctx: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = once_ctx
    ids = start_many(ctx, "timer_once", [{"delay": "PT1M"}] * 5)
    clock.advance(minutes=2)
    # Every round of 2 outlasts the drain time: on SQLite rounds of 2, 2, 1, reminders after
    # each; on PostgreSQL two threads drain side by side (2 + 2 then 1, or as they come).
    monkeypatch.setattr(scheduler, "ROUND", 2)
    monkeypatch.setattr(scheduler, "DRAIN_SECONDS", -1.0)
    reminders: list[object] = []
    real = scheduler.send_due_reminders
    monkeypatch.setattr(scheduler, "send_due_reminders",
                        lambda c, s, now: reminders.append(now) or real(c, s, now))
    service = TimerService(ctx)
    service.poll()
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})
    assert len(reminders) == 3 if service.needs_lease else len(reminders) in (2, 3)
    service.poll()  # nothing left: no second firing
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})
    service.release_lease()


def test_a_stopping_service_does_not_drain_on(
    once_ctx: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = once_ctx
    ids = start_many(ctx, "timer_once", [{"delay": "PT1M"}] * 5)
    clock.advance(minutes=2)
    monkeypatch.setattr(scheduler, "ROUND", 2)
    monkeypatch.setattr(scheduler, "DRAIN_SECONDS", -1.0)
    service = TimerService(ctx)
    real = scheduler.process_due

    def first_round_then_stop(*args: Any, **kwargs: Any) -> Any:
        report = real(*args, **kwargs)
        service.stop_claiming()
        return report

    monkeypatch.setattr(scheduler, "process_due", first_round_then_stop)
    service.poll()
    # The round in flight (one per draining thread that had begun one) finishes; no further
    # round starts.
    fired = sum(fired_counts(ctx, ids).values())
    assert fired == 2 if service.needs_lease else 2 <= fired <= 2 * scheduler.DRAIN_THREADS
    service.release_lease()
