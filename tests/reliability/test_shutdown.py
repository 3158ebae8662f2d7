"""Graceful shutdown (issue 11), with real `planflow serve` / `planflow worker` processes and
real signals.

- SIGTERM or SIGINT: exit status 0 within 10 s, the scheduler's lease released (SQLite).
- SIGTERM while requests are in flight: new connections are refused at once, the requests in
  flight finish with 2xx (a slow start whose script runs ~1.5 s, and a stream of concurrent
  starts); every instance the database holds was answered with 201, and none is half-written.
- A PT2S timer started just before a SIGTERM (serve) or SIGINT (worker) fires within 2 s of its
  due time in the process started right after (the old lease no longer holds it up for 15 s).
- The timer and exit tests run on PostgreSQL too when it is reachable (there is no lease there:
  every worker claims with SKIP LOCKED).

Timing bounds are the requirement (10 s to exit, 2 s late), measured on the server's own
records; on a loaded machine a restarted process may come up after the timer's due time, so
lateness is counted from max(due time, the new scheduler running).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import APPROVAL3, TIMERS, Conn, check_invariants, wait_healthy
from tests.reliability.helpers import free_port, spawn, stop
from tests.reliability.serve_helpers import (
    EXIT_SECONDS,
    SLOW,
    SLOW_LOOPS,
    Starter,
    clean_log,
    lease,
    lease_held_by,
    prepare_backend,
    signal_and_wait,
)

LATE_SECONDS = 2.0  # the requirement


# --- processes ------------------------------------------------------------------------------


def _wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes],
                   timeout: float = 60) -> float:
    """Wait until `text` appears in the process's log; the monotonic instant it was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return time.monotonic()
        assert proc.poll() is None, f"exited with {proc.returncode}: {log.read_text()}"
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not in {log}: {log.read_text()}")


def _start_timer_instance(port: int, token: str) -> tuple[int, datetime]:
    conn = Conn(port)
    try:
        status, body = conn.call("POST", "/api/v1/process-instances",
                                 {"process": "rel_timers",
                                  "data": {"delay_once": "PT2S", "cycle": "R/P7D"}}, token=token)
    finally:
        conn.close()
    assert status == 201, body
    [once] = [t for t in body["timers"] if t["element_id"] == "once"]
    return body["id"], datetime.fromisoformat(once["due_at"])


def _wait_fired(port: int, token: str, iid: int, timeout: float = 30) -> dict[str, Any]:
    """The audit entry of the one-shot timer's firing (polled through the API)."""
    deadline = time.monotonic() + timeout
    while True:
        conn = Conn(port)
        try:
            status, body = conn.call("GET", f"/api/v1/process-instances/{iid}", token=token)
        finally:
            conn.close()
        assert status == 200, body
        fired = [a for a in body["audit"]
                 if a["action"] == "timer_fired" and a["element_id"] == "once"]
        if fired:
            assert len(fired) == 1, fired
            return fired[0]
        assert time.monotonic() < deadline, body["audit"]
        time.sleep(0.1)


def _assert_on_time(fired: dict[str, Any], due: datetime, running_at: float) -> float:
    """Fired within LATE_SECONDS of max(due time, the new scheduler running); returns the
    lateness the server recorded."""
    fired_at = datetime.fromisoformat(fired["at"]).timestamp()
    # `running_at` is a monotonic instant: as wall-clock time
    running_wall = time.time() - (time.monotonic() - running_at)
    late = fired["details"]["late_seconds"]
    assert datetime.fromisoformat(fired["details"]["due_at"]) == due
    assert fired_at - max(due.timestamp(), running_wall) <= LATE_SECONDS, (
        f"fired {fired_at - due.timestamp():.2f} s after its due time, "
        f"{fired_at - running_wall:.2f} s after the new scheduler ran")
    if running_wall <= due.timestamp():
        assert late <= LATE_SECONDS, fired
    print(f"new scheduler running {running_wall - due.timestamp():+.2f} s from the due time, "
          f"fired {fired_at - due.timestamp():+.2f} s")
    return late


# --- (a) exit status, time, lease -----------------------------------------------------------


