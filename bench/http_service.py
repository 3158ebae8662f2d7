"""(2) The service over HTTP: the real `planflow serve` (waitress) on loopback with a fresh SQLite
database; clients start bench instances and complete the 3 user tasks through the JSON API as
the right users (the next task comes from the `open_tasks` of each response), with keep-alive
connections (`http.client`), at concurrency 1 and 4 (threads).

Reports instances/s, p50/p95 ms per request and the ratio to the engine ceiling (1), measured
in the same run. `--profile` (also part of run_all) serves the same app in-process under
waitress with a per-request cProfile middleware at concurrency 1 and prints the top costs.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PASSWORD,
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
    wait_healthy,
)

# Issue 16's targets: instances/s over HTTP against the engine's own ceilings (1), measured in
# the same run, and the server's CPU per instance at concurrency 1 (its own /proc counters).
TARGET_RATIO = 0.5  # of the persisting ceiling (restore/save around each user task)
TARGET_MEMORY_RATIO = 0.25  # of the in-memory ceiling
TARGET_CPU_MS = 12.0


class Worker:
    """One client thread: its own keep-alive connection and a requester + manager token."""

    def __init__(self, port: int, index: int) -> None:
        self.client = Client(port)
        self.req = self._token(f"req{index}")
        self.mgr = self._token(f"mgr{index}")
        self.latencies: list[float] = []
        self.by_kind: dict[str, list[float]] = {"start": [], "complete": []}
        self.done = 0

    def _token(self, user: str) -> str:
        status, body = self.client.request("POST", "/api/v1/auth/token",
                                           {"username": user, "password": PASSWORD})
        assert status == 201, body
        return body["token"]

    def _call(self, kind: str, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        t0 = time.perf_counter()
        status, reply = self.client.request("POST", path, body, token=token)
        ms = (time.perf_counter() - t0) * 1000
        assert status in (200, 201), (status, reply)
        self.latencies.append(ms)
        self.by_kind[kind].append(ms)
        return reply

    def one_instance(self, i: int) -> None:
        amount = 500 if i % 2 else 5000
        inst = self._call("start", "/api/v1/process-instances",
                          {"process": "bench", "data": {"amount": amount}}, self.req)
        [t1] = inst["open_tasks"]
        assert t1["element_id"] == "ut1", t1
        reply = self._call("complete", f"/api/v1/tasks/{t1['id']}/complete",
                           {"data": {"amount": amount}}, self.req)
        [t2] = reply["instance"]["open_tasks"]
        reply = self._call("complete", f"/api/v1/tasks/{t2['id']}/complete",
                           {"data": {"reviewed": True}}, self.mgr)
        [t3] = reply["instance"]["open_tasks"]
        reply = self._call("complete", f"/api/v1/tasks/{t3['id']}/complete",
                           {"data": {"approved": True}}, self.mgr)
        assert reply["instance"]["status"] == "completed", reply["instance"]["status"]
        self.done += 1


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (and its threads) so far."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(port: int, concurrency: int, seconds: float,
          server_pid: int | None = None) -> dict[str, float]:
    workers = [Worker(port, i) for i in range(concurrency)]
    for w in workers:  # warm-up: spec cache, compile cache, connections
        for i in range(3):
            w.one_instance(i)
        w.latencies.clear()
        w.by_kind = {"start": [], "complete": []}
        w.done = 0
    stop_at = time.perf_counter() + seconds
    errors: list[BaseException] = []

    def loop(w: Worker) -> None:
        i = 0
        try:
            while time.perf_counter() < stop_at:
                w.one_instance(i)
                i += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    began = time.perf_counter()
    cpu_before = cpu_seconds(server_pid)
    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    server_cpu = cpu_seconds(server_pid) - cpu_before
    for w in workers:
        w.client.close()
    if errors:
        raise errors[0]
    lat = [x for w in workers for x in w.latencies]
    starts = [x for w in workers for x in w.by_kind["start"]]
    completes = [x for w in workers for x in w.by_kind["complete"]]
    done = sum(w.done for w in workers)
    return {
        "server_cpu_ms": server_cpu / max(1, done) * 1000,
        "rate": done / elapsed,
        "n": done,
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "start_p50": percentile(starts, 50),
        "complete_p50": percentile(completes, 50),
    }


def serve_and_drive(seconds: float) -> dict[int, dict[str, float]]:
    tmp = make_tmp("http")
    url = f"sqlite:///{tmp / 'http.sqlite3'}"
    prepare_db(url, tmp, bench_users=4, models=[bench_model_copy(tmp / "models")])
    port = free_port()
    env = planflow_env(url, tmp)
    server = spawn(env, "serve", "--port", str(port), log=tmp / "server.log")
    try:
        wait_healthy(port)
        return {c: drive(port, c, seconds, server.pid) for c in (1, 4)}
    finally:
        stop(server)
        log = (tmp / "server.log").read_text(errors="replace")
        if "Traceback" in log:
            print(log[-4000:], file=sys.stderr)


# --- profile ------------------------------------------------------------------------------------


def profile(seconds: float = 8.0, top: int = 25) -> str:
    """Serve the app in-process (waitress, same config as `planflow serve`) with a cProfile
    middleware around each request; drive it at concurrency 1; report the top costs."""
    from waitress.server import create_server

    from engine.context import build_context
    from engine.settings import Settings
    from web import create_app

    tmp = make_tmp("http-prof")
    url = f"sqlite:///{tmp / 'prof.sqlite3'}"
    prepare_db(url, tmp, bench_users=1, models=[bench_model_copy(tmp / "models")])
    ctx = build_context(Settings(database_url=url, secret_key="bench-secret"))
    flask_app = create_app(context=ctx)
    prof = cProfile.Profile()
    app_ms: list[float] = []
    # SQL statements per request kind (concurrency 1: one request at a time).
    statements = [0]
    per_kind: dict[str, list[int]] = {"start": [], "complete": []}

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(ctx.db, "before_cursor_execute", count)

    def profiled(environ, start_response):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        statements[0] = 0
        prof.enable()
        try:
            return list(flask_app(environ, start_response))
        finally:
            prof.disable()
            app_ms.append((time.perf_counter() - t0) * 1000)
            path = environ.get("PATH_INFO", "")
            kind = "complete" if path.endswith("/complete") else (
                "start" if path.endswith("/process-instances") else "")
            if kind:
                per_kind[kind].append(statements[0])

    port = free_port()
    server = create_server(profiled, host="127.0.0.1", port=port, threads=8, ident="planflow")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_healthy(port)
        prof = cProfile.Profile()  # forget the health checks
        app_ms.clear()
        result = drive(port, 1, seconds)
    finally:
        server.close()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(15)
    share = percentile(app_ms, 50)
    counts = ", ".join(f"{k} {percentile([float(x) for x in v], 50):.0f}"
                       for k, v in per_kind.items() if v)
    head = (
        f"Profile of the HTTP benchmark at concurrency 1 (in-process waitress + cProfile "
        f"middleware; profiling slows it): {result['rate']:.1f} inst/s, p50 request "
        f"{result['p50']:.1f} ms of which {share:.1f} ms inside the WSGI app (p50). "
        f"SQL statements per request (p50): {counts}.\n"
    )
    return head + "Own time by layer:\n" + split(stats) + "\n\n" + _trim(out.getvalue())


CATEGORIES = (
    ("SpiffWorkflow (engine)", ("SpiffWorkflow/", "RestrictedPython/")),
    ("SQL (SQLAlchemy + driver)", ("sqlalchemy/", "sqlite3", "psycopg")),
    ("Flask + WSGI", ("flask/", "werkzeug/", "waitress/", "jinja2/")),
    ("JSON + schemas", ("json/", "pydantic", "orjson")),
    ("planflow (own code)", ("/engine/", "/web/", "/handlers/")),
)


def split(stats: pstats.Stats) -> str:
    """Own time (tottime) per layer: where a request's CPU goes."""
    totals: dict[str, float] = {}
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        where = filename if filename != "~" else name
        label = next((cat for cat, keys in CATEGORIES if any(k in where for k in keys)),
                     "other (stdlib, uuid, hashing …)")
        totals[label] = totals.get(label, 0.0) + row[2]
    whole = sum(totals.values()) or 1.0
    return "\n".join(f"  {label:<32} {secs * 1000:8.0f} ms  {secs / whole:5.0%}"
                     for label, secs in sorted(totals.items(), key=lambda kv: -kv[1]))


