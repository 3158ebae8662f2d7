"""Overdue timers across a restart, end to end through the real server.

1. Deterministic: the server is stopped, time is moved with `planflow tick --as-of` (three
   weekly periods missed): the one-shot timer and the weekly cycle fire exactly once, the cycle
   stays on its weekly grid, a repeated tick fires nothing, the next period fires once more,
   and a restarted server fires nothing again.
2. Real time: a 5 s one-shot and a 6 s cycle; the server is stopped before either is due and
   started again after two cycle periods: the one-shot fires once, the cycle fires once for
   the missed periods and then continues on its original grid.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.reliability.conftest import TIMERS, Conn, prepare, wait_healthy
from tests.reliability.helpers import free_port, planflow, spawn, stop


def _fired(detail: dict[str, Any], element: str) -> list[dict[str, Any]]:
    return [a for a in detail["audit"]
            if a["action"] == "timer_fired" and a["element_id"] == element]


def _timer(detail: dict[str, Any], element: str) -> datetime:
    [t] = [t for t in detail["timers"] if t["element_id"] == element]
    return datetime.fromisoformat(t["due_at"])


def _detail(port: int, token: str, iid: int) -> dict[str, Any]:
    conn = Conn(port)
    status, body = conn.call("GET", f"/api/v1/process-instances/{iid}", token=token)
    conn.close()
    assert status == 200, body
    return body


def _db_detail(url: str, iid: int) -> dict[str, Any]:
    """The instance as the API would show it, read while the server is down."""
    from engine.context import build_context
    from engine.people.accounts import SYSTEM
    from engine.read import queries
    from engine.settings import Settings

    ctx = build_context(Settings(database_url=url, secret_key="x"))
    try:
        with ctx.sessions() as s:
            return queries.get_instance(ctx, s, SYSTEM, iid)
    finally:
        ctx.db.dispose()


def test_tick_as_of_on_a_stopped_server_fires_each_overdue_timer_once(tmp_path: Path) -> None:
    prep = prepare(tmp_path, {"rel_timers.bpmn": TIMERS})
    token = prep.tokens["sup"]
    port = free_port()
    server = spawn(prep.env, "serve", "--port", str(port), log=tmp_path / "server1.log")
    try:
        wait_healthy(port, proc=server)
        conn = Conn(port)
        status, body = conn.call("POST", "/api/v1/process-instances",
                                 {"process": "rel_timers",
                                  "data": {"delay_once": "PT1H", "cycle": "R/P7D"}}, token=token)
        conn.close()
        assert status == 201, body
        iid = body["id"]
        once_due, cycle_due = _timer(body, "once"), _timer(body, "every")
    finally:
        stop(server)

    # three weekly periods (and the one-shot) overdue while the server is down
    as_of = cycle_due + timedelta(days=14, seconds=1)
    out = planflow(prep.env, "tick", "--as-of", as_of.isoformat())
    assert "woken 1 instance" in out, out
    detail = _db_detail(prep.url, iid)
    assert len(_fired(detail, "once")) == 1
    [catch_up] = _fired(detail, "every")  # one firing for three missed periods
    assert datetime.fromisoformat(catch_up["details"]["due_at"]) == cycle_due
    assert catch_up["details"]["late_seconds"] == 14 * 86400 + 1
    assert _timer(detail, "every") == cycle_due + timedelta(days=21)  # still on the weekly grid
    assert once_due < as_of

    out = planflow(prep.env, "tick", "--as-of", as_of.isoformat())  # same instant: nothing
    assert "woken 0 instance" in out, out
    out = planflow(prep.env, "tick", "--as-of", (cycle_due + timedelta(days=21, seconds=1))
                   .isoformat())
    assert "woken 1 instance" in out, out
    detail = _db_detail(prep.url, iid)
    assert len(_fired(detail, "once")) == 1
    assert [datetime.fromisoformat(a["details"]["due_at"]) for a in _fired(detail, "every")] == [
        cycle_due, cycle_due + timedelta(days=21)]
    assert _timer(detail, "every") == cycle_due + timedelta(days=28)

    # a restarted server (real clock, before the next period) fires nothing more
    port = free_port()
    server = spawn(prep.env, "serve", "--port", str(port), log=tmp_path / "server2.log")
    try:
        wait_healthy(port, proc=server)
        time.sleep(2.5)  # at least two scheduler polls
        after = _detail(port, token, iid)
    finally:
        stop(server)
    assert len(_fired(after, "once")) == 1 and len(_fired(after, "every")) == 2
    assert [t["element_id"] for t in after["open_tasks"]] == ["monitor"]
    for log in ("server1.log", "server2.log"):
        assert "Traceback" not in (tmp_path / log).read_text(errors="replace")


def test_real_short_timers_across_a_real_restart(tmp_path: Path) -> None:
    prep = prepare(tmp_path, {"rel_timers.bpmn": TIMERS})
    token = prep.tokens["sup"]
    period = 6.0
    port = free_port()
    server = spawn(prep.env, "serve", "--port", str(port), log=tmp_path / "server1.log")
    try:
        wait_healthy(port, proc=server)
        conn = Conn(port)
        status, body = conn.call("POST", "/api/v1/process-instances",
                                 {"process": "rel_timers",
                                  "data": {"delay_once": "PT5S", "cycle": f"R/PT{period:g}S"}},
                                 token=token)
        conn.close()
        assert status == 201, body
    finally:
        stop(server)  # before either timer is due
    iid = body["id"]
    once_due, cycle_due = _timer(body, "once"), _timer(body, "every")
    down = _db_detail(prep.url, iid)
    assert _fired(down, "once") == [] and _fired(down, "every") == [], "fired before the stop"

    # stay down for two more cycle periods, then start again
    time.sleep(max(0.0, cycle_due.timestamp() + 2 * period + 0.5 - time.time()))
    port = free_port()
    restarted_at = time.time()
    server = spawn(prep.env, "serve", "--port", str(port), log=tmp_path / "server2.log")
    try:
        wait_healthy(port, proc=server)
        deadline = time.monotonic() + 60
        while True:
            detail = _detail(port, token, iid)
            every = _fired(detail, "every")
            if len(every) >= 2 and _fired(detail, "once"):
                break
            assert time.monotonic() < deadline, detail["audit"]
            time.sleep(0.3)
    finally:
        stop(server)
    once = _fired(detail, "once")
    assert len(once) == 1
    assert datetime.fromisoformat(once[0]["details"]["due_at"]) == once_due
    dues = [datetime.fromisoformat(a["details"]["due_at"]) for a in every]
    catch_up_at = datetime.fromisoformat(every[0]["at"])
    # the catch-up: one firing (for the first missed due time) for all missed periods
    assert catch_up_at.timestamp() >= restarted_at
    assert dues[0] == cycle_due
    assert every[0]["details"]["late_seconds"] >= 2 * period
    # (counted by due time, not by firing time: on a loaded machine the server may come up so
    # late that the next grid time follows the catch-up within a second, legitimately)
    assert sum(1 for d in dues if d < catch_up_at) == 1
    # ... then on the original grid: the next period after the restart, once each, on time
    assert dues[1] > catch_up_at
    assert (dues[1] - cycle_due).total_seconds() % period == 0
    assert dues[1] - catch_up_at <= timedelta(seconds=period)
    for a, b in itertools.pairwise(dues[1:]):
        assert b - a == timedelta(seconds=period)
    assert all(a["details"]["late_seconds"] < 2.5 for a in every[1:])
    assert [t["element_id"] for t in detail["open_tasks"]] == ["monitor"]
    for log in ("server1.log", "server2.log"):
        assert "Traceback" not in (tmp_path / log).read_text(errors="replace")