@pytest.mark.parametrize("command,sig", [
    ("serve", signal.SIGTERM), ("serve", signal.SIGINT),
    ("worker", signal.SIGTERM), ("worker", signal.SIGINT),
])
def test_a_signal_exits_0_within_10_s_and_releases_the_lease(
        tmp_path: Path, command: str, sig: int) -> None:
    prep = prepare_backend("sqlite", tmp_path, {"rel_timers.bpmn": TIMERS})
    log = tmp_path / f"{command}.log"
    args = [command, "--port", str(free_port())] if command == "serve" else [command]
    proc = spawn(prep.env, *args, log=log)
    try:
        deadline = time.monotonic() + 60
        while not lease_held_by(prep.url, proc.pid):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the scheduler never took the lease"
            time.sleep(0.05)
        took = signal_and_wait(proc, sig)
    finally:
        stop(proc, signal.SIGKILL)
    assert proc.returncode == 0, log.read_text()
    assert took < EXIT_SECONDS, f"{took:.1f} s"
    owner, expires = lease(prep.url)  # type: ignore[misc]
    assert owner.split(":")[1] == str(proc.pid)
    assert expires < datetime.now(UTC), f"lease still held until {expires}"
    clean_log(log)


def test_a_second_signal_still_exits_cleanly(tmp_path: Path) -> None:
    prep = prepare_backend("sqlite", tmp_path, {"rel_timers.bpmn": TIMERS})
    port = free_port()
    log = tmp_path / "serve.log"
    proc = spawn(prep.env, "serve", "--port", str(port), log=log)
    try:
        wait_healthy(port, proc=proc)
        os.kill(proc.pid, signal.SIGTERM)
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=EXIT_SECONDS)
    finally:
        stop(proc, signal.SIGKILL)
    assert proc.returncode == 0, log.read_text()
    _, expires = lease(prep.url)  # type: ignore[misc]
    assert expires < datetime.now(UTC), f"lease still held until {expires}"
    clean_log(log)


# --- (b) requests in flight -----------------------------------------------------------------