def _trim(text: str) -> str:
    root = str(Path(__file__).resolve().parent.parent) + "/"
    venv = ".venv/lib/python3.11/site-packages/"
    lines = []
    for line in text.splitlines():
        line = line.replace(root, "")
        line = line.replace(venv, "").replace("/root/.pyenv/versions/3.11.7/lib/python3.11/", "")
        lines.append(line.rstrip())
    return "\n".join(lines)


def run(quick: bool = False, ceiling: float | None = None,
        memory: float | None = None) -> tuple[list[Row], str]:
    if ceiling is None or memory is None:
        from engine_ceiling import measure

        measured = measure(2.0 if quick else 6.0)
        ceiling, memory = measured[0], measured[3]
    results = serve_and_drive(5.0 if quick else 20.0)
    rows = []
    for c, r in results.items():
        cpu = r["server_cpu_ms"]
        rows.append(Row("2 service over HTTP", f"concurrency {c}: instances/s", r["rate"],
                        "inst/s", "", None,
                        f"n={r['n']}; 4 requests per instance (engine ceilings: persisting "
                        f"{1000 / ceiling:.1f} ms, in memory {1000 / memory:.1f} ms per "
                        f"instance)"))
        rows.append(Row("2 service over HTTP", f"concurrency {c}: server CPU per instance",
                        cpu, "ms", f"<= {TARGET_CPU_MS:.0f}" if c == 1 else "",
                        cpu <= TARGET_CPU_MS if c == 1 else None,
                        f"{cpu / 4:.2f} ms per request; from the server process's /proc"
                        + ("" if c == 1 else "; informative (threads contend for one core)")))
        for name, reference, target in (("persisting", ceiling, TARGET_RATIO),
                                        ("in-memory", memory, TARGET_MEMORY_RATIO)):
            ratio = r["rate"] / reference
            rows.append(Row("2 service over HTTP",
                            f"concurrency {c}: ratio to the {name} engine ceiling (1)",
                            ratio, "x", f">= {target}", ratio >= target,
                            f"{r['rate']:.1f} / {reference:.0f} inst/s"))
        rows.append(Row("2 service over HTTP", f"concurrency {c}: request p50 / p95",
                        r["p50"], "ms", "", None,
                        f"p95 {r['p95']:.1f} ms; start p50 {r['start_p50']:.1f}, complete p50 "
                        f"{r['complete_p50']:.1f}"))
    details = profile(4.0 if quick else 8.0)
    return rows, details


if __name__ == "__main__":
    if "--profile" in sys.argv:
        print(profile())
    else:
        given = {a.split("=", 1)[0]: float(a.split("=", 1)[1])
                 for a in sys.argv if a.startswith(("--ceiling=", "--memory-ceiling="))}
        emit(*run("--quick" in sys.argv, given.get("--ceiling"), given.get("--memory-ceiling")))
