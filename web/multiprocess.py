"""`planflow serve --processes N` with N > 1: N web processes under gunicorn's pre-fork model.

One Python process runs one request at a time on the GIL, so one `planflow serve` is one core.
Here a master process (gunicorn's arbiter) holds the listening socket and forks N worker
processes that accept from it; the master restarts a worker that dies and stops them all
together. (`--processes 1` is not this: it stays the single waitress process of web.lifecycle,
with the scheduler embedded.)

- **Worker class: gthread** (`PlanflowWorker`). Each process serves up to `--threads` requests
  at a time: a request waiting on the database or on a script worker lets another run. Its main
  loop tells the master it is alive even while a request runs long. (The sync worker would give
  a whole process to each request, slow clients included.)
- **One request per connection** (`keepalive` 0: each answer says `Connection: close`). A
  kept-alive connection stays with the process that accepted it, so a few busy clients can load
  one process while the other idles: measured with 4 keep-alive clients, 7.7 against 2.9 CPU
  seconds; with a connection per request, which any free process accepts, 5.3 against 5.2.
  Connecting on loopback or from a proxy costs far less than that (nginx speaks to upstreams
  one request per connection by default).
- **Everything after fork.** The master imports planflow (the imports are shared
  copy-on-write and a worker boots in about a second) but builds nothing: no engine context, no
  database connection, no thread. Each worker builds its own context (database engine, script
  worker pool, notifier) when it loads the app, and disposes of it when it exits.
- **No scheduler in the web processes.** Timers run in `planflow worker` processes beside them
  (on PostgreSQL any number share the due timers with SKIP LOCKED; on SQLite one holds the
  lease). As the scheduler's periodic reload of the working-day calendar does not run here, each
  web process reloads it every CALENDAR_RELOAD itself (an admin's edit lands in one process).
- **Stopping the group** (SIGTERM from systemd or a process manager; SIGINT from Ctrl-C, which a
  terminal sends to the workers as well — both graceful here, unlike gunicorn's own SIGINT):
  the master closes its listening socket and passes SIGTERM to the workers; each stops accepting
  and closes its copy (new connections are refused), finishes the requests in flight and answers
  them, disposes of its context and exits 0; the master exits 0 once all have.
  The bounds are web.lifecycle's: a request still running after REQUEST_GRACE_SECONDS is
  abandoned (its worker exits 1; the transaction rolls back with the process), the master kills
  a worker still there at GRACE_SECONDS - 1 and exits 1 saying what was abandoned. A second
  signal: the workers stop at once.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
import time
from typing import Any, NoReturn

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

from web import cpu_pinning
from web.lifecycle import GRACE_SECONDS, REQUEST_GRACE_SECONDS, exit_now, say

log = logging.getLogger(__name__)

CALENDAR_RELOAD_SECONDS = 60.0  # as the scheduler's (engine.timing.scheduler.CALENDAR_RELOAD)
# gunicorn takes whole seconds
MASTER_GRACE_SECONDS = int(GRACE_SECONDS) - 1  # then the master kills what is left
KEEPALIVE_SECONDS = 0  # one request per connection: see the module docstring
WORKER_TIMEOUT_SECONDS = 60  # a worker silent this long (not even its main loop) is killed


def serve_processes(
    *, host: str, port: int, processes: int, threads: int, cpus: str | list[int] = "off"
) -> NoReturn:
    """Run the master until a stop signal; exits the process (status 0 when nothing was
    abandoned, 1 otherwise; 3 or 4 when the workers could not boot or load the app)."""
    from engine.settings import Settings

    # Read (and on a first start create) the settings once here: the per-installation secret
    # key file would otherwise be written by N workers at once, each with its own key.
    Settings.from_env()
    _import_planflow()
    say(f"planflow serving on http://{host}:{port}/ with {processes} web processes "
        f"(gunicorn, {threads} threads each; scheduler: off — timers run in `planflow worker`)")
    PlanflowServer(host=host, port=port, processes=processes, threads=threads, cpus=cpus).run()
    raise AssertionError("unreachable: the arbiter exits the process")  # pragma: no cover


def _import_planflow() -> None:
    """What create_app imports, imported once in the master so the workers share it. Imports
    only: nothing here opens a connection or starts a thread."""
    for name in ("web.api", "web.errors", "web.i18n", "web.pages", "web.session_auth",
                 "web.strict_input"):
        importlib.import_module(name)
    assert threading.active_count() == 1, "the master must not fork with threads running"


class PlanflowServer(BaseApplication):  # type: ignore[misc]
    """gunicorn configured from `planflow serve`'s options (no gunicorn.conf.py, no
    GUNICORN_CMD_ARGS: what runs is what the command line says)."""

    def __init__(
        self, *, host: str, port: int, processes: int, threads: int, cpus: str | list[int] = "off"
    ) -> None:
        def pin_worker(_arbiter: Arbiter, worker: PlanflowWorker) -> None:
            # In the worker, after fork and before its threads: the n-th worker started (a
            # restarted one too) on the n-th CPU of the choice, round.
            cpu_pinning.pin(cpus, worker.age - 1)

        self.options = {
            "bind": [f"{host}:{port}"],
            "workers": processes,
            "worker_class": f"{__name__}.PlanflowWorker",
            "threads": threads,
            "graceful_timeout": MASTER_GRACE_SECONDS,
            "timeout": WORKER_TIMEOUT_SECONDS,
            "keepalive": KEEPALIVE_SECONDS,
            "preload_app": False,  # the app (and its context) is built in each worker
            "control_socket_disable": True,  # no socket file, no thread in the master
            "proc_name": "planflow",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            "worker_exit": _worker_exit,
            "post_worker_init": _post_worker_init,
            "post_fork": pin_worker,
        }
        super().__init__(prog="planflow serve")

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """In each worker, after fork: its own app and engine context (no scheduler)."""
        from web import create_app

        logging.basicConfig()  # as web.lifecycle.serve does (idempotent)
        return create_app()

    def run(self) -> NoReturn:
        PlanflowArbiter(self).run()
        raise AssertionError("unreachable: the arbiter exits the process")  # pragma: no cover


# --- the workers ------------------------------------------------------------------------------


class PlanflowWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with planflow's stop: SIGINT is as graceful as SIGTERM (a second one stops at
    once), the listening socket is closed as soon as the worker stops accepting, and requests
    get REQUEST_GRACE_SECONDS (the master waits a second longer)."""

    abandoned = 0

    def init_process(self) -> None:
        self.cfg.set("graceful_timeout", int(REQUEST_GRACE_SECONDS))  # this process's copy only
        super().init_process()

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGINT, self.handle_int)

    def handle_int(self, sig: int, frame: Any) -> None:
        # (SIGTERM stays gunicorn's: graceful, and a further one changes nothing — the master
        # passes on a stop that may have reached every process, as systemd's default does.)
        if self.alive:
            self.handle_exit(sig, frame)
        else:
            self.handle_quit(sig, frame)

    def handle_quit(self, sig: int, frame: Any) -> None:
        """A second signal (or the master's SIGQUIT): stop now, abandoning what is in flight."""
        self.abandoned = self.in_flight()
        super().handle_quit(sig, frame)  # raises SystemExit: on to _worker_exit

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            # Stopping: close this process's copy of the listening socket now, not after the
            # requests in flight, so that new connections are refused at once rather than left
            # waiting in the backlog of a socket nobody will accept from.
            for listener in self.sockets:
                listener.close()

    def in_flight(self) -> int:
        """Connections with a request being read, served or answered (not idle ones)."""
        return max(0, self.nr_conns - len(self.keepalived_conns) - len(self.pending_conns))