def _trickled_start(port: int, token: str, first_part: threading.Event,
                    rest: threading.Event, out: dict[str, Any]) -> None:
    """A start whose body arrives in two parts: the second only when `rest` is set."""
    body = json.dumps({"process": "rel3", "data": {"amount": 7}}).encode()
    head = (f"POST /api/v1/process-instances HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head + body[:10])
            first_part.set()
            rest.wait(30)
            sock.sendall(body[10:])
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        out["answered"] = time.monotonic()
        status_line, _, rest_of_reply = reply.partition(b"\r\n")
        out["status"] = int(status_line.split()[1])
        out["body"] = json.loads(rest_of_reply.partition(b"\r\n\r\n")[2])
    except BaseException as exc:
        out["error"] = exc


def test_b_sigterm_lets_requests_in_flight_finish(tmp_path: Path) -> None:
    prep = prepare_backend("sqlite", tmp_path, {"rel3.bpmn": APPROVAL3, "rel_slow.bpmn": SLOW})
    prep.env["PLANFLOW_SCRIPT_TIME_LIMIT"] = "60"
    port = free_port()
    log = tmp_path / "serve.log"
    proc = spawn(prep.env, "serve", "--port", str(port), log=log)
    starters = [Starter(port, prep.tokens[u]) for u in ("req1", "req2", "req1")]
    slow: dict[str, Any] = {}
    trickled: dict[str, Any] = {}
    first_part, rest = threading.Event(), threading.Event()

    def slow_start() -> None:
        conn = Conn(port, timeout=60)
        try:
            slow["sent"] = time.monotonic()
            slow["status"], slow["body"] = conn.call(
                "POST", "/api/v1/process-instances",
                {"process": "rel_slow", "data": {"rounds": 1, "loops": SLOW_LOOPS}},
                token=prep.tokens["req1"])
            slow["answered"] = time.monotonic()
        except BaseException as exc:
            slow["error"] = exc
        finally:
            conn.close()

    try:
        wait_healthy(port, proc=proc)
        for s in starters:
            s.start()
        time.sleep(1.0)  # the starters are in full swing
        slow_thread = threading.Thread(target=slow_start, daemon=True)
        trickle_thread = threading.Thread(
            target=_trickled_start, args=(port, prep.tokens["req2"], first_part, rest, trickled),
            daemon=True)
        slow_thread.start()
        trickle_thread.start()
        assert first_part.wait(10)
        time.sleep(0.5)  # the slow request is being served, the trickled one being received
        sent_signal = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)

        # new connections are refused while the slow request is still being served
        refused_at = None
        while refused_at is None and time.monotonic() - sent_signal < 5:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                time.sleep(0.02)
            except ConnectionRefusedError:
                refused_at = time.monotonic()
        time.sleep(max(0.0, sent_signal + 1.0 - time.monotonic()))
        rest.set()  # the rest of the trickled request's body, 1 s after the signal
        proc.wait(timeout=30)
        exited_at = time.monotonic()
        slow_thread.join(10)
        trickle_thread.join(10)
        for s in starters:
            s.stop = True
            s.join(10)
    finally:
        stop(proc, signal.SIGKILL)

    assert proc.returncode == 0, log.read_text()
    assert exited_at - sent_signal < EXIT_SECONDS
    clean_log(log)
    assert "error" not in slow, slow
    assert slow["status"] == 201, slow
    assert slow["answered"] > sent_signal, "the slow request was not in flight at the signal"
    assert refused_at is not None and refused_at < slow["answered"], \
        "new connections were still accepted while the slow request was served"
    body = slow["body"]
    assert body["status"] == "running" and body["data"]["total"] > 0
    assert [t["element_id"] for t in body["open_tasks"]] == ["check"]
    assert "error" not in trickled, trickled
    assert trickled["status"] == 201, trickled
    assert trickled["body"]["data"]["amount"] == 7

    answered: list[int] = [body["id"], trickled["body"]["id"]]
    for s in starters:
        assert s.answers, "a starter never got an answer"
        assert all(status == 201 for status, _, _ in s.answers), s.answers
        answered += [iid for _, iid, _ in s.answers if iid is not None]
        # a starter's connection broke only after the signal (closed once idle, or refused)
        assert s.broke_at is not None and s.broke_at > sent_signal, s.broke_with

    # every instance in the database was answered with 201, and each is whole
    from sqlalchemy import create_engine, text

    engine = create_engine(prep.url)
    try:
        with engine.connect() as conn:
            stored = sorted(conn.scalars(text("SELECT id FROM process_instances")).all())
    finally:
        engine.dispose()
    assert stored == sorted(answered)
    counts = check_invariants(prep.url, prep.secret)
    assert counts["running"] == len(answered)
    print(f"slow request answered {slow['answered'] - sent_signal:.2f} s after the signal, "
          f"trickled one {trickled['answered'] - sent_signal:.2f} s, new connections refused "
          f"after {refused_at - sent_signal:.2f} s, exit after {exited_at - sent_signal:.2f} s; "
          f"{len(answered)} instances, all answered 201")


# --- (c, d, e) a PT2S timer across a restart --------------------------------------------------


def test_c_timer_fires_on_time_after_a_sigterm_restart_of_serve(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    prep = prepare_backend(backend, tmp_path, {"rel_timers.bpmn": TIMERS}, request)
    token = prep.tokens["sup"]
    port = free_port()
    first = spawn(prep.env, "serve", "--port", str(port), log=tmp_path / "serve1.log")
    second = None
    try:
        wait_healthy(port, proc=first)
        iid, due = _start_timer_instance(port, token)
        took = signal_and_wait(first, signal.SIGTERM)
        assert first.returncode == 0 and took < EXIT_SECONDS, (first.returncode, took)
        # a restart on the same port, at once
        second = spawn(prep.env, "serve", "--port", str(port), log=tmp_path / "serve2.log")
        running_at = _wait_for_line(tmp_path / "serve2.log", "scheduler started", second)
        wait_healthy(port, proc=second)
        fired = _wait_fired(port, token, iid)
        late = _assert_on_time(fired, due, running_at)
        took2 = signal_and_wait(second, signal.SIGTERM)
        assert second.returncode == 0 and took2 < EXIT_SECONDS, (second.returncode, took2)
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second, signal.SIGKILL)
    print(f"[{backend}] exit {took:.2f} s / {took2:.2f} s, timer late {late:.2f} s")
    clean_log(tmp_path / "serve1.log")
    clean_log(tmp_path / "serve2.log")


