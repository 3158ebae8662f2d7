"""One CPU per web process (`planflow serve --cpus`, PLANFLOW_SERVE_CPUS).

A web process runs Python on one core at a time (the GIL), yet Linux lets its threads wander
over every core: the server's loop on one, the request's thread woken on another, each wake-up
on cold caches, and with several requests at once the GIL handed back and forth between cores.
Measured on the 2-core bench machine (bench/RESULTS.md, 2026-12-07): kept to one CPU,
`planflow serve` spent 5–10 % less CPU per bench instance with one client and 15–25 % less
with four (and served 8–14 % and 14–25 % more instances per second).

- ``off`` (the default): the operating system places the threads, as any server does;
- ``auto``: each web process on one CPU of those it may use, when it may use more than one;
  the single process takes the last (CPU 0 tends to take the machine's interrupts), gunicorn's
  workers go round them from the last down. For a machine or VM of planflow's own (the
  department's usual set-up, and the benchmarks'): two servers started with ``auto`` on one
  machine share a CPU, and in a container limited by a CPU quota rather than a CPU set every
  replica would see the host's CPUs and pick the same one — hence not the default;
- a list such as ``2,3``: the CPUs to use, in that order (a machine shared with PostgreSQL).

Script workers (`engine.sandbox.worker`) go back to the CPUs the process had before it was
pinned: a heavy script runs beside the server, not on its core. Pinning is Linux-only;
elsewhere it does nothing.
"""

from __future__ import annotations

import os

import click

from engine.sandbox.worker import SCRIPT_CPUS_ENV

AUTO, OFF = "auto", "off"


def parse(value: str) -> str | list[int]:
    """AUTO, OFF or the CPU numbers; click.BadParameter for anything else."""
    value = value.strip().lower()
    if value in (AUTO, OFF):
        return value
    try:
        cpus = [int(part) for part in value.split(",")]
    except ValueError:
        cpus = []
    if not cpus or any(cpu < 0 for cpu in cpus):
        raise click.BadParameter(
            f"应为 auto、off 或 CPU 编号列表，如 0,1 (expected auto, off or CPU numbers such as "
            f"0,1), not {value!r}", param_hint="--cpus")
    return cpus


def check(choice: str | list[int]) -> None:
    """CPUs this process may not use (absent, or outside its cgroup's set) stop `serve` at
    start-up, before gunicorn forks workers that could not start."""
    if isinstance(choice, list) and hasattr(os, "sched_getaffinity"):
        allowed = os.sched_getaffinity(0)
        unusable = ",".join(map(str, sorted(set(choice) - allowed)))
        if unusable:
            raise click.UsageError(
                f"不能使用 CPU {unusable} (cannot run on CPU {unusable}): this process may use "
                f"{','.join(map(str, sorted(allowed)))}")


def cpu_for(choice: str | list[int], process_index: int) -> int | None:
    """The CPU of web process number ``process_index`` (0 for the single process), or None
    to leave it to the operating system."""
    if choice == OFF or not hasattr(os, "sched_setaffinity"):  # not Linux: nothing to do
        return None
    if choice == AUTO:
        allowed = sorted(os.sched_getaffinity(0), reverse=True)
        if len(allowed) < 2:
            return None
        return allowed[process_index % len(allowed)]
    assert isinstance(choice, list)
    return choice[process_index % len(choice)]


def pin(choice: str | list[int], process_index: int) -> int | None:
    """Keep web process number ``process_index`` on its CPU of ``choice`` (`cpu_for`), before
    it starts threads; the CPU, or None when the operating system places it."""
    cpu = cpu_for(choice, process_index)
    if cpu is not None:
        _pin_process(cpu)
    return cpu


def _pin_process(cpu: int) -> None:
    """Keep every thread of this process on ``cpu``; threads started later inherit it. An
    unusable CPU (not present, or outside the cgroup's set) fails here, at start-up. The CPUs
    it had before are left for its script workers (`engine.sandbox.worker`)."""
    os.environ[SCRIPT_CPUS_ENV] = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    try:
        for tid in threads:
            os.sched_setaffinity(tid, {cpu})
    except OSError as exc:
        raise click.UsageError(f"不能使用 CPU {cpu} (cannot run on CPU {cpu}): {exc}") from exc
