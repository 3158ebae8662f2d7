"""Where a request's server CPU goes, by layer: the floor under the bench's requests.

Measured from the server processes' own CPU counters (/proc), one keep-alive client at a time,
the layers interleaved over several rounds so that the machine's noise falls on all of them:

- ``bare waitress``: a minimal WSGI app (a fixed 2 KB JSON answer) under waitress with the
  threads `planflow serve` uses: the HTTP server's own cost per request;
- ``GET /api/v1/healthz``: the real `planflow serve` on SQLite, a public endpoint that pings
  the database (Flask, the endpoint wrapper, a session and one statement);
- ``GET /api/v1/me``: the same plus the bearer-token check (one statement);
- ``bench instance, per request``: the bench model's start + 3 completions (bench/http_service.py's
  client), per request.

The differences between the lines are what each layer adds. Not a test: run it with
`.venv/bin/python bench/request_floor.py [--quick]`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Client,
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
from http_service import Worker, cpu_seconds

# the bare app: what a completion's answer weighs, give or take
_BARE_APP = textwrap.dedent("""
    import sys
    from waitress import serve
    BODY = b'{"instance": {"tasks": [' + b','.join([b'{"id": "x", "name": "y"}'] * 80) + b']}}'
    def app(environ, start_response):
        stream = environ["wsgi.input"]
        stream.read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(BODY)))])
        return [BODY]
    serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[2]), _quiet=True)
""")


def _serve_threads() -> int:
    """`planflow serve`'s default --threads, so that the bare server is configured alike."""
    from web.cli import serve

    return next(p.default for p in serve.params if p.name == "threads")


def _per_request_ms(pid: int, requests: int, run: Any) -> float:
    before = cpu_seconds(pid)
    run()
    return (cpu_seconds(pid) - before) / requests * 1000


def _gets(port: int, path: str, n: int, token: str | None = None) -> Any:
    client = Client(port, token)

    def run() -> None:
        for _ in range(n):
            status, _body = client.request("GET", path)
            assert status == 200, (path, status)
    run()  # warm-up (and a keep-alive connection)
    return run


def _posts(port: int, n: int) -> Any:
    client = Client(port)

    def run() -> None:
        for _ in range(n):
            status, _body, _resp = client.raw("POST", "/x", b'{"data": {"amount": 500}}',
                                              {"Content-Type": "application/json"})
            assert status == 200, status
    run()
    return run


def _instances(port: int, n: int) -> Any:
    worker = Worker(port, 0)

    def run() -> None:
        for i in range(n):
            worker.one_instance(i)
    run()
    return run


def measure(rounds: int, n: int) -> dict[str, list[float]]:
    tmp = make_tmp("floor")
    url = f"sqlite:///{tmp / 'floor.sqlite3'}"
    prepare_db(url, tmp, bench_users=1, models=[bench_model_copy(tmp / "models")])
    port, bare_port = free_port(), free_port()
    server = spawn(planflow_env(url, tmp), "serve", "--port", str(port), log=tmp / "server.log")
    bare_log = (tmp / "bare.log").open("wb")
    bare = subprocess.Popen([sys.executable, "-c", _BARE_APP, str(bare_port),
                             str(_serve_threads())],
                            stdout=bare_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(port)
        time.sleep(1.0)  # the bare server's start
        token_client = Client(port)
        token_client.login("req0")
        per = n // 4  # a bench instance is 4 requests
        layers = {
            "bare waitress (POST, 2 KB answer)": (bare.pid, n, _posts(bare_port, n)),
            "GET /api/v1/healthz": (server.pid, n, _gets(port, "/api/v1/healthz", n)),
            "GET /api/v1/me (token check)": (server.pid, n,
                                            _gets(port, "/api/v1/me", n, token_client.token)),
            "bench instance, per request": (server.pid, per * 4, _instances(port, per)),
        }
        seen: dict[str, list[float]] = {name: [] for name in layers}
        for _ in range(rounds):
            for name, (pid, requests, run) in layers.items():
                seen[name].append(_per_request_ms(pid, requests, run))
        return seen
    finally:
        stop(server)
        bare.terminate()
        bare.wait(timeout=10)
        bare_log.close()


def run(quick: bool = False) -> tuple[list[Row], str]:
    rounds, n = (3, 400) if quick else (5, 1200)
    seen = measure(rounds, n)
    rows = []
    for name, values in seen.items():
        ordered = sorted(values)
        median = ordered[len(ordered) // 2]
        rows.append(Row("2b request floor", f"server CPU per request: {name}", round(median, 3),
                        "ms", note=f"median of {rounds} rounds of {n} requests: "
                        + ", ".join(f"{v:.3f}" for v in values)))
    load = Path("/proc/loadavg").read_text().split()[0]
    return rows, f"load average after: {load}"


if __name__ == "__main__":
    emit(*run("--quick" in sys.argv))
