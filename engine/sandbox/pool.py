"""A supervised pool of script worker processes (``engine.sandbox.worker``).

Workers are started lazily (forkserver start method, with the worker module preloaded in the
fork server, so each start is a cheap fork of a small process that never saw the engine's threads
or sockets) and reused. Each request has a wall-clock deadline: past it the worker is SIGKILLed
and the request fails with ``ScriptTimeout``; a worker that dies otherwise (crash, kernel limit)
fails its request with ``ScriptResourceError`` (or ``ScriptTimeout`` for SIGXCPU) and is replaced
by the next request. A worker found dead when a request picks it (it died while idle) is
replaced before the request is sent.

``shared_pool()`` gives one pool per process and address-space limit, closed at exit; contexts
take their pool from it (``engine.context.build_context``) or are given one. ``close()`` stops the
workers; a closed pool starts new ones if used again.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import multiprocessing
import os
import signal
import threading
import weakref
from collections.abc import Callable
from multiprocessing import context as mp_context
from multiprocessing import forkserver, popen_forkserver, spawn, util
from multiprocessing.connection import Connection
from time import monotonic
from typing import Any, Final, NoReturn

from engine.sandbox import wire
from engine.sandbox.errors import ScriptError, ScriptResourceError, ScriptTimeout
from engine.sandbox.worker import main as worker_main

KILL_GRACE: Final = 0.2
"""Seconds past a request's time limit before its worker is killed (the worker's own tracer
normally stops Python-level loops first, with the script's line number)."""

_WORKER_MODULE: Final = "engine.sandbox.worker"

Callback = Callable[[str, tuple[Any, ...], dict[str, Any]], Any]


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([_WORKER_MODULE])
    return ctx


