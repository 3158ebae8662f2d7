"""(3) Inbox and instance list at scale, and (6) the server's peak RSS meanwhile.

Loads 100,000 instances and 300,000 task rows (with their candidate-group rows) by bulk SQL
inserts into a fresh SQLite database, then serves it with the real `planflow serve` and measures
p50/p95 of
  * `GET /api/v1/tasks` (first page of the open inbox) for typical users,
  * `GET /instances` (the UI list, logged-in session) for a manager (sees all 100k) and for a
    typical staff member (sees what they started or took part in),
  * `GET /tasks` (the UI inbox page) for typical users (informative),
and the server's VmHWM (peak RSS) after all of it.

The data set and its distribution: bench/inbox_data.py.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PASSWORD,
    Client,
    Row,
    emit,
    free_port,
    percentile,
    planflow_env,
    spawn,
    stop,
    vm_hwm_kb,
    wait_healthy,
)
from inbox_data import N_INSTANCES, TASKS_PER_INSTANCE, loaded_db

TARGET_P95_MS = 30.0

def typical_users(visible: dict[str, int], k: int = 10) -> list[str]:
    """The k users around the median inbox size."""
    ordered = sorted(visible, key=lambda u: visible[u])
    mid = len(ordered) // 2
    return ordered[mid - k // 2: mid + (k - k // 2)]


def ui_login(port: int, username: str) -> Client:
    c = Client(port)
    status, body, _ = c.raw("GET", "/login")
    assert status == 200, status
    token = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    assert token, "no csrf token on the login page"
    form = urlencode({"username": username, "password": PASSWORD,
                      "csrf_token": token.group(1).decode(), "next": "/"}).encode()
    status, body, _ = c.raw("POST", "/login", form,
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (302, 303), (status, body[:300])
    return c


def timed(client: Client, path: str, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        status, body, _ = client.raw("GET", path)
        out.append((time.perf_counter() - t0) * 1000)
        assert status == 200, (path, status, body[:300])
    return out


def timed_paired(clients: list[Client], path: str, rounds: int) -> list[list[float]]:
    """``rounds`` requests on each server's client, interleaved (A B, then B A, ...), so that
    the noise of a shared machine falls on both sides alike."""
    out: list[list[float]] = [[] for _ in clients]
    for n in range(rounds):
        order = list(range(len(clients)))
        if n % 2:
            order.reverse()
        for k in order:
            out[k] += timed(clients[k], path, 1)
    return out


def spawn_tree(tree: Path, url: str, tmp: Path, port: int, log: Path) -> Any:
    """`planflow serve` from another checkout of the project (e.g. `git worktree add` of the
    commit before a change): the B side of an A/B on the same database."""
    env = planflow_env(url, tmp / "instance-b", PYTHONPATH=str(tree))
    handle = log.open("wb")
    return subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)],
                            env=env, cwd=tree, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


PAGES = ("api_tasks", "inbox", "done", "staff_list", "mgr_list", "mgr_filtered", "api_list")


def measure(ports: list[int], users: list[str], rounds: int) -> dict[str, list[list[float]]]:
    """Every measured request, per server (one list per port, same order as ``ports``)."""
    ms: dict[str, list[list[float]]] = {k: [[] for _ in ports] for k in PAGES}
    totals = []

    def add(key: str, got: list[list[float]]) -> None:
        for k, values in enumerate(got):
            ms[key][k] += values

    for u in users:
        api = [Client(p) for p in ports]
        for c in api:
            c.login(u)
            status, page = c.request("GET", "/api/v1/tasks")
            assert status == 200, page
        totals.append(page["total"])
        add("api_tasks", timed_paired(api, "/api/v1/tasks", rounds // 2))
        ui = [ui_login(p, u) for p in ports]
        for c in ui:
            timed(c, "/tasks", 2)
            timed(c, "/tasks/done", 1)
        add("inbox", timed_paired(ui, "/tasks", rounds // 4))
        add("done", timed_paired(ui, "/tasks/done", rounds // 4))
        add("staff_list", timed_paired(ui, "/instances", rounds // 4))
        for c in api + ui:
            c.close()
    mgr = [ui_login(p, "boss") for p in ports]
    for c in mgr:
        timed(c, "/instances", 3)
    add("mgr_list", timed_paired(mgr, "/instances", rounds * 2))
    add("mgr_filtered", timed_paired(mgr, "/instances?status=running&process=project_initiation",
                                     rounds // 2))
    api_mgr = [Client(p) for p in ports]
    for c in api_mgr:
        c.login("boss")
    add("api_list", timed_paired(api_mgr, "/api/v1/process-instances", rounds // 2))
    for c in mgr + api_mgr:
        c.close()
    ms["totals"] = [[float(min(totals)), float(max(totals))]]
    return ms


def ab_table(ms: dict[str, list[list[float]]]) -> str:
    """Side by side: this tree (A) and the other one (B), p50/p95 and the ratio A/B."""
    out = ["A/B (paired, same database; A = this tree, B = --ab tree):",
           f"  {'request':<14} {'A p50':>7} {'A p95':>7} {'B p50':>7} {'B p95':>7} "
           f"{'p50 A/B':>8} {'p95 A/B':>8}"]
    for key in PAGES:
        a, b = ms[key]
        pa = (percentile(a, 50), percentile(a, 95))
        pb = (percentile(b, 50), percentile(b, 95))
        out.append(f"  {key:<14} {pa[0]:7.1f} {pa[1]:7.1f} {pb[0]:7.1f} {pb[1]:7.1f} "
                   f"{pa[0] / pb[0]:8.2f} {pa[1] / pb[1]:8.2f}")
    return "\n".join(out)


def run(quick: bool = False, ab: Path | None = None, profile: bool = True,
        rounds: int | None = None) -> tuple[list[Row], str]:
    n_instances = 10_000 if quick else N_INSTANCES
    url, facts, tmp, kept = loaded_db(n_instances)
    users = typical_users(facts["visible"])
    port = free_port()
    servers = [spawn(planflow_env(url, tmp), "serve", "--port", str(port),
                     log=tmp / "server.log")]
    ports = [port]
    if ab is not None:
        ports.append(free_port())
        servers.append(spawn_tree(ab, url, tmp, ports[1], tmp / "server-b.log"))
    rounds = rounds or (30 if quick else 100)
    try:
        for p in ports:
            wait_healthy(p)
        ms = measure(ports, users, rounds)
        peak_kb = vm_hwm_kb(servers[0].pid)
    finally:
        for server in servers:
            stop(server)
    for name in ("server.log", "server-b.log")[: len(servers)]:
        log = (tmp / name).read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]

    def row(metric: str, key: str, note: str = "", target: bool = True) -> Row:
        values = ms[key][0]
        p95 = percentile(values, 95)
        return Row("3 inbox at scale", metric, p95, "ms p95",
                   f"<= {TARGET_P95_MS:g}" if target else "",
                   (p95 <= TARGET_P95_MS) if target else None,
                   f"p50 {percentile(values, 50):.1f} ms; n={len(values)}"
                   + (f"; {note}" if note else ""))

    visible = sorted(facts["visible"].values())
    low, high = ms["totals"][0]
    rows = [
        Row("3 inbox at scale", "data set (bulk load)", facts["load_s"], "s", "", None,
            f"{n_instances:,} instances, {n_instances * TASKS_PER_INSTANCE:,} task rows, "
            f"{facts['open_tasks']:,} open; DB {facts['size_mb']:.0f} MB; inbox sizes "
            f"p10/p50/p90 {percentile(visible, 10)}/{percentile(visible, 50)}/"
            f"{percentile(visible, 90)}"),
        row("GET /api/v1/tasks (typical user)", "api_tasks",
            f"{len(users)} users with {low:.0f}–{high:.0f} open tasks"),
        row("GET /instances (UI, manager: all)", "mgr_list"),
        row("GET /instances (UI, typical staff)", "staff_list"),
        row("GET /tasks (UI inbox page, typical user)", "inbox"),
        row("GET /tasks/done (UI done page, typical user)", "done"),
        row("GET /instances?status&process (manager)", "mgr_filtered", "informative",
            target=False),
        row("GET /api/v1/process-instances (manager)", "api_list", "informative",
            target=False),
        Row("6 server peak RSS", "VmHWM of `planflow serve` during (3)", peak_kb / 1024, "MiB",
            "", None, "after all of (3)'s requests"),
    ]
    details = [ab_table(ms)] if ab is not None else []
    if profile:
        details.append(sql_profile(url, users[0]))
    if not kept:
        shutil.rmtree(tmp, ignore_errors=True)  # a few GB
    return rows, "\n".join(details)


def sql_profile(url: str, user: str, rounds: int = 5) -> str:
    """Where the time of each measured request goes: the same requests in process (Flask test
    client on the same database), every SQL statement timed; the slowest statements shown."""
    from sqlalchemy import event

    from engine.context import build_context
    from engine.settings import Settings
    from web import create_app

    ctx = build_context(Settings(database_url=url, secret_key="bench-secret"))
    app = create_app(context=ctx)
    timings: list[tuple[float, str]] = []

    @event.listens_for(ctx.db, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(ctx.db, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        timings.append(((time.perf_counter() - conn.info.pop("t0")) * 1000, statement))

    def ui(username: str) -> Any:
        c = app.test_client()
        page = c.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        c.post("/login", data={"username": username, "password": PASSWORD,
                               "csrf_token": token})
        return c

    api = app.test_client()
    token = api.post("/api/v1/auth/token",
                     json={"username": user, "password": PASSWORD}).get_json()["token"]
    cases = [
        (f"GET /api/v1/tasks as {user}", api, "/api/v1/tasks",
         {"Authorization": f"Bearer {token}"}),
        ("GET /instances as manager", ui("boss"), "/instances", {}),
        (f"GET /instances as {user}", ui(user), "/instances", {}),
        (f"GET /tasks (page) as {user}", ui(user), "/tasks", {}),
        (f"GET /tasks/done (page) as {user}", ui(user), "/tasks/done", {}),
    ]
    out = ["In-process breakdown (Flask test client, same database; per request, median of "
           f"{rounds}; SQL = time inside cursor.execute — SQLite computes some queries, e.g. "
           "DISTINCT, while rows are fetched, so see the function profile too):"]
    for label, client, path, headers in cases:
        client.get(path, headers=headers)  # warm
        totals, sqls, per_stmt = [], [], {}
        for _ in range(rounds):
            timings.clear()
            t0 = time.perf_counter()
            r = client.get(path, headers=headers)
            totals.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (label, r.status_code)
            sqls.append(sum(ms for ms, _ in timings))
            for ms, stmt in timings:
                per_stmt.setdefault(stmt, []).append(ms)
        out.append(f"- {label}: total {percentile(totals, 50):.1f} ms, SQL "
                   f"{percentile(sqls, 50):.1f} ms in {len(timings)} statements")
        slow = sorted(per_stmt.items(), key=lambda kv: -sum(kv[1]) / rounds)[:3]
        for stmt, mss in slow:
            text = " ".join(stmt.split())
            out.append(f"    {sum(mss) / rounds:6.1f} ms  {text[:260]}")
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(rounds):
            client.get(path, headers=headers)
        prof.disable()
        stats = pstats.Stats(prof)
        rows = []
        for (file, line, fn), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            if "/.venv/" not in file and ("/engine/" in file or "/web/" in file):
                short = file.split("/work/main/")[-1] if "/work/main/" in file else file
                rows.append((ct / rounds * 1000, f"{short}:{line}({fn})"))
        rows.sort(reverse=True)
        out.append("    function profile (cumulative ms per request, engine/ and web/ only; "
                   "profiled, so inflated): " + "; ".join(f"{name} {ms:.1f}"
                                                          for ms, name in rows[1:9]))
    ctx.db.dispose()
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="10,000 instances, fewer rounds")
    parser.add_argument("--ab", type=Path, metavar="TREE",
                        help="also serve another checkout (e.g. a git worktree of the commit "
                             "before a change) on the same database, requests interleaved")
    parser.add_argument("--rounds", type=int, help="requests per user and page (x4)")
    parser.add_argument("--no-profile", action="store_true",
                        help="skip the in-process SQL and function profile")
    args = parser.parse_args()
    emit(*run(args.quick, args.ab, not args.no_profile, args.rounds))


if __name__ == "__main__":
    main()
