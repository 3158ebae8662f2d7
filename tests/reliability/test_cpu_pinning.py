"""`planflow serve --cpus auto` keeps its threads on one CPU (web/cpu_pinning.py) and its
script workers on the CPUs it had before; by default the OS places them, within any CPU set the
server was started in; `--cpus` is checked before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from tests.reliability.conftest import Conn, wait_healthy
from tests.reliability.helpers import free_port, spawn, stop
from tests.reliability.serve_helpers import SLOW, Prepared, prepare_backend
from web import cpu_pinning

ALL = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
needs_two_cpus = pytest.mark.skipif(len(ALL) < 2, reason="pinning needs two CPUs or more")


def _allowed(pid: int, tid: int | None = None) -> set[int]:
    return set(os.sched_getaffinity(tid if tid is not None else pid))


def _threads(pid: int) -> list[int]:
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_the_choice_is_parsed_and_bad_values_name_the_option() -> None:
    assert cpu_pinning.parse("auto") == "auto"
    assert cpu_pinning.parse(" OFF ") == "off"
    assert cpu_pinning.parse("3,1") == [3, 1]
    for bad in ("", "fast", "1,,2", "-1", "1.5"):
        with pytest.raises(click.BadParameter, match="expected auto, off"):
            cpu_pinning.parse(bad)
    assert cpu_pinning.cpu_for("off", 0) is None
    assert [cpu_pinning.cpu_for([3, 1], i) for i in range(4)] == [3, 1, 3, 1]


@needs_two_cpus
def test_auto_takes_the_last_cpu_first_and_goes_round() -> None:
    picks = [cpu_pinning.cpu_for("auto", i) for i in range(len(ALL) + 1)]
    assert picks == [*sorted(ALL, reverse=True), ALL[-1]]


@needs_two_cpus
def test_serve_runs_on_one_cpu_and_its_script_workers_on_all(tmp_path: Path) -> None:
    prep = prepare_backend("sqlite", tmp_path, {"rel_slow.bpmn": SLOW})
    port = free_port()
    proc = spawn(prep.env, "serve", "--port", str(port), "--cpus", "auto",
                 log=tmp_path / "serve.log")
    try:
        wait_healthy(port, proc=proc)
        _start_a_script_worker(port, prep)
        assert {cpu for tid in _threads(proc.pid) for cpu in _allowed(proc.pid, tid)} \
            == {ALL[-1]}
        workers = [w for child in _children(proc.pid) for w in _children(child)]
        assert workers, "no script worker was started"
        for worker in workers:
            assert _allowed(worker) == set(ALL), worker
    finally:
        stop(proc)
    assert "CPU: " + str(ALL[-1]) in (tmp_path / "serve.log").read_text()


def _start_a_script_worker(port: int, prep: Prepared) -> None:
    # A loop is no one-liner: it runs in a script worker, which the server's forkserver
    # starts from a thread of the server.
    conn = Conn(port)
    status, body = conn.call("POST", "/api/v1/process-instances",
                             {"process": "rel_slow", "data": {"rounds": 1, "loops": 10}},
                             token=prep.tokens["req1"])
    conn.close()
    assert status == 201, body


@needs_two_cpus
def test_an_operators_cpu_set_holds_for_the_script_workers_too(tmp_path: Path) -> None:
    """Not pinned (the default), started inside a CPU set (`taskset`): the server and its script
    workers stay inside it."""
    prep = prepare_backend("sqlite", tmp_path, {"rel_slow.bpmn": SLOW})
    port = free_port()
    env = {k: v for k, v in prep.env.items() if k != "PLANFLOW_SERVE_CPUS"}
    os.sched_setaffinity(0, {ALL[0]})  # the child inherits the set of the thread that forks it
    try:
        proc = spawn(env, "serve", "--port", str(port), log=tmp_path / "serve.log")
    finally:
        os.sched_setaffinity(0, ALL)
    try:
        wait_healthy(port, proc=proc)
        _start_a_script_worker(port, prep)
        workers = [w for child in _children(proc.pid) for w in _children(child)]
        assert workers, "no script worker was started"
        for pid in (proc.pid, *workers):
            assert _allowed(pid) == {ALL[0]}, pid
    finally:
        stop(proc)


@needs_two_cpus
def test_by_default_the_operating_system_places_serve(tmp_path: Path) -> None:
    prep = prepare_backend("sqlite", tmp_path, {})
    port = free_port()
    env = {k: v for k, v in prep.env.items() if k != "PLANFLOW_SERVE_CPUS"}
    proc = spawn(env, "serve", "--port", str(port), log=tmp_path / "serve.log")
    try:
        wait_healthy(port, proc=proc)
        for tid in _threads(proc.pid):
            assert _allowed(proc.pid, tid) == set(ALL)
    finally:
        stop(proc)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_cpu_the_process_may_not_use_stops_serve_before_it_starts(
    tmp_path: Path, processes: str
) -> None:
    prep = prepare_backend("sqlite", tmp_path, {})
    done = subprocess.run(
        [sys.executable, "-m", "web.cli", "serve", "--port", str(free_port()), "--cpus", "4096",
         "--processes", processes],
        env=prep.env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "CPU 4096" in done.stderr
    assert "serving" not in done.stdout + done.stderr  # refused before gunicorn or waitress


@needs_two_cpus
def test_each_gunicorn_worker_gets_a_cpu_of_its_own(tmp_path: Path) -> None:
    prep = prepare_backend("sqlite", tmp_path, {})
    port = free_port()
    env = {**prep.env, "PLANFLOW_SERVE_CPUS": "auto"}  # the option's variable
    proc = spawn(env, "serve", "--port", str(port), "--processes", "2",
                 log=tmp_path / "serve.log")
    try:
        wait_healthy(port, proc=proc)
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(proc.pid)
        assert len(workers) == 2, workers
        pinned = sorted(_allowed(w) for w in workers)
        assert sorted(cpu for cpus in pinned for cpu in cpus) == sorted(ALL[-2:]), pinned
        assert _allowed(proc.pid) == set(ALL)  # the master only watches
    finally:
        stop(proc)


def test_without_affinity_calls_nothing_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Elsewhere than on Linux (no sched_setaffinity) every choice leaves the process alone."""
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    assert [cpu_pinning.cpu_for(c, 0) for c in ("auto", "off", [1])] == [None, None, None]
