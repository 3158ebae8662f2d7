"""(7) Several web processes: throughput at concurrency 4 for 1 vs 2 web processes.

The bench model and clients of (2) http_service.py (start + 3 completions as the right users,
keep-alive connections, 4 client threads), against:

- 1 web process: `planflow serve --no-scheduler` (waitress, the default server);
- 2 web processes: `planflow serve --processes 2` (gunicorn, web/multiprocess.py);
- informative, once: 1 process under gunicorn (the server's own cost apart from the scaling).

On PostgreSQL (a fresh database; the database server shares the machine's cores) and on SQLite
(one writer at a time across the processes). The two set-ups alternate (1, 2, 1, 2, ...) on the
same database, so the machine's noise falls on both; the ratio 2 / 1 is the figure (target
>= 1.5 on PostgreSQL on a 2-core machine). Server CPU is the sum over the server's processes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    Row,
    bench_model_copy,
    emit,
    free_port,
    make_tmp,
    planflow_env,
    prepare_db,
    spawn,
    stop,
    wait_healthy,
)
from http_service import cpu_seconds, drive

BENCH = "7 web processes"
CONCURRENCY = 4
TARGET_RATIO = 1.5
PG_ADMIN = os.environ.get("PLANFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
GUNICORN_1 = [sys.executable, "-c",
              "import sys; from web.multiprocess import serve_processes; "
              "serve_processes(host='127.0.0.1', port=int(sys.argv[1]), processes=1, threads=8)"]

SETUPS: dict[str, tuple[str, ...]] = {
    "1": ("serve", "--no-scheduler"),
    "2": ("serve", "--processes", "2"),
}


def tree_cpu(pid: int) -> float:
    """CPU seconds so far of a process and its descendants (the server's web processes, its
    script workers)."""
    try:
        total = cpu_seconds(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # it has just exited
        return 0.0
    return total + sum(tree_cpu(int(child)) for child in children)


def _spin(seconds: float, out: Any) -> None:
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        for _ in range(1000):
            n += 1
    out.put(n)


def machine_scaling(seconds: float = 2.0) -> float:
    """Pure Python CPU work in 2 processes at once against 1: what the machine gives a second
    process right now (2.0 on 2 idle cores; less while other work runs or vCPUs are shared)."""
    import multiprocessing

    def work(k: int) -> int:
        out = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=_spin, args=(seconds, out)) for _ in range(k)]
        for p in procs:
            p.start()
        total = sum(out.get() for _ in procs)
        for p in procs:
            p.join()
        return total

    return work(2) / work(1)


def postgres_cpu() -> float:
    """CPU seconds so far of every PostgreSQL server process on the machine (other databases'
    work included: the machine is shared)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name))
            except OSError:
                pass
    return total


