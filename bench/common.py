"""Shared pieces of the benchmarks: the bench model, a fresh database with users and groups,
the real `planflow serve` in a subprocess, keep-alive HTTP clients, percentiles, machine facts.

Every benchmark module has `run(quick: bool) -> list[Row]` and prints its rows when run alone;
`bench/run_all.py` runs them all (each in its own process) and prints one table.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_BPMN = Path("/work/shared/bench/bench.bpmn")
PASSWORD = "bench-password-1"
# The bench model's lanes are "Requester" and "Manager": groups with exactly those names.
BENCH_GROUPS = ("Requester", "Manager")


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    metric: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target (informative)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def emit(rows: list[Row], details: str = "") -> None:
    """A module run alone prints a small table, then its rows (and any details, e.g. a
    profile) as JSON for run_all."""
    if details:
        print(details)
    for r in rows:
        v = "-" if r.value is None else f"{r.value:,.2f}"
        flag = "" if r.ok is None else ("OK" if r.ok else "MISS")
        print(f"{r.bench:<28} {r.metric:<44} {v:>12} {r.unit:<8} {r.target:<12} {flag:<4} {r.note}")
    print("ROWS-JSON " + json.dumps([r.as_dict() for r in rows], ensure_ascii=False))
    if details:
        print("DETAILS-JSON " + json.dumps(details, ensure_ascii=False))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_model_copy(dest: Path) -> Path:
    """Only the .bpmn is deployed (its JSON-schema form reference is not a planflow form)."""
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "bench.bpmn"
    shutil.copy(BENCH_BPMN, target)
    return target


# --- databases ---------------------------------------------------------------------------------


def fresh_sqlite(tmp: Path, name: str = "bench.sqlite3") -> str:
    return f"sqlite:///{tmp / name}"


def prepare_db(url: str, tmp: Path, *, bench_users: int = 1, models: list[Path] | None = None,
               extra_users: dict[str, list[str]] | None = None) -> None:
    """Migrate, create the bench groups and users, deploy the given models."""
    from engine.context import build_context
    from engine.people.accounts import add_group, add_user
    from engine.settings import Settings
    from engine.store.db import transaction
    from engine.store.migrate import upgrade
    from engine.usecases.deploy import deploy, uploads_from_paths

    settings = Settings(database_url=url, secret_key="bench-secret", bpmn_dir=tmp)
    from engine.store.db import make_engine

    db = make_engine(url)
    upgrade(db)
    ctx = build_context(settings, db=db)
    with transaction(ctx.sessions) as s:
        from engine.store.tables import GroupRecord

        for key in BENCH_GROUPS:
            if s.get(GroupRecord, key) is None:
                add_group(s, key, key, key)
        now = ctx.clock.now()
        for i in range(bench_users):
            add_user(s, f"req{i}", PASSWORD, now=now, groups=["Requester"])
            add_user(s, f"mgr{i}", PASSWORD, now=now, groups=["Manager"])
        for name, groups in (extra_users or {}).items():
            add_user(s, name, PASSWORD, now=now, groups=groups)
        add_user(s, "owner", PASSWORD, now=now, groups=["process_owner"])
    if models:
        with transaction(ctx.sessions) as s:
            deploy(ctx, s, uploads_from_paths(models), "owner")
    db.dispose()


def make_tmp(prefix: str) -> Path:
    """A scratch directory, removed when the benchmark process exits (databases can be GBs);
    set PLANFLOW_BENCH_KEEP=1 to keep them for inspection."""
    path = Path(tempfile.mkdtemp(prefix=f"planflow-bench-{prefix}-"))
    if not os.environ.get("PLANFLOW_BENCH_KEEP"):
        atexit.register(shutil.rmtree, path, True)
    return path


# --- the real server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def planflow_env(db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    # The caller's PLANFLOW_* settings stay out, except the web processes' CPU choice: the
    # benchmarks measure the set-up the README recommends on a machine of planflow's own
    # (`--cpus auto`); PLANFLOW_SERVE_CPUS=off measures servers placed by the OS.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANFLOW_")}
    env.update({
        "PLANFLOW_SERVE_CPUS": os.environ.get("PLANFLOW_SERVE_CPUS", "auto"),
        "PLANFLOW_DATABASE_URL": db_url,
        "PLANFLOW_INSTANCE_DIR": str(tmp / "instance"),
        "PLANFLOW_SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(ROOT),
        **extra,
    })
    return env


def spawn(env: dict[str, str], *args: str, log: Path,
          prefix: list[str] | None = None) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    cmd = [*(prefix or []), sys.executable, "-m", "web.cli", *args]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = Client(port)
            if c.request("GET", "/api/v1/healthz")[0] == 200:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


def vm_hwm_kb(pid: int) -> int:
    """Peak resident set size of a process (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def vm_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Client:
    """One keep-alive HTTP/1.1 connection (http.client), JSON in and out."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def close(self) -> None:
        self.conn.close()

    def raw(self, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        hdrs = dict(headers or {})
        if self.token:
            hdrs.setdefault("Authorization", f"Bearer {self.token}")
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # waitress closed an idle keep-alive connection: reconnect once
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data, resp

    def request(self, method: str, path: str, body: Any = None,
                token: str | None = None) -> tuple[int, Any]:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, data, _ = self.raw(method, path, payload, headers)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode("utf-8", "replace")

    def login(self, username: str, password: str = PASSWORD) -> None:
        status, body = self.request("POST", "/api/v1/auth/token",
                                    {"username": username, "password": password})
        assert status == 201, body
        self.token = body["token"]


# --- machine facts -----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return {
        "nproc": str(os.cpu_count()),
        "ram": mem,
        "cpu": cpu,
        "python": platform.python_version(),
        "commit": commit + (" (+ uncommitted changes)" if dirty else ""),
    }
