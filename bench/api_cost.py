"""Per-request cost of start and complete through the Flask app (no network), on SQLite.

Prints the median and p95 in milliseconds, the median CPU time of the request's thread and
the SQL statements per request (counted with a
`before_cursor_execute` listener; BEGIN/COMMIT are not cursor statements and not counted).
Not a test: run it with `.venv/bin/python bench/api_cost.py [N] [--sql] [--profile]`.
`--sql` lists the statements of one start and one completion; `--profile` prints a cProfile
of all measured requests (engine/ and web/ lines first).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from engine.context import build_context  # noqa: E402
from engine.people.accounts import add_user  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.store.db import transaction  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.usecases.deploy import deploy, uploads_from_paths  # noqa: E402
from web import create_app  # noqa: E402


class StatementLog:
    """Statements run through the engine while `on` is set."""

    def __init__(self) -> None:
        self.on = False
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.on:
            self.statements.append(statement)

    def take(self) -> list[str]:
        out, self.statements = self.statements, []
        return out


def main(n: int = 200, show_sql: bool = False, profile: bool = False) -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.sqlite3'}", secret_key="bench")
    ctx = build_context(settings)
    upgrade(ctx.db)
    with transaction(ctx.sessions) as s:
        add_user(s, "alice", "bench-password", now=ctx.clock.now(),
                 groups=["planning_specialist"])
        add_user(s, "mgr", "bench-password", now=ctx.clock.now(), groups=["planning_manager"])
        deploy(ctx, s, uploads_from_paths([ROOT / "tests" / "fixtures" / "models"]), "bench")
    client = create_app({"TESTING": True}, context=ctx).test_client()
    log = StatementLog()
    event.listen(ctx.db, "before_cursor_execute", log)
    prof = cProfile.Profile() if profile else None

    def token(user: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", json={"username": user, "password": "bench-password"})
        return {"Authorization": f"Bearer {r.get_json()['token']}"}

    def timed(kind: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        log.take()
        log.on = True
        if prof:
            prof.enable()
        t0, c0 = time.perf_counter(), time.thread_time()
        r = client.post(path, headers=headers, json=body)
        ms[kind].append((time.perf_counter() - t0) * 1000)
        cpu[kind].append((time.thread_time() - c0) * 1000)
        if prof:
            prof.disable()
        log.on = False
        sql[kind].append(log.take())
        assert r.status_code in (200, 201), r.get_json()
        return r.get_json()

    alice, mgr = token("alice"), token("mgr")
    ms: dict[str, list[float]] = {"start": [], "complete": [], "complete last": []}
    cpu: dict[str, list[float]] = {k: [] for k in ms}
    sql: dict[str, list[list[str]]] = {k: [] for k in ms}
    for i in range(n):
        inst = timed("start", "/api/v1/process-instances", alice,
                     {"process": "approval_demo", "data": {"title": f"bench {i}", "amount": 5000}})
        task = inst["open_tasks"][0]["id"]
        reply = timed("complete", f"/api/v1/tasks/{task}/complete", alice,
                      {"data": {"description": "bench"}})
        review = reply["instance"]["open_tasks"][0]["id"]
        timed("complete last", f"/api/v1/tasks/{review}/complete", mgr,
              {"data": {"decision": "approve"}})

    def q(xs: list[float], p: float) -> float:
        return sorted(xs)[int(p / 100 * (len(xs) - 1))]

    print(f"SQLite, Flask test client, approval_demo, n={n}")
    # CPU time of the request's thread: steadier than wall time on a shared machine.
    print(f"{'request':<14} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>7} {'statements':>11}")
    for kind, xs in ms.items():
        counts = [len(s) for s in sql[kind]]
        print(f"{kind:<14} {statistics.median(xs):>10.2f} {q(xs, 95):>8.2f} "
              f"{statistics.median(cpu[kind]):>7.2f} {statistics.median(counts):>11.0f}")
    if show_sql:
        for kind, runs in sql.items():
            print(f"\n{kind}: {len(runs[-1])} statements")
            for statement in runs[-1]:
                print("   ", " ".join(statement.split())[:150])
    if prof:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(r"(engine|web)/", 40)
        stats.sort_stats("tottime").print_stats(20)
        print(out.getvalue().replace(str(ROOT) + "/", ""))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 200, "--sql" in sys.argv, "--profile" in sys.argv)