def measure(url: str, tmp: Path, setup: str, seconds: float) -> dict[str, float]:
    """Start the server set-up, drive it at CONCURRENCY for `seconds`, stop it."""
    port = free_port()
    env = planflow_env(url, tmp, PLANFLOW_SCHEDULER="off")
    log = tmp / f"server-{setup}-{time.monotonic_ns()}.log"
    if setup == "gunicorn-1":
        proc = subprocess.Popen([*GUNICORN_1, str(port)], env=env, cwd=ROOT,
                                stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
    else:
        proc = spawn(env, *SETUPS[setup], "--port", str(port), log=log)
    try:
        wait_healthy(port)
        time.sleep(1.0)  # every web process booted (gunicorn forks them one after the other)
        cpu0, pg0, client0 = tree_cpu(proc.pid), postgres_cpu(), time.process_time()
        result = drive(port, CONCURRENCY, seconds)
        per = 1000 / (result["n"] + 3 * CONCURRENCY)  # drive's warm-up is inside the window
        result["server_cpu_ms"] = (tree_cpu(proc.pid) - cpu0) * per
        result["pg_cpu_ms"] = (postgres_cpu() - pg0) * per if url.startswith("postgres") else 0
        result["client_cpu_ms"] = (time.process_time() - client0) * per
    finally:
        stop(proc)
    text = log.read_text(errors="replace")
    result["tracebacks"] = text.count("Traceback")
    result["exit"] = proc.returncode
    return result


def compare(label: str, url: str, tmp: Path, rounds: int, seconds: float) -> list[Row]:
    runs: dict[str, list[dict[str, float]]] = {"1": [], "2": []}
    extra: dict[str, float] | None = None
    load_before = Path("/proc/loadavg").read_text().split()[0]
    machine: list[float] = []
    for r in range(rounds):
        machine.append(machine_scaling())
        for setup in ("1", "2"):
            runs[setup].append(measure(url, tmp, setup, seconds))
        if r == 0:
            extra = measure(url, tmp, "gunicorn-1", seconds)
    rate = {s: statistics.mean(x["rate"] for x in v) for s, v in runs.items()}
    ratio = rate["2"] / rate["1"]
    pair_ratios = [b["rate"] / a["rate"] for a, b in zip(runs["1"], runs["2"], strict=True)]
    rows = [_setup_row(label, "1 web process (waitress)", runs["1"]),
            _setup_row(label, "2 web processes (gunicorn)", runs["2"])]
    target = f">= {TARGET_RATIO:g}" if label == "PostgreSQL" else ""
    rows.append(Row(
        BENCH, f"{label}, c={CONCURRENCY}: ratio 2 / 1 web processes", ratio, "x", target,
        (ratio >= TARGET_RATIO) if target else None,
        "per round: " + ", ".join(f"{x:.2f}" for x in pair_ratios)
        + f"; load average {load_before} → {Path('/proc/loadavg').read_text().split()[0]}"
        + ("" if target else "; informative (SQLite: one writer at a time)")))
    if extra is not None:
        rows.append(_setup_row(label, "1 process under gunicorn (informative)", [extra]))
    rows.append(_ceiling_row(label, runs))
    scaling = statistics.mean(machine)
    rows.append(Row(BENCH, f"{label}: the machine, 2 / 1 processes of pure Python CPU work",
                    scaling, "x", "", None,
                    "before each round: " + ", ".join(f"{x:.2f}" for x in machine)
                    + f"; the web ratio is {ratio / scaling:.0%} of it"))
    return rows


def _ceiling_row(label: str, runs: dict[str, list[dict[str, float]]]) -> Row:
    """What the 2 cores allow at best, from the CPU each instance cost in this run: 1 web
    process is bound by its core (or by the 2 cores shared with the database and the clients);
    2 web processes by the 2 cores shared with them."""
    cost = {s: {k: statistics.mean(r[k] for r in v)
                for k in ("server_cpu_ms", "pg_cpu_ms", "client_cpu_ms")} for s, v in runs.items()}
    cores = os.cpu_count() or 2

    def bound(setup: str, processes: int) -> float:
        c = cost[setup]
        every = c["server_cpu_ms"] + c["pg_cpu_ms"] + c["client_cpu_ms"]
        return min(1000 * min(processes, cores) / c["server_cpu_ms"], 1000 * cores / every)

    ceiling = bound("2", 2) / bound("1", 1)
    parts = {s: "/".join(f"{c[k]:.0f}" for k in ("server_cpu_ms", "pg_cpu_ms", "client_cpu_ms"))
             for s, c in cost.items()}
    return Row(BENCH, f"{label}, c={CONCURRENCY}: CPU ceiling of the ratio on {cores} cores",
               ceiling, "x", "", None,
               f"ms of CPU per instance, web server / PostgreSQL / clients: 1 process {parts['1']}"
               f", 2 processes {parts['2']}; bounds {bound('1', 1):.1f} and {bound('2', 2):.1f}"
               " inst/s with nothing else running")


def _setup_row(label: str, what: str, runs: list[dict[str, float]]) -> Row:
    rate = statistics.mean(r["rate"] for r in runs)
    p50 = statistics.mean(r["p50"] for r in runs)
    p95 = statistics.mean(r["p95"] for r in runs)
    cpu = statistics.mean(r["server_cpu_ms"] for r in runs)
    pg = statistics.mean(r["pg_cpu_ms"] for r in runs)
    client = statistics.mean(r["client_cpu_ms"] for r in runs)
    rates = ", ".join(f"{r['rate']:.1f}" for r in runs)
    bad = sum(r["tracebacks"] for r in runs) + sum(1 for r in runs if r["exit"] != 0)
    note = (f"n={sum(int(r['n']) for r in runs)} in {len(runs)} run(s) "
            f"({rates} inst/s); request p50 {p50:.1f} / "
            f"p95 {p95:.1f} ms; CPU per instance: server {cpu:.0f} ms (all its processes)"
            + (f", PostgreSQL {pg:.0f} ms" if pg else "") + f", clients {client:.0f} ms"
            + (f"; {bad} traceback(s) or non-zero exit(s)" if bad else ""))
    return Row(BENCH, f"{label}, c={CONCURRENCY}: {what}", rate, "inst/s", "", None, note)


def _pg_database() -> tuple[str, Any]:
    from sqlalchemy import text

    from engine.store.db import make_engine

    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"planflow_bench_mp_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, (admin, name)


def _drop_pg(handle: Any) -> None:
    from sqlalchemy import text

    admin, name = handle
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def run(quick: bool = False, only: str = "") -> tuple[list[Row], str]:
    rounds, seconds = (1, 5.0) if quick else (3, 15.0)
    rows: list[Row] = []
    if only != "sqlite":
        try:
            url, handle = _pg_database()
        except Exception as exc:  # PostgreSQL not reachable: say so
            rows.append(Row(BENCH, "PostgreSQL", None, "", f">= {TARGET_RATIO:g}", None,
                            f"SKIPPED: {exc.__class__.__name__}: {exc}"[:200]))
        else:
            try:
                tmp = make_tmp("mp-pg")
                prepare_db(url, tmp, bench_users=CONCURRENCY,
                           models=[bench_model_copy(tmp / "models")])
                rows += compare("PostgreSQL", url, tmp, rounds, seconds)
            finally:
                _drop_pg(handle)
    if only != "pg":
        tmp = make_tmp("mp-sqlite")
        url = f"sqlite:///{tmp / 'mp.sqlite3'}"
        prepare_db(url, tmp, bench_users=CONCURRENCY, models=[bench_model_copy(tmp / "models")])
        rows += compare("SQLite", url, tmp, rounds, seconds)
    return rows, ""


if __name__ == "__main__":
    # --only pg|sqlite runs one of the two comparisons.
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    emit(*run("--quick" in sys.argv, only))
