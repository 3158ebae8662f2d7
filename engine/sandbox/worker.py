"""The script worker: a child process that runs diagram code for the engine.

Started by ``engine.sandbox.pool`` (forkserver, with this module preloaded), it first lowers its
own kernel limits (address space, no core dumps, no files written, no new processes), then
serves requests one at a time over its pipe: run one script or expression in an in-process
``LocalRunner`` (RestrictedPython policy, guards, tracer: the first line of defence),
then send back the result and what changed in the task data. Before each request the CPU-time
limit is set to the time already used plus the request's limit, so a C-level loop the tracer
cannot see is stopped by the kernel (SIGXCPU) if the engine's own wall-clock kill were late.

Helpers that are closures over the engine's state (``now()``, ``is_workday()``...) are not
copied here: each call goes back to the engine over the pipe and runs there, so it sees the
engine clock and the current working-day calendar at the moment of the call.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Final

from engine.sandbox import wire
from engine.sandbox.errors import ScriptError, ScriptResourceError
from engine.sandbox.local import LocalRunner
from engine.sandbox.policy import compile_source, prepare_source

_UNCHANGED_TYPES: Final = (str, int, float, bool, type(None), bytes)
_MAX_ENVIRONMENTS: Final = 32

_channel: Connection | None = None  # this process's pipe to the engine (set by ``main``)


class RemoteHelper:
    """Marker in a helper table: this name is called back in the engine."""

    __slots__ = ()


def _set_limits(address_space: int | None) -> None:
    def lower(kind: int, value: int) -> None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (value, value))

    lower(resource.RLIMIT_CORE, 0)
    lower(resource.RLIMIT_FSIZE, 0)
    lower(resource.RLIMIT_NPROC, 0)
    if address_space is not None:
        with open("/proc/self/statm", "rb") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        lower(resource.RLIMIT_AS, size + address_space)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _limit_cpu(time_limit: float) -> None:
    soft = math.ceil(_cpu_seconds() + time_limit) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _call_engine(name: str) -> Callable[..., Any]:
    def helper(*args: Any, **kwargs: Any) -> Any:
        assert _channel is not None
        _channel.send_bytes(wire.dumps(("call", name, args, kwargs)))
        kind, payload = pickle.loads(_channel.recv_bytes())
        if kind == "ok":
            return payload
        exc, _ = wire.decode_error(payload)
        raise exc

    helper.__name__ = helper.__qualname__ = name
    return helper


def _environment(cache: dict[Any, LocalRunner], key: Any, blob: bytes | None) -> LocalRunner:
    env = cache.get(key)
    if env is None:
        if blob is None:
            raise ScriptError("the script worker lost its helper table; please retry")
        table, time_limit, memory_limit, max_data_size = pickle.loads(blob)
        helpers = {
            name: _call_engine(name) if isinstance(value, RemoteHelper) else value
            for name, value in table.items()
        }
        env = LocalRunner(helpers, time_limit, memory_limit, max_data_size)
        if len(cache) >= _MAX_ENVIRONMENTS:
            cache.clear()
        cache[key] = env
    return env


def _changes(
    originals: dict[str, tuple[Any, bytes]], current: dict[str, Any], writable: bool
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(rebound or new values, values changed in place, removed keys) of ``current``."""
    assigned: dict[str, Any] = {}
    mutated: dict[str, Any] = {}
    for key, value in current.items():
        original = originals.get(key)
        if original is None or value is not original[0]:
            if writable:
                assigned[key] = value
        elif not isinstance(value, _UNCHANGED_TYPES) and wire.dumps(value) != original[1]:
            mutated[key] = value
    removed = [key for key in originals if key not in current] if writable else []
    return assigned, mutated, removed


def _run(request: tuple[Any, ...], envs: dict[Any, LocalRunner]) -> tuple[Any, ...]:
    mode, source, data, external, env_key, env_blob, time_limit = request
    env = _environment(envs, env_key, env_blob)
    _limit_cpu(time_limit)
    context = {key: (pickle.loads(raw), raw) for key, raw in data.items()}
    outside = {key: (pickle.loads(raw), raw) for key, raw in external.items()}
    task_data = {key: value for key, (value, _) in context.items()}
    external_data = {key: value for key, (value, _) in outside.items()}
    result = None
    # The engine checked the task data against the helpers; here the code runs under the
    # tracer as well as the kernel limits.
    code = compile_source(prepare_source(source, mode), mode)
    if mode == "exec":
        env.execute(code, task_data, external_data, traced=True)
    else:
        result = env.evaluate(code, task_data, external_data, traced=True)
    assigned, mutated, removed = _changes(context, task_data, writable=mode == "exec")
    _, external_mutated, _ = _changes(outside, external_data, writable=False)
    return ("done", result, assigned, mutated, removed, external_mutated)


def _serve(conn: Connection) -> None:
    envs: dict[Any, LocalRunner] = {}
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        recycle = False  # after a MemoryError the process starts afresh
        try:
            reply = wire.dumps(_run(pickle.loads(message), envs))
        except MemoryError:
            recycle = True
            reply = wire.dumps(("error", wire.encode_error(_memory_error()), recycle))
        except Exception as exc:
            try:
                reply = wire.dumps(("error", wire.encode_error(exc), recycle))
            except Exception:
                failed = ("ScriptError", ("the script failed",), {})
                reply = wire.dumps(("error", failed, recycle))
        conn.send_bytes(reply)
        if recycle:
            return


# Set by a web process that keeps itself to one CPU (web/cpu_pinning.py, before its threads and
# its forkserver start, so every script worker inherits it): the CPUs it could use before.
SCRIPT_CPUS_ENV: Final = "PLANFLOW_SCRIPT_CPUS"


def _leave_the_server_cpu() -> None:
    """A pinned web process's script worker goes back to the CPUs the process had before it
    was pinned: a heavy script runs beside the server, not on its core. Any other worker keeps
    what it inherited (an operator's `taskset` included)."""
    cpus = os.environ.get(SCRIPT_CPUS_ENV)
    if cpus and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError, ValueError):
            os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})


def _memory_error() -> ScriptResourceError:
    return ScriptResourceError("used more memory than the sandbox allows")


def main(conn: Connection, address_space: int | None) -> None:
    """Entry point of a worker process."""
    global _channel
    _leave_the_server_cpu()
    _set_limits(address_space)
    _channel = conn
    try:
        _serve(conn)
    finally:
        os._exit(0)
