"""What people get from a two-year-old instance (part of (5), `long_running.py`): the weekly
report's task page as its A角 opens it every week, and the API's answer to an action next to the
instance's own read. Thread CPU of the request in a Flask test client on the benchmark's
database, median of 15 each."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from common import PASSWORD, Row

from web import create_app

ROUNDS = 15
ACCOUNTS = 5_000
BENCH = "5 long-running state"


def rows(ctx: Any, iid: int, report_task: str, weeks: int) -> list[Row]:
    """``report_task``: the open weekly report, assigned to the A角 ``sup``."""
    client = create_app({"TESTING": True}, context=ctx).test_client()
    _login(client, "sup")
    # the page as it opens (the latest steps of its history) and with every step (显示全部),
    # interleaved so that the machine's noise falls on both alike
    page = f"/tasks/{report_task}"
    pages = iter([page, f"{page}?history=all"] * ROUNDS)
    both = _samples(lambda: client.get(next(pages)), 2 * ROUNDS)
    page_ms, page_kb = _medians(both[0::2])
    all_ms, all_kb = _medians(both[1::2])
    monitor = create_app({"TESTING": True}, context=ctx).test_client()
    _login(monitor, "root")
    shown = iter([f"/instances/{iid}", f"/instances/{iid}?timeline=all"] * ROUNDS)
    both = _samples(lambda: monitor.get(next(shown)), 2 * ROUNDS)
    instance_ms, instance_kb = _medians(both[0::2])
    everything_ms, everything_kb = _medians(both[1::2])
    # the diagram the page's viewer fetches: sent, and revalidated by a browser that has it
    diagram = f"/instances/{iid}/diagram.bpmn"
    tag = monitor.get(diagram).headers["ETag"]
    asks = iter([{}, {"If-None-Match": tag}] * ROUNDS)
    both = _samples(lambda: monitor.get(diagram, headers=next(asks)), 2 * ROUNDS)
    sent_ms, sent_kb = _medians(both[0::2])
    again_ms, again_kb = _medians(both[1::2])
    assert again_kb == 0, "a revalidated diagram is sent again"
    auth = _token(client, "root")
    path = f"/api/v1/process-instances/{iid}"
    read_ms, read_kb = _median(lambda: client.get(path, headers=auth))
    shown = client.get(path, headers=auth).get_json()
    acted = iter(["suspend", "resume"] * ROUNDS)
    act_ms, act_kb = _median(lambda: client.post(f"{path}/{next(acted)}", headers=auth, json={}))
    if next(acted) == "resume":  # an odd number of rounds left it suspended
        assert client.post(f"{path}/resume", headers=auth, json={}).status_code == 200
    # the same pages in a company of 5,000 more accounts (the pages name the people they
    # mention; the person pickers list everyone who can receive a task)
    _add_accounts(ctx, ACCOUNTS)
    crowd = iter([page, f"/instances/{iid}"] * ROUNDS)
    clients = iter([client, monitor] * ROUNDS)
    both = _samples(lambda: next(clients).get(next(crowd)), 2 * ROUNDS)
    crowd_page_ms, crowd_page_kb = _medians(both[0::2])
    crowd_instance_ms, crowd_instance_kb = _medians(both[1::2])
    return [
        Row(BENCH, f"task page of the weekly report after {weeks} weeks", page_ms, "ms", "",
            None, f"{page_kb:.0f} KB; as its A角 (the latest steps of the history, form, 退回 "
            f"targets); with every step (?history=all, as before 2026-12-07): {all_ms:.1f} ms, "
            f"{all_kb:.0f} KB; thread CPU, Flask test client, median of {ROUNDS} each, "
            "interleaved"),
        Row(BENCH, f"instance page (monitoring) after {weeks} weeks", instance_ms, "ms", "",
            None, f"{instance_kb:.0f} KB; as an admin (the latest entries of the timeline, "
            "data, documents; the diagram apart since 2026-12-07); with every entry "
            f"(?timeline=all, as before 2026-12-07): {everything_ms:.1f} ms, "
            f"{everything_kb:.0f} KB; thread CPU, Flask test client, median of {ROUNDS} each, "
            "interleaved"),
        Row(BENCH, "the instance page's diagram, fetched by its viewer", sent_ms, "ms", "",
            None, f"{sent_kb:.0f} KB; revalidated by a browser that has it (304, no body): "
            f"{again_ms:.1f} ms; thread CPU, Flask test client, median of {ROUNDS} each, "
            "interleaved"),
        Row(BENCH, f"API: an action's answer after {weeks} weeks (suspend/resume)", act_ms,
            "ms", "", None,
            f"{act_kb:.0f} KB, the latest audit entries and tasks; the instance's own read "
            f"(GET, all {len(shown['audit'])} audit entries and {len(shown['tasks'])} tasks): "
            f"{read_ms:.1f} ms, {read_kb:.0f} KB; thread CPU, Flask test client, median of "
            f"{ROUNDS} each"),
        Row(BENCH, f"task page and instance page with {ACCOUNTS:,} more accounts",
            crowd_page_ms, "ms", "", None,
            f"task page {crowd_page_kb:.0f} KB (without them: {page_ms:.1f} ms, "
            f"{page_kb:.0f} KB); instance page {crowd_instance_ms:.1f} ms, "
            f"{crowd_instance_kb:.0f} KB (without them: {instance_ms:.1f} ms, "
            f"{instance_kb:.0f} KB); active accounts, none in a group; thread CPU, Flask test "
            f"client, median of {ROUNDS} each, interleaved"),
    ]


def _add_accounts(ctx: Any, n: int) -> None:
    """``n`` accounts in one INSERT (a hash that matches no password: nobody logs in)."""
    from sqlalchemy import insert

    from engine.store.db import transaction
    from engine.store.tables import UserRecord

    now = ctx.clock.now()
    rows = [{"username": f"staff{i:05d}", "display_name": f"员工{i}", "password_hash": "-",
             "is_active": True, "is_admin": False, "created_at": now} for i in range(n)]
    with transaction(ctx.sessions) as s:
        s.execute(insert(UserRecord.__table__), rows)


def _median(request: Callable[[], Any]) -> tuple[float, float]:
    """Median thread CPU (ms) and size (KB) of ``request`` over `ROUNDS` runs."""
    return _medians(_samples(request, ROUNDS))


def _samples(request: Callable[[], Any], runs: int) -> list[tuple[float, float]]:
    """Thread CPU (ms) and size (KB) of each of ``runs`` runs of ``request``."""
    out = []
    for _ in range(runs):
        c0 = time.thread_time()
        r = request()
        out.append(((time.thread_time() - c0) * 1000, len(r.data) / 1024))
        assert r.status_code in (200, 304), r.status_code  # 304: a diagram revalidated
    return out


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(c for c, _ in samples), statistics.median(kb for _, kb in samples)


def _login(client: Any, user: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    r = client.post("/login", data={"username": user, "password": PASSWORD,
                                    "csrf_token": csrf.group(1)})
    assert r.status_code == 302, r.status_code


def _token(client: Any, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}
