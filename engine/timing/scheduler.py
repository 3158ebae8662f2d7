"""The background timer scheduler (APScheduler).

One interval job polls the timer table (default every second) and also plans an exact wake-up
for the nearest due timer, so a timer due between two polls is not late by a whole interval.
Each poll: fire due timers and service retries (a backlog in back-to-back rounds), send due
reminders, reload the working-day calendar now and then; a backlog longer than DRAIN_SECONDS
gets the reminders in between and drains on in the same poll.

On SQLite only one scheduler per deployment may run (several web processes share one file):
a lease row in the database elects it; the holder renews the lease on every poll and releases it
on shutdown; a lease not renewed for `lease_seconds` is taken over. On PostgreSQL every worker
polls, and due rows are claimed with FOR UPDATE SKIP LOCKED (engine.timing.timers).

Stopping (`planflow serve`/`worker` on SIGTERM or SIGINT, web.lifecycle): `stop_claiming()`
first — from then on no poll starts and a poll in progress claims no further batch, so only the
batch in flight finishes (at most engine.timing.timers.BATCH_SECONDS plus one instance);
`shutdown()`
then waits for it, stops APScheduler and releases the lease, so a new process takes over at
once instead of after `lease_seconds`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, update

from engine.store.calendar_rows import load_calendar
from engine.store.db import transaction
from engine.store.tables import SchedulerLeaseRecord
from engine.timing.reminders import send_due_reminders
from engine.timing.timers import next_due, process_due

if TYPE_CHECKING:
    from engine.context import EngineContext

log = logging.getLogger(__name__)
LEASE_NAME = "timers"
CALENDAR_RELOAD = timedelta(seconds=60)
# Instances one round of process_due may wake, and how long one poll keeps draining a backlog.
ROUND = 500
DRAIN_SECONDS = 10.0
# Threads of one worker draining side by side on PostgreSQL (measured: 2 drain ~20 % faster
# than 1 on 2 cores; each thread's wake-ups mostly wait on database round trips).
DRAIN_THREADS = 2


class TimerService:
    def __init__(self, ctx: EngineContext, lease_seconds: float = 15.0) -> None:
        self.ctx = ctx
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds
        self.needs_lease = ctx.db.dialect.name != "postgresql"
        self._scheduler: BackgroundScheduler | None = None
        self._calendar_loaded = ctx.clock.now()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # -- leadership ------------------------------------------------------------------------

    def acquire_lease(self) -> bool:
        """Take or renew the lease; False while another live scheduler holds it."""
        if not self.needs_lease:
            return True
        now = self.ctx.clock.now()
        expires = now + timedelta(seconds=self.lease_seconds)
        with transaction(self.ctx.sessions) as session:
            taken = session.execute(
                update(SchedulerLeaseRecord)
                .where(SchedulerLeaseRecord.name == LEASE_NAME)
                .where(
                    (SchedulerLeaseRecord.owner == self.owner)
                    | (SchedulerLeaseRecord.expires_at < now)
                )
                .values(owner=self.owner, expires_at=expires)
            ).rowcount
            if taken:
                return True
            exists = session.scalar(
                select(SchedulerLeaseRecord.name).where(SchedulerLeaseRecord.name == LEASE_NAME)
            )
            if exists is None:
                session.add(
                    SchedulerLeaseRecord(name=LEASE_NAME, owner=self.owner, expires_at=expires)
                )
                return True
        return False

    def release_lease(self) -> None:
        if not self.needs_lease:
            return
        with transaction(self.ctx.sessions) as session:
            session.execute(
                update(SchedulerLeaseRecord)
                .where(
                    SchedulerLeaseRecord.name == LEASE_NAME,
                    SchedulerLeaseRecord.owner == self.owner,
                )
                .values(expires_at=datetime.fromtimestamp(0).astimezone())
            )

    # -- work ------------------------------------------------------------------------------

    def poll(self) -> None:
        """One round of background work (never overlapping itself). A backlog that outlasts
        DRAIN_SECONDS lets the other work (reminders) have its turn, then drains on in the same
        poll: waiting for the next interval tick left the worker idle for up to
        `scheduler_poll_seconds` after every DRAIN_SECONDS of a long drain."""
        if self.stopping or not self._lock.acquire(blocking=False):
            return
        try:
            backlog = True
            while backlog:
                if self.stopping or not self.acquire_lease():
                    return
                backlog = self._drain_all()
                if self.stopping:
                    return
                self._other_work()
            self._plan_wakeup()
        except Exception:
            log.exception("scheduler poll failed")
        finally:
            self._lock.release()

    def _other_work(self) -> None:
        """Due reminders, and the working-day calendar reloaded now and then."""
        now = self.ctx.clock.now()
        with transaction(self.ctx.sessions) as session:
            send_due_reminders(self.ctx, session, now)
        if now - self._calendar_loaded > CALENDAR_RELOAD:
            with transaction(self.ctx.sessions) as session:
                self.ctx.set_calendar(load_calendar(session))
            self._calendar_loaded = now

    def _drain_all(self) -> bool:
        """On PostgreSQL, DRAIN_THREADS drain side by side (claims skip each other's rows): while
        one waits for the database, another runs Python. SQLite has one writer: one drains.
        True when a drain stopped for time with more due (`_drain`)."""
        extra = 0 if self.needs_lease else DRAIN_THREADS - 1
        backlogs: list[bool] = []
        helpers = [
            threading.Thread(target=self._drain_logged, args=(backlogs,),
                             name=f"planflow-drain-{i}", daemon=True)
            for i in range(extra)
        ]
        for helper in helpers:
            helper.start()
        backlog = self._drain()
        for helper in helpers:
            helper.join()
        return backlog or any(backlogs)

    def _drain_logged(self, backlogs: list[bool]) -> None:
        try:
            backlogs.append(self._drain())
        except Exception:
            log.exception("timer drain failed")

    def _drain(self) -> bool:
        """Fire due timers. While rounds come back full, go on at once rather than waiting for
        the next poll (a backlog drains without idle gaps), renewing the lease between rounds;
        after DRAIN_SECONDS the poll's other work (reminders) gets its turn. True when it
        stopped for time with its last round full (more is due), else False."""
        began = time.monotonic()
        while True:
            report = process_due(self.ctx, limit=ROUND, stopping=self._stopping.is_set)
            if report.woken or report.failed:
                log.info(
                    "timers: woke %s, conflicts %s, failed %s",
                    len(report.woken),
                    len(report.conflicts),
                    len(report.failed),
                )
            if report.handled < ROUND or self.stopping:
                return False
            if time.monotonic() - began > DRAIN_SECONDS:
                return True
            if not self.acquire_lease():
                return False

    def _plan_wakeup(self) -> None:
        if self._scheduler is None or self.stopping:
            return
        with transaction(self.ctx.sessions) as session:
            due = next_due(session)
        if due is None:
            return
        delay = (due - self.ctx.clock.now()).total_seconds()
        if 0 < delay < self.ctx.settings.scheduler_poll_seconds:
            self._scheduler.add_job(
                self.poll,
                "date",
                run_date=datetime.now().astimezone() + timedelta(seconds=delay),
                id="planflow-wakeup",
                replace_existing=True,
                misfire_grace_time=None,
            )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> TimerService:
        # A poll that outlasts the interval is normal under load; APScheduler would log a
        # warning for every skipped run.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(
            self.poll,
            "interval",
            seconds=self.ctx.settings.scheduler_poll_seconds,
            id="planflow-timers",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now().astimezone(),
        )
        scheduler.start()
        self._scheduler = scheduler
        return self

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop_claiming(self) -> None:
        """Take on no more work: no new poll, no further batch of the poll in progress. Returns
        at once (callable from any thread); `shutdown()` waits for the batch in flight."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop claiming, wait for the batch in flight to commit, stop APScheduler."""
        self.stop_claiming()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        with self._lock:  # a poll run outside APScheduler (e.g. a test's) finishes first
            pass

    def shutdown(self) -> None:
        """`stop()`, then release the lease (a new scheduler may take over at once)."""
        self.stop()
        self.release_lease()


def start_scheduler(ctx: EngineContext) -> TimerService:
    return TimerService(ctx).start()