class _Popen(popen_forkserver.Popen):
    """The forkserver launch, minus re-running the parent's ``__main__`` in the worker (the
    server's CLI or a test runner has no business there; the worker needs only its module)."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)  # noqa: SLF001
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        mp_context.set_spawning_popen(self)
        try:
            mp_context.reduction.dump(prep_data, buf)
            mp_context.reduction.dump(process_obj, buf)
        finally:
            mp_context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(mp_context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _Popen(process_obj)


class _Worker:
    __slots__ = ("_kill_lock", "conn", "known", "process")

    def __init__(self, address_space: int | None) -> None:
        ctx = _context()
        parent_end, child_end = ctx.Pipe(duplex=True)
        self.process = _Process(
            target=worker_main,
            args=(child_end, address_space),
            daemon=True,
            name="planflow-script-worker",
        )
        self.process.start()
        child_end.close()
        self.conn: Connection = parent_end
        self.known: set[Any] = set()  # helper tables this worker has received
        # A request thread that saw its worker die and the exit handler may kill it at once;
        # closing a pipe twice concurrently can close a descriptor reused meanwhile.
        self._kill_lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid  # type: ignore[return-value]

    def alive(self) -> bool:
        return self.process.exitcode is None and not self.conn.closed

    def kill(self) -> None:
        with self._kill_lock:
            if self.conn.closed:
                return
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(self.pid, signal.SIGKILL)
            self.process.join(5)
            self.conn.close()


class ScriptPool:
    """Worker processes for diagram code; thread-safe. See the module docstring."""

    def __init__(
        self,
        size: int | None = None,
        *,
        address_space: int | None = 512 * 2**20,
        max_message: int = 256 * 2**20,
    ) -> None:
        self.size = size or max(2, os.cpu_count() or 2)
        self.address_space = address_space
        self.max_message = max_message
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0  # workers being started, counted towards the size
        self._pid = os.getpid()
        self._exiting = False  # set by close_for_exit(): the process is about to end
        self.started = 0  # workers started so far (tests and monitoring)
        _LIVE.add(self)

    # -- public ---------------------------------------------------------------------------

    def call(
        self,
        request: tuple[Any, ...],
        time_limit: float,
        callback: Callback,
        prepare: Callable[[set[Any]], tuple[Any, ...]] | None = None,
    ) -> tuple[Any, ...]:
        """Run ``request`` in a worker and return its (checked-as-data) reply tuple.

        ``prepare(known)`` may adjust the request for the worker chosen (what it already has).
        ``callback(name, args, kwargs)`` answers the worker's helper calls.
        """
        for attempt in (1, 2):
            if self._exiting:
                _wait_for_the_end()
            worker = self._acquire()
            message = prepare(worker.known) if prepare else request
            # The limit starts when the script is sent, not while a worker is being started
            # (seconds on a busy machine, which would turn a trivial script into a timeout).
            deadline = monotonic() + time_limit + KILL_GRACE
            try:
                reply = self._exchange(worker, message, deadline, callback, time_limit)
            except _DiedIdle:
                self._discard(worker)
                if attempt == 2:
                    raise ScriptResourceError("the script worker could not be started") from None
                continue
            except BaseException:
                self._discard(worker)
                if self._exiting:
                    _wait_for_the_end()
                raise
            if reply[0] == "error" and reply[-1] is True:  # the worker exits after this reply
                self._discard(worker)
            else:
                self._release(worker)
            return reply
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop every worker (busy ones too: their requests fail). The pool stays usable."""
        with self._lock:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            self._lock.notify_all()
        for worker in workers:
            worker.kill()

    def close_for_exit(self) -> None:
        """Stop every worker because the process is ending. A request whose worker this kills
        does not fail: its thread waits for the process to end, so a request abandoned at
        shutdown can never record the kill as the script's incident and commit it."""
        with self._lock:
            self._exiting = True
        self.close()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in (*self._idle, *self._busy)]

    # -- internals ------------------------------------------------------------------------

    def _acquire(self) -> _Worker:
        with self._lock:
            self._check_fork()
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        self._busy.add(worker)
                        return worker
                    worker.kill()
                if len(self._busy) + self._starting < self.size:
                    break
                self._lock.wait()
            self.started += 1
            self._starting += 1
        try:
            worker = _Worker(self.address_space)
        except BaseException:
            with self._lock:
                self._starting -= 1
                self._lock.notify()
            raise
        with self._lock:
            self._starting -= 1
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._busy:
                self._busy.discard(worker)
                self._idle.append(worker)
            self._lock.notify()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            self._lock.notify()
        worker.kill()

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # a forked child must not share its parent's pipes
            self._pid = os.getpid()
            self._idle.clear()
            self._busy.clear()
            self._starting = 0

    def _exchange(
        self,
        worker: _Worker,
        message: tuple[Any, ...],
        deadline: float,
        callback: Callback,
        time_limit: float,
    ) -> tuple[Any, ...]:
        conn = worker.conn
        try:
            conn.send_bytes(wire.dumps(message))
        except (BrokenPipeError, ConnectionError, OSError):
            raise _DiedIdle from None
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0 or not conn.poll(remaining):
                worker.kill()
                raise ScriptTimeout(f"exceeded the time limit of {time_limit:g} s")
            try:
                raw = conn.recv_bytes(self.max_message)
            except (EOFError, OSError) as exc:
                if isinstance(exc, OSError) and "message length" in str(exc):
                    raise ScriptResourceError(
                        "the script's reply was larger than allowed"
                    ) from None
                worker.process.join(1)
                raise _death(worker, time_limit) from None
            reply = wire.loads(raw)
            if not isinstance(reply, tuple) or not reply or not isinstance(reply[0], str):
                raise ScriptError("the script worker sent an unreadable reply")
            if reply[0] != "call":
                return reply
            conn.send_bytes(wire.dumps(_answer(callback, reply)))


class _DiedIdle(Exception):
    pass


def _wait_for_the_end() -> NoReturn:
    """Park this thread until the process ends (the caller's request is abandoned)."""
    while True:
        threading.Event().wait()


def _death(worker: _Worker, time_limit: float) -> ScriptError:
    code = worker.process.exitcode
    if code == -signal.SIGXCPU:
        return ScriptTimeout(f"exceeded the time limit of {time_limit:g} s")
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited ({code})"
    return ScriptResourceError(
        f"the script's worker process {how}; the script probably used more memory than allowed"
    )


def _answer(callback: Callback, message: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        _, name, args, kwargs = message
        if not isinstance(name, str) or not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise ScriptError("malformed helper call from the script worker")
        return ("ok", callback(name, args, kwargs))
    except Exception as exc:
        return ("error", wire.encode_error(exc))


# -- one pool per process and limit; all pools are closed at exit --------------------------

_LIVE: weakref.WeakSet[ScriptPool] = weakref.WeakSet()
_SHARED: dict[int | None, ScriptPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(address_space: int | None = 512 * 2**20) -> ScriptPool:
    """This process's pool for ``address_space`` (created on first use, started lazily)."""
    with _SHARED_LOCK:
        pool = _SHARED.get(address_space)
        if pool is None:
            pool = _SHARED[address_space] = ScriptPool(address_space=address_space)
        return pool


@atexit.register
def _close_all() -> None:
    for pool in list(_LIVE):
        pool.close_for_exit()
