"""Races through the real server: two clients complete the same task at the same moment, 100
rounds. Exactly one gets 200, the other 409 (documented error shape), and nothing is applied
twice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.reliability.conftest import (
    APPROVAL3,
    STEP_DATA,
    Conn,
    check_invariants,
    error_shape,
    prepare,
    wait_healthy,
)
from tests.reliability.helpers import free_port, spawn, stop

ROUNDS = 100


def test_two_clients_complete_the_same_task_exactly_one_wins(tmp_path: Path) -> None:
    prep = prepare(tmp_path, {"rel3.bpmn": APPROVAL3})
    port = free_port()
    server = spawn(prep.env, "serve", "--port", str(port), log=tmp_path / "server.log")
    outcomes: list[list[int]] = []
    try:
        wait_healthy(port, proc=server)
        setup = Conn(port)
        tasks = []
        for _ in range(ROUNDS):
            status, body = setup.call("POST", "/api/v1/process-instances",
                                      {"process": "rel3", "data": {}}, token=prep.tokens["req1"])
            assert status == 201, body
            tasks.append(body["open_tasks"][0]["id"])
        setup.close()
        # two users of the same group on two keep-alive connections (every 3rd round: the
        # same user twice, e.g. a double click on two devices)
        conns = [Conn(port), Conn(port)]
        for n, task_id in enumerate(tasks):
            users = ("req1", "req1") if n % 3 == 0 else ("req1", "req2")
            barrier = threading.Barrier(2)
            results: list[Any] = [None, None]

            def go(i: int, task_id: str = task_id, users: tuple[str, str] = users,
                   barrier: threading.Barrier = barrier, results: list[Any] = results) -> None:
                barrier.wait()
                results[i] = conns[i].call("POST", f"/api/v1/tasks/{task_id}/complete",
                                           {"data": STEP_DATA["ut1"]}, token=prep.tokens[users[i]])

            threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            statuses = sorted(r[0] for r in results)
            outcomes.append(statuses)
            assert statuses == [200, 409], (n, results)
            loser = next(r[1] for r in results if r[0] == 409)
            assert error_shape(loser), loser
            winner = next(r[1] for r in results if r[0] == 200)
            assert [t["element_id"] for t in winner["instance"]["open_tasks"]] == ["ut2"]
        for c in conns:
            c.close()
    finally:
        stop(server)
    counts = check_invariants(prep.url)
    assert counts["running"] == ROUNDS  # each instance moved on exactly once: ut2 open
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
