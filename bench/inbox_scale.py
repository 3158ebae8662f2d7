"""(3) Inbox and instance list at scale, and (6) the server's peak RSS meanwhile.

Loads 100,000 instances and 300,000 task rows (with their candidate-group rows) by bulk SQL
inserts into a fresh SQLite database, then serves it with the real `planflow serve` and measures
p50/p95 of
  * `GET /api/v1/tasks` (first page of the open inbox) for typical users,
  * `GET /instances` (the UI list, logged-in session) for a manager (sees all 100k) and for a
    typical staff member (sees what they started or took part in),
  * `GET /tasks` (the UI inbox page) for typical users (informative),
and the server's VmHWM (peak RSS) after all of it.

Distribution: 30 groups (the 10 department groups plus 20 project teams, all real rows of
`groups`), 300 staff in 1–2 groups each (Zipf-like group sizes), 4 process models
(project_initiation 45 %, product_launch 10 %, brand_promotion 5 %, the bench model 40 %);
88 % of instances ended, 12 % active. Each instance has 3 task rows (ended: all completed or
cancelled; active: 2 done + 1 open); open tasks: 70 % assigned to a person, 30 % offered to a
group (10 % of those to two groups), 30 % with a due date (a third of them overdue). The
`state` column holds a real serialized workflow of the same model (a started instance), so rows
have realistic size; the audit log is not filled (these pages do not read it). Tasks with a due
date count as already reminded (steady state), so the server's scheduler stays idle.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PASSWORD,
    ROOT,
    Client,
    Row,
    bench_model_copy,
    emit,
    free_port,
    make_tmp,
    percentile,
    planflow_env,
    prepare_db,
    spawn,
    stop,
    vm_hwm_kb,
    wait_healthy,
)

N_INSTANCES = 100_000
TASKS_PER_INSTANCE = 3
N_USERS = 300
TARGET_P95_MS = 30.0
DEPARTMENT_GROUPS = [
    "planning_manager", "planning_supervisor", "planning_specialist", "requester", "finance",
    "legal", "design", "sales", "tech", "executive",
]
TEAM_GROUPS = [f"team_{i:02d}" for i in range(1, 21)]
GROUPS = DEPARTMENT_GROUPS + TEAM_GROUPS
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

START_DATA = {
    "project_initiation": {
        "project_name": "Q3 旺季促销", "requirement_source": "business_department",
        "requesting_department": "销售部",
        "requirement_description": "销售部提出旺季促销需求，希望借助线上预售提升Q3销售额。",
        "initial_goal": "提升Q3销售额20%", "a_owner": "boss", "b_owner": "planner",
    },
    "product_launch": {
        "event_name": "2026 新品发布会", "theme": "科技赋能,重构未来",
        "event_date": "2026-06-12T14:00", "venue": "上海国际会议中心",
    },
    "brand_promotion": {
        "brand_positioning": "年轻化科技品牌", "target_audience": "Z世代职场新人",
        "annual_theme": "科技潮玩计划", "campaign_start": "2026-03-02", "campaign_months": 12,
        "channels": ["小红书", "B站", "行业媒体"], "target_exposure": 100000,
        "target_interaction_rate": 3, "target_search_volume": 5000,
    },
    "bench": {"amount": 5000},
}


def _zipf_weights(n: int, s: float = 0.8) -> list[float]:
    return [1 / (k ** s) for k in range(1, n + 1)]


def load(url: str, tmp: Path, seed: int = 7) -> dict[str, Any]:
    """Bulk-load the database; returns facts about the data (users, per-user inbox sizes)."""
    from sqlalchemy import insert, select

    from engine.context import build_context
    from engine.people.accounts import SYSTEM, add_group, ensure_standard_groups, hash_password
    from engine.settings import Settings
    from engine.store.db import make_engine, transaction
    from engine.store.instance_state import parsed_model
    from engine.store.tables import (
        GroupRecord,
        HumanTaskRow,
        InstanceRecord,
        MembershipRecord,
        TaskCandidateRow,
        UserRecord,
    )
    from engine.usecases.instances import start

    rng = random.Random(seed)
    began = time.perf_counter()
    prepare_db(url, tmp, bench_users=1,
               models=[bench_model_copy(tmp / "models"), ROOT / "bpmn"],
               extra_users={"boss": ["planning_manager"], "planner": ["planning_specialist"]})
    db = make_engine(url)
    ctx = build_context(Settings(database_url=url, secret_key="bench-secret"), db=db)
    with transaction(ctx.sessions) as s:
        ensure_standard_groups(s)
        for g in TEAM_GROUPS:
            if s.get(GroupRecord, g) is None:
                add_group(s, g, f"项目组{g[-2:]}", f"Project team {g[-2:]}")
    # One real instance of each model: its state and its steps are the templates.
    protos: dict[str, dict[str, Any]] = {}
    steps: dict[str, list[Any]] = {}
    with transaction(ctx.sessions) as s:
        for key, data in START_DATA.items():
            rec = start(ctx, s, SYSTEM, key, data)
            protos[key] = {c.name: getattr(rec, c.key) for c in InstanceRecord.__table__.columns}
            steps[key] = [st for st in parsed_model(ctx, s, rec.version_id).steps.values()
                          if st.element_id.startswith(("Task_", "ut"))]
        first_free = max(p["id"] for p in protos.values()) + 1
    # The bulk load writes straight into the file (no WAL, no fsync): a throwaway database.
    ctx.db.dispose()
    db = _bulk_engine(url)

    # users: 300 staff in 1-2 groups (Zipf-like group sizes); one scrypt hash for all
    pw = hash_password(PASSWORD)
    gweights = _zipf_weights(len(GROUPS))
    users: dict[str, list[str]] = {}
    for i in range(N_USERS):
        first = rng.choices(GROUPS, gweights)[0]
        groups = [first]
        if rng.random() < 0.4:
            second = rng.choices(GROUPS, gweights)[0]
            if second != first:
                groups.append(second)
        users[f"u{i:03d}"] = groups
    with db.begin() as conn:
        conn.execute(insert(UserRecord.__table__), [
            {"username": u, "display_name": f"员工{u[1:]}", "email": None, "password_hash": pw,
             "is_active": True, "is_admin": False, "created_at": NOW} for u in users])
        ids = dict(conn.execute(select(UserRecord.username, UserRecord.id)).all())
        conn.execute(insert(MembershipRecord.__table__), [
            {"user_id": ids[u], "group_name": g} for u, gs in users.items() for g in gs])

    keys = list(START_DATA)
    # product_launch states are ~155 KB each (see RESULTS.md), so launches are the rarer kind
    kweights = [0.45, 0.1, 0.05, 0.4]
    usernames = list(users)
    open_count: dict[str, int] = {u: 0 for u in usernames}
    group_open: dict[str, int] = {g: 0 for g in GROUPS}
    inst_rows: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    cand_rows: list[dict[str, Any]] = []

    def flush() -> None:
        with db.begin() as conn:
            if inst_rows:
                conn.execute(insert(InstanceRecord.__table__), inst_rows)
            if task_rows:
                conn.execute(insert(HumanTaskRow.__table__), task_rows)
            if cand_rows:
                conn.execute(insert(TaskCandidateRow.__table__), cand_rows)
        inst_rows.clear()
        task_rows.clear()
        cand_rows.clear()

    for n in range(N_INSTANCES):
        iid = first_free + n
        key = rng.choices(keys, kweights)[0]
        proto = protos[key]
        created = NOW - timedelta(minutes=rng.randint(60, 2 * 365 * 24 * 60))
        active = rng.random() < 0.12
        if active:
            status = rng.choices(["running", "waiting", "error"], [0.85, 0.1, 0.05])[0]
            completed_at = None
        else:
            status = rng.choices(["completed", "terminated"], [0.93, 0.07])[0]
            completed_at = created + timedelta(days=rng.randint(1, 60))
        starter = rng.choice(usernames)
        kst = steps[key]
        inst_rows.append({
            **proto, "id": iid, "status": status, "started_by": starter,
            "created_at": created, "updated_at": completed_at or created,
            "completed_at": completed_at, "title": f"{proto['title']} #{iid}",
            "stage": None, "lock_version": 1,
        })
        for k in range(TASKS_PER_INSTANCE):
            step = kst[(k + n) % len(kst)]
            is_open = active and k == TASKS_PER_INSTANCE - 1
            t_created = created + timedelta(hours=k * 8)
            assignee = None
            if is_open:
                assigned = rng.random() < 0.7
                assignee = rng.choice(usernames) if assigned else None
                groups = [] if assigned else [rng.choices(GROUPS, gweights)[0]]
                if not assigned and rng.random() < 0.1:
                    extra = rng.choices(GROUPS, gweights)[0]
                    if extra not in groups:
                        groups.append(extra)
                if assignee:
                    open_count[assignee] += 1
                for g in groups:
                    group_open[g] += 1
                due = None
                if rng.random() < 0.3:
                    due = NOW + timedelta(hours=rng.randint(-72, 144))
                inst_rows[-1]["stage"] = step.name
            else:
                groups = [rng.choices(GROUPS, gweights)[0]]
                due = None
            done_by = None if is_open else rng.choice(usernames)
            tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            task_rows.append({
                "id": tid, "instance_id": iid, "model_key": key, "element_id": step.element_id,
                "name": step.name, "lane": step.lane, "form_file": step.form_file,
                "assignee": assignee if is_open else done_by,
                "status": "open" if is_open else ("completed" if status != "terminated"
                                                  or k < 2 else "cancelled"),
                "due_at": due, "created_at": t_created, "claimed_at": None,
                "completed_at": None if is_open else t_created + timedelta(hours=4),
                # Reminded when it fell due, as a running server would have done: otherwise
                # the embedded scheduler spends the whole measurement sending ~3,700 reminders
                # (100k notifications) and the lists are measured against that write load.
                "completed_by": done_by, "reminded_at": due,
            })
            cand_rows.extend({"task_id": tid, "group_name": g} for g in groups)
        if len(inst_rows) >= 5000:
            flush()
    flush()
    with db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.dispose()
    with sqlite3.connect(url.split("///", 1)[1]) as raw:
        raw.execute("PRAGMA journal_mode=WAL")  # back to what planflow runs with
    load_s = time.perf_counter() - began
    # visible open tasks per user = assigned to them + offered to one of their groups
    visible = {u: open_count[u] + sum(group_open[g] for g in users[u]) for u in usernames}
    size_mb = Path(url.split("///", 1)[1]).stat().st_size / 2**20
    return {"users": users, "visible": visible, "load_s": load_s, "size_mb": size_mb,
            "open_tasks": sum(open_count.values()) + sum(group_open.values())}


def _bulk_engine(url: str) -> Any:
    from sqlalchemy import create_engine, event

    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


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


def loaded_db(quick: bool) -> tuple[str, dict[str, Any], Path, bool]:
    """(url, facts, directory, kept). PLANFLOW_BENCH_INBOX_DB=/some/inbox.sqlite3 keeps the
    loaded database (and its facts beside it) and reuses it on later runs: the load takes ~50 s,
    an A/B of one change a few seconds. Without it, a fresh database in a scratch directory."""
    keep = os.environ.get("PLANFLOW_BENCH_INBOX_DB")
    if not keep:
        tmp = make_tmp("inbox")
        url = f"sqlite:///{tmp / 'inbox.sqlite3'}"
        return url, load(url, tmp), tmp, False
    path = Path(keep).resolve()
    facts_file = path.with_name(path.name + ".facts.json")
    url = f"sqlite:///{path}"
    if path.exists() and facts_file.exists():
        facts = json.loads(facts_file.read_text())
        if facts.get("instances") == N_INSTANCES:
            return url, facts, path.parent, True
        raise SystemExit(f"{path} holds {facts.get('instances')} instances, not {N_INSTANCES}")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    facts = {**load(url, path.parent), "instances": N_INSTANCES}
    facts_file.write_text(json.dumps(facts))
    return url, facts, path.parent, True


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
    global N_INSTANCES
    if quick:
        N_INSTANCES = 10_000
    url, facts, tmp, kept = loaded_db(quick)
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
            f"{N_INSTANCES:,} instances, {N_INSTANCES * TASKS_PER_INSTANCE:,} task rows, "
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
