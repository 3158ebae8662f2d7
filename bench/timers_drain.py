"""(4) Timers: 10,000 timers due at once → drain time and duplicates.

One real `timer_once` instance is started (timer due 2 s later), then 9,999 copies of its row
and its timer row are bulk-inserted with the same due time (then ANALYZE). Once due, the real worker
processes start (`planflow worker`: one on SQLite, two on PostgreSQL, default settings) and
we wait until every instance is completed. Drain time = from starting the workers until the
last instance completed (worker start-up included). Duplicates = timer firings beyond one per
instance (audit `timer_fired`), must be 0. Targets: SQLite with one worker
<= 20 s (the issue's target); PostgreSQL with two workers <= 30 s (not in the issue: this
benchmark's own earlier target, kept for it).

The workers wake due timers in batches (engine.timing.timers; `BENCH_TIMER_BATCH=n` sets their batch
size). The note gives the workers' CPU seconds: on a shared machine the wall time says how much
CPU they were given, the CPU figure what the drain costs. It counts the worker processes only;
their script sandbox processes (engine.sandbox.pool: a script task runs there) are given apart,
as "sandbox CPU". `--only sqlite|pg` runs one drain.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    Row,
    emit,
    make_tmp,
    planflow_env,
    spawn,
    stop,
)

N = 10_000
# The target is for SQLite with one worker; PostgreSQL's is this benchmark's own.
TARGET_S = {"sqlite": 20.0, "pg": 30.0}
TIMER_MODEL = ROOT / "tests" / "fixtures" / "models_extra" / "timer_once.bpmn"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
# Timers per transaction for the workers (PLANFLOW_TIMER_BATCH_SIZE); unset: the default.
BATCH = os.environ.get("BENCH_TIMER_BATCH", "")


def seed(url: str, n: int) -> float:
    """Deploy, start one real instance, bulk-copy it; returns the due time (epoch seconds)."""
    from sqlalchemy import insert, select

    from engine.context import build_context
    from engine.people.accounts import SYSTEM
    from engine.settings import Settings
    from engine.store.db import make_engine, transaction
    from engine.store.migrate import upgrade
    from engine.store.tables import InstanceRecord, TimerRow
    from engine.usecases.deploy import deploy, uploads_from_paths
    from engine.usecases.instances import start

    db = make_engine(url)
    upgrade(db)
    ctx = build_context(Settings(database_url=url, secret_key="bench"), db=db)
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([TIMER_MODEL]), "owner")
    with transaction(ctx.sessions) as s:
        first = start(ctx, s, SYSTEM, "timer_once", {"delay": "PT2S"})
        proto = {c.name: getattr(first, c.key) for c in InstanceRecord.__table__.columns}
        timer = s.scalars(select(TimerRow).where(TimerRow.instance_id == first.id)).one()
        due = timer.due_at
    with db.begin() as conn:
        for lo in range(1, n, 2000):
            rows = [{**proto, "id": first.id + i} for i in range(lo, min(n, lo + 2000))]
            conn.execute(insert(InstanceRecord.__table__), rows)
            conn.execute(insert(TimerRow.__table__), [
                {"instance_id": r["id"], "task_id": timer.task_id, "element_id": "wait",
                 "kind": "timer", "due_at": due} for r in rows])
    # Fresh planner statistics, as autovacuum/autoanalyze would have after such inserts.
    # (Without them PostgreSQL plans the workers' claim query as a hash join + sort of every
    # due row: ~20 ms per claim at 10,000 due timers instead of 0.06 ms — see RESULTS.md.)
    with db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.dispose()
    return due.timestamp()


def drain(url: str, tmp: Path, workers: int, n: int) -> dict[str, float]:
    from sqlalchemy import func, select

    from engine.store.db import make_engine
    from engine.store.tables import AuditRecord, InstanceRecord

    due = seed(url, n)
    time.sleep(max(0.0, due - time.time() + 0.05))
    env = planflow_env(url, tmp, **({"PLANFLOW_TIMER_BATCH_SIZE": BATCH} if BATCH else {}))
    began = time.monotonic()
    procs = [spawn(env, "worker", log=tmp / f"worker{i}.log") for i in range(workers)]
    db = make_engine(url)
    done, total = 0, n
    progress: list[tuple[float, int]] = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with db.connect() as conn:
                done = conn.scalar(select(func.count()).where(
                    InstanceRecord.__table__.c.status == "completed")) or 0
            progress.append((time.monotonic() - began, done))
            if done >= total:
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - began
    finally:
        cpu = sum(_cpu_seconds(p.pid) for p in procs)
        sandbox = sum(_cpu_seconds(c) for p in procs for c in _descendants(p.pid))
        for p in procs:
            stop(p)
    with db.connect() as conn:
        fired = conn.execute(
            select(AuditRecord.instance_id, func.count())
            .where(AuditRecord.action == "timer_fired").group_by(AuditRecord.instance_id)
        ).all()
    db.dispose()
    logs = "".join((tmp / f"worker{i}.log").read_text(errors="replace") for i in range(workers))
    def at(fraction: float) -> float:
        return next((t for t, d in progress if d >= fraction * n), elapsed)

    first = at(0.05)  # workers up and firing
    return {
        "first_s": first,
        "early_rate": 0.25 * n / max(1e-9, at(0.30) - at(0.05)),
        "late_rate": 0.25 * n / max(1e-9, at(1.0) - at(0.75)),
        "elapsed": elapsed,
        "done": done,
        "fired_instances": len(fired),
        "duplicates": sum(c - 1 for _, c in fired if c > 1),
        "tracebacks": logs.count("Traceback"),
        "worker_cpu": cpu,
        "sandbox_cpu": sandbox,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux): on a busy machine the drain's wall time
    mostly says how much CPU the workers were given; this says how much they needed."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux), e.g. a worker's script sandbox processes."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out += children
        todo += children
    return out


def _pg_database() -> tuple[str, object]:
    from sqlalchemy import text

    from engine.store.db import make_engine

    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"planflow_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, (admin, name)


def _drop_pg(handle: object) -> None:
    from sqlalchemy import text

    admin, name = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def run(quick: bool = False, only: str = "") -> tuple[list[Row], str]:
    n = 2000 if quick else N
    rows = []
    if only != "pg":
        tmp = make_tmp("timers-sqlite")
        r = drain(f"sqlite:///{tmp / 'timers.sqlite3'}", tmp, 1, n)
        rows += _rows("SQLite, 1 worker", r, n, TARGET_S["sqlite"])
    if only == "sqlite":
        return rows, ""
    try:
        url, handle = _pg_database()
    except Exception as exc:  # PostgreSQL not reachable: say so
        rows.append(Row("4 timers", "PostgreSQL, 2 workers", None, "", f"<= {TARGET_S['pg']:g} s",
                        None, f"SKIPPED: {exc.__class__.__name__}: {exc}"[:200]))
        return rows, ""
    try:
        tmp = make_tmp("timers-pg")
        r = drain(url, tmp, 2, n)
        rows += _rows("PostgreSQL, 2 workers", r, n, TARGET_S["pg"])
    finally:
        _drop_pg(handle)
    return rows, ""


def _rows(label: str, r: dict[str, float], n: int, target: float) -> list[Row]:
    ok = r["done"] == n
    note = (f"{r['done']:,}/{n:,} completed; {n / r['elapsed']:.0f} timers/s overall "
            f"(5-30 %: {r['early_rate']:.0f}/s, last 25 %: {r['late_rate']:.0f}/s); 5 % done "
            f"after {r['first_s']:.1f} s; worker CPU {r['worker_cpu']:.1f} s "
            f"({1000 * r['worker_cpu'] / n:.2f} ms/timer; sandbox CPU "
            f"{1000 * r['sandbox_cpu'] / n:.2f} ms/timer); batch {BATCH or 'default'}; "
            f"worker tracebacks {r['tracebacks']}")
    return [
        Row("4 timers", f"{label}: drain {n:,} due timers", r["elapsed"], "s",
            f"<= {target:g}", ok and r["elapsed"] <= target, note),
        Row("4 timers", f"{label}: duplicate firings", r["duplicates"], "",
            "0", r["duplicates"] == 0 and r["fired_instances"] == r["done"],
            f"{r['fired_instances']:,} instances fired"),
    ]


if __name__ == "__main__":
    # --only sqlite|pg runs one of the two drains.
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    emit(*run("--quick" in sys.argv, only))