def _post_worker_init(worker: PlanflowWorker) -> None:
    ctx = worker.wsgi.extensions["planflow"]
    threading.Thread(target=_reload_calendar, args=(ctx,), name="planflow-calendar",
                     daemon=True).start()


def _reload_calendar(ctx: Any) -> None:
    while True:
        time.sleep(CALENDAR_RELOAD_SECONDS)
        try:
            with ctx.sessions() as session:
                ctx.reload_calendar(session)
        except Exception:
            log.exception("reloading the working-day calendar failed")


def _worker_exit(_arbiter: Arbiter, worker: PlanflowWorker) -> None:
    """The worker's last act (gunicorn calls it once the worker's loop has ended): dispose of
    its engine context and exit now, as web.lifecycle does (no interpreter finalization, no
    waiting for request threads that were abandoned). A worker that did not boot leaves with
    gunicorn's own status instead (3, 4: the master then stops rather than fork it again)."""
    if not worker.booted:
        return  # gunicorn's SystemExit goes on
    abandoned = worker.abandoned or worker.in_flight()
    app = getattr(worker, "wsgi", None)
    if abandoned:
        worker.log.error("planflow web process %s: abandoned %s request(s) in flight",
                         worker.pid, abandoned)
    elif app is not None:
        try:
            app.extensions["planflow"].close()
        except Exception:
            worker.log.exception("disposing of the engine context failed")
    exit_now(1 if abandoned else 0)


