"""The background timer scheduler (APScheduler): polls the timer table and wakes due instances.

One job, never overlapping itself (max_instances=1), coalescing missed runs so a paused process
does not replay a backlog of polls.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from engine.context import EngineContext
from engine.timers import process_due

log = logging.getLogger(__name__)


def poll_once(ctx: EngineContext) -> None:
    report = process_due(ctx)
    if report.woken or report.failed:
        log.info(
            "timers: woke %s, conflicts %s, failed %s",
            len(report.woken),
            len(report.conflicts),
            len(report.failed),
        )


def start_scheduler(ctx: EngineContext) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        poll_once,
        "interval",
        args=[ctx],
        seconds=ctx.settings.scheduler_poll_seconds,
        id="planflow-timers",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.start()
    return scheduler
