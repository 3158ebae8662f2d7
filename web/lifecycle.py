"""Graceful stop of `planflow serve` and `planflow worker` on SIGTERM or SIGINT.

SIGTERM is what systemd, Docker and every process manager send; SIGINT is Ctrl-C. The first
signal starts a graceful stop:

1. take no new work: the listening sockets close (new connections are refused and a new server
   may bind the port at once); the scheduler claims no further due timers;
2. finish the work in flight: requests being received or served complete and their responses
   are sent; the timer batch being processed commits;
3. close idle keep-alive connections, shut the scheduler down and release its lease (a new
   process takes over at once instead of after the lease's 15 s), dispose of the database
   engine, exit with status 0.

The whole stop takes less than GRACE_SECONDS (10 s): a request still running after
REQUEST_GRACE_SECONDS (8 s) is abandoned (its transaction is rolled back with the process), the
scheduler gets until 8.5 s, and the exit status is 1 with what was abandoned in the log. (On
SQLite an abandoned request that has written holds the database's writer lock, so the lease
cannot be released then: another scheduler takes over when it expires.) A second signal skips
the waiting for requests and gives the scheduler at most HURRY_SECONDS to finish its batch and
release the lease; the exit status is still 0 when nothing was abandoned.

Once stopped the process exits at once (web.lifecycle.exit_now: atexit handlers run, the
interpreter's ~1 s of finalization does not), so a restart is not kept waiting.

The signal handler only records the signal: it runs between two bytecodes of the main thread,
which may be inside the server loop or holding a lock. The main thread acts on it within
LOOP_SECONDS.

`planflow serve --processes N` (N > 1) runs N web processes under gunicorn instead, with no
scheduler; web.multiprocess stops that group within the same bounds and with the same messages.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from engine.timing.scheduler import TimerService

log = logging.getLogger(__name__)

GRACE_SECONDS = 10.0
REQUEST_GRACE_SECONDS = 8.0
HURRY_SECONDS = 1.0
LOOP_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Records SIGTERM/SIGINT: the first asks for a graceful stop, a further one for haste."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.first_at: float | None = None

    def install(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._record)
        return self

    def _record(self, signum: int, frame: Any) -> None:
        if self.first_at is None:
            self.first_at = time.monotonic()
        self.received.append(signum)

    @property
    def stop(self) -> bool:
        return bool(self.received)

    @property
    def hurry(self) -> bool:
        return len(self.received) > 1

    @property
    def name(self) -> str:
        return signal.Signals(self.received[0]).name if self.received else "-"

    def deadline(self, seconds: float) -> float:
        """A monotonic instant `seconds` after the first signal."""
        return (self.first_at or time.monotonic()) + seconds


def say(message: str) -> None:
    click.echo(message)
    sys.stdout.flush()


# --- the scheduler --------------------------------------------------------------------------


class _SchedulerStop:
    """Stops a TimerService (no more claims, the batch in flight commits) and releases its
    lease, in a thread of its own, so the main thread can go on draining requests and keep its
    deadline."""

    def __init__(self, scheduler: TimerService) -> None:
        scheduler.stop_claiming()
        self.stopped = self.released = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(scheduler,),
                                       name="planflow-scheduler-stop", daemon=True)
        self.thread.start()

    def _run(self, scheduler: TimerService) -> None:
        try:
            scheduler.stop()
            self.stopped = True
            scheduler.release_lease()
            self.released = True
        except BaseException as exc:  # reported by wait()
            self.error = exc

    def wait(self, signals: StopSignals) -> str | None:
        """None when the scheduler stopped and released its lease in time; else what not."""
        hard = signals.deadline(GRACE_SECONDS - 1.5)
        hurry_until: float | None = None
        while self.thread.is_alive():
            now = time.monotonic()
            if signals.hurry and hurry_until is None:
                hurry_until = now + HURRY_SECONDS
            if now >= hard or (hurry_until is not None and now >= hurry_until):
                break
            self.thread.join(0.05)
        if self.error is not None:
            log.error("scheduler shutdown failed", exc_info=self.error)
        # On SQLite a write transaction still open in this process (an abandoned request)
        # holds the database's writer lock: the poll in flight waits for it, and so would the
        # lease's release. Another scheduler then takes over when the lease expires.
        if not self.stopped:
            return "the scheduler's poll in flight did not finish (lease not released)"
        if not self.released:
            return "the database stayed busy (lease not released)"
        return None


# --- finishing ------------------------------------------------------------------------------


def _finish(signals: StopSignals, ctx_dispose: Callable[[], None], clean: bool,
            problems: list[str]) -> NoReturn:
    took = time.monotonic() - signals.deadline(0)
    if clean:
        try:
            ctx_dispose()
        except Exception:
            log.exception("disposing of the database engine failed")
        say(f"planflow stopped ({signals.name}) in {took:.1f} s")
        exit_now(0)
    say(f"planflow stopped ({signals.name}) in {took:.1f} s, abandoned: {'; '.join(problems)}")
    # Threads still inside a transaction (a request, a timer batch) would keep the interpreter
    # from exiting; their transactions roll back with the process.
    exit_now(1)


def exit_now(status: int) -> NoReturn:
    """Exit now. The atexit handlers run (logging, process pools, multiprocessing's children),
    the interpreter's finalization does not: freeing every object of the engine, Flask and
    SpiffWorkflow took ~1 s here, which a restart (and the timers due meanwhile) would wait
    for. Everything that matters is done by now, or abandoned on purpose."""
    try:
        atexit._run_exitfuncs()  # noqa: SLF001
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)


# --- worker ---------------------------------------------------------------------------------


def run_worker(scheduler: TimerService, signals: StopSignals,
               dispose: Callable[[], None]) -> NoReturn:
    """Block until a stop signal, stop the scheduler gracefully and exit the process."""
    while not signals.stop:
        time.sleep(LOOP_SECONDS)
    say(f"{signals.name}: planflow worker stopping (finishing the timer batch in flight)")
    problem = _SchedulerStop(scheduler).wait(signals)
    _finish(signals, dispose, problem is None, [problem] if problem else [])


# --- web server -----------------------------------------------------------------------------


def serve(app: Any, *, host: str, port: int, threads: int, scheduler: TimerService | None,
          signals: StopSignals, dispose: Callable[[], None]) -> NoReturn:
    """Serve `app` with waitress until a stop signal, stop gracefully and exit the process
    (raises only while starting, e.g. when the port is taken)."""
    from waitress import wasyncore
    from waitress.server import BaseWSGIServer, create_server

    logging.basicConfig()  # as waitress.serve does (idempotent)
    socket_map: dict[int, Any] = {}
    server = create_server(app, map=socket_map, host=host, port=port, threads=threads,
                           ident="planflow")
    server.print_listen("Serving on http://{}:{}")
    use_poll = server.adj.asyncore_use_poll
    while not signals.stop:
        wasyncore.loop(timeout=LOOP_SECONDS, map=socket_map, use_poll=use_poll, count=1)

    listeners = [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]
    busy = sum(1 for ch in _channels(socket_map) if not _idle(ch))
    say(f"{signals.name}: planflow stopping (no new connections; {busy} request(s) in flight"
        f"{', timers: finishing the batch in flight' if scheduler else ''})")
    sched_stop = _SchedulerStop(scheduler) if scheduler is not None else None
    for listener in listeners:
        # dispatcher.close, not the server's own close(): that would also close the trigger
        # the channels still use to wake this loop when their responses are ready.
        wasyncore.dispatcher.close(listener)

    deadline = signals.deadline(REQUEST_GRACE_SECONDS)
    while True:
        for channel in _channels(socket_map):
            if _idle(channel):
                channel.handle_close()
        left = list(_channels(socket_map))
        if not left or signals.hurry or time.monotonic() >= deadline:
            break
        wasyncore.loop(timeout=0.05, map=socket_map, use_poll=use_poll, count=1)

    problems = []
    if left:
        problems.append(f"{len(left)} request(s) still in flight")
    server.task_dispatcher.shutdown(
        cancel_pending=True, timeout=0.1 if left else max(0.1, deadline - time.monotonic())
    )
    wasyncore.close_all(socket_map, ignore_all=True)
    clean = not left
    problem = sched_stop.wait(signals) if sched_stop is not None else None
    if problem:
        problems.append(problem)
        clean = False
    _finish(signals, dispose, clean, problems)


def _channels(socket_map: dict[int, Any]) -> list[Any]:
    from waitress.channel import HTTPChannel

    return [d for d in list(socket_map.values()) if isinstance(d, HTTPChannel)]


def _idle(channel: Any) -> bool:
    """No request being received, queued or served, nothing left to send."""
    with channel.requests_lock:
        return (
            not channel.requests
            and channel.request is None
            and not channel.total_outbufs_len
        )