# --- the master -------------------------------------------------------------------------------


class PlanflowArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's arbiter, with planflow's stop (see the module docstring) and its messages."""

    def __init__(self, app: PlanflowServer) -> None:
        super().__init__(app)
        self.stop_signal: int | None = None
        self.stop_began: float | None = None
        self.problems: dict[int, str] = {}

    def signal(self, sig: int, frame: Any) -> None:
        if self.stop_signal is not None and sig in (signal.SIGTERM, signal.SIGINT):
            sig = signal.SIGQUIT  # a further stop signal while stopping: hurry (Arbiter.stop)
        super().signal(sig, frame)

    def handle_term(self) -> None:
        self._begin_stop(signal.SIGTERM)
        raise StopIteration

    def handle_int(self) -> None:
        self._begin_stop(signal.SIGINT)  # graceful, like SIGTERM
        raise StopIteration

    def _begin_stop(self, sig: int) -> None:
        self.stop_signal, self.stop_began = sig, time.monotonic()
        say(f"{signal.Signals(sig).name}: planflow stopping ({len(self.WORKERS)} web "
            "process(es) finish the requests in flight; no new connections)")

    def kill_workers(self, sig: int) -> None:
        if sig == signal.SIGKILL:
            for pid in self.WORKERS:
                self.problems[pid] = f"web process {pid} killed after {MASTER_GRACE_SECONDS} s"
        super().kill_workers(sig)

    def reap_workers(self) -> None:
        if self.stop_began is not None:  # stopping: note how each worker ended
            for pid in list(self.WORKERS):
                try:
                    wpid, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    continue
                if wpid:
                    worker = self.WORKERS.pop(wpid)
                    worker.tmp.close()
                    self.cfg.child_exit(self, worker)
                    if status != 0 and wpid not in self.problems:
                        self.problems[wpid] = (f"web process {wpid} abandoned request(s) "
                                               f"(wait status {status})")
        super().reap_workers()

    def halt(self, reason: str | None = None, exit_status: int = 0) -> NoReturn:
        """Stop the workers (Arbiter.stop: graceful, then SIGKILL) and exit the process."""
        if self.stop_began is None:
            self.stop_began = time.monotonic()
        self._stop_control_server()
        self.stop()
        if self.pidfile is not None:
            self.pidfile.unlink()
        self.cfg.on_exit(self)
        took = time.monotonic() - self.stop_began
        name = signal.Signals(self.stop_signal).name if self.stop_signal else "-"
        problems = "; ".join(self.problems.values())
        if reason:  # gunicorn's HaltServer: a worker could not boot or load the app
            say(f"planflow stopped: {reason}{f' ({problems})' if problems else ''}")
            exit_now(exit_status or 1)
        if exit_status == 0 and not problems:
            say(f"planflow stopped ({name}) in {took:.1f} s")
            exit_now(0)
        say(f"planflow stopped ({name}) in {took:.1f} s, abandoned: {problems}")
        exit_now(exit_status or 1)