def test_d_timer_fires_on_time_after_a_sigint_restart_of_the_worker(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    prep = prepare_backend(backend, tmp_path, {"rel_timers.bpmn": TIMERS}, request)
    token = prep.tokens["sup"]
    port = free_port()
    web_env = {**prep.env, "PLANFLOW_SCHEDULER": "off"}
    web = spawn(web_env, "serve", "--port", str(port), log=tmp_path / "web.log")
    first = spawn(prep.env, "worker", log=tmp_path / "worker1.log")
    second = None
    try:
        wait_healthy(port, proc=web)
        _wait_for_line(tmp_path / "worker1.log", "planflow worker running", first)
        iid, due = _start_timer_instance(port, token)
        took = signal_and_wait(first, signal.SIGINT)
        assert first.returncode == 0 and took < EXIT_SECONDS, (first.returncode, took)
        second = spawn(prep.env, "worker", log=tmp_path / "worker2.log")
        running_at = _wait_for_line(tmp_path / "worker2.log", "planflow worker running", second)
        fired = _wait_fired(port, token, iid)
        late = _assert_on_time(fired, due, running_at)
        took2 = signal_and_wait(second, signal.SIGINT)
        assert second.returncode == 0 and took2 < EXIT_SECONDS, (second.returncode, took2)
        took_web = signal_and_wait(web, signal.SIGTERM)
        assert web.returncode == 0 and took_web < EXIT_SECONDS, (web.returncode, took_web)
    finally:
        for proc in (web, first, second):
            if proc is not None:
                stop(proc, signal.SIGKILL)
    print(f"[{backend}] worker exit {took:.2f} s / {took2:.2f} s, timer late {late:.2f} s")
    for name in ("worker1.log", "worker2.log", "web.log"):
        clean_log(tmp_path / name)


# --- a request that cannot finish in time ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signals_sent", [1, 2])
def test_a_request_that_cannot_finish_is_abandoned_within_the_bounds(
        tmp_path: Path, signals_sent: int) -> None:
    """One signal: the request gets until 8 s, the process exits within 10 s. A second signal:
    exit at once. Either way status 1 and "abandoned" in the log, the lease released, and the
    abandoned start left nothing behind (its transaction went with the process)."""
    prep = prepare_backend("sqlite", tmp_path, {"rel3.bpmn": APPROVAL3, "rel_slow.bpmn": SLOW})
    prep.env["PLANFLOW_SCRIPT_TIME_LIMIT"] = "120"
    port = free_port()
    log = tmp_path / "serve.log"
    proc = spawn(prep.env, "serve", "--port", str(port), log=log)
    outcome: dict[str, Any] = {}

    def endless_start() -> None:
        conn = Conn(port, timeout=60)
        try:
            outcome["answer"] = conn.call(
                "POST", "/api/v1/process-instances",
                {"process": "rel_slow", "data": {"rounds": 40, "loops": SLOW_LOOPS}},
                token=prep.tokens["req1"])
        except (OSError, http.client.HTTPException) as exc:
            outcome["broken"] = exc
        finally:
            conn.close()

    try:
        wait_healthy(port, proc=proc)
        conn = Conn(port)
        status, body = conn.call("POST", "/api/v1/process-instances",
                                 {"process": "rel3", "data": {"amount": 1}},
                                 token=prep.tokens["req1"])
        conn.close()
        assert status == 201, body
        client = threading.Thread(target=endless_start, daemon=True)
        client.start()
        time.sleep(0.5)
        sent_signal = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        if signals_sent == 2:
            time.sleep(0.5)
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        took = time.monotonic() - sent_signal
        client.join(10)
    finally:
        stop(proc, signal.SIGKILL)
    text = log.read_text(errors="replace")
    assert proc.returncode == 1, text
    assert "abandoned: 1 request(s) still in flight" in text, text
    assert "Traceback" not in text, text
    if signals_sent == 1:
        assert 7.5 < took < EXIT_SECONDS, f"{took:.1f} s"
    else:
        assert took < 4.0, f"{took:.1f} s"
    assert "broken" in outcome, outcome
    # The abandoned start held SQLite's writer lock (it inserts its row before running the
    # script), so the lease could not be released: the log must say so, or it was released.
    _, expires = lease(prep.url)  # type: ignore[misc]
    released = expires < datetime.now(UTC)
    assert released != ("lease not released" in text), text
    assert check_invariants(prep.url, prep.secret) == {"running": 1, "tasks": 1}
    print(f"{signals_sent} signal(s): exit 1 after {took:.2f} s")
