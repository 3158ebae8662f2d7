"""Run every benchmark and print one table; write it to bench/RESULTS.md.

    .venv/bin/python bench/run_all.py            # the full set (about 10 minutes here)
    .venv/bin/python bench/run_all.py --quick    # smaller sizes, a smoke run (not for RESULTS)
    .venv/bin/python bench/run_all.py --only 1,2 # some of them

Each benchmark runs in its own process (so one's memory or caches do not colour another's).
These are measurements, not tests: nothing here fails a build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, machine

BENCH = Path(__file__).resolve().parent
# Everything after this line in RESULTS.md is written by hand and kept by later runs.
ANALYSIS_MARKER = "<!-- analysis: written by hand, kept by run_all.py -->"
MODULES = [
    ("1", "engine_ceiling.py"),
    ("2", "http_service.py"),
    ("2b", "request_floor.py"),  # the server CPU of a request by layer, under (2)'s
    ("3", "inbox_scale.py"),  # also (6): the server's peak RSS
    ("4", "timers_drain.py"),
    ("5", "long_running.py"),
    ("7", "multiprocess.py"),  # 1 vs 2 web processes at concurrency 4 (PostgreSQL, SQLite)
]


def run_module(script: str, args: list[str]) -> tuple[list[dict], str, float]:
    began = time.monotonic()
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=ROOT,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - began
    rows: list[dict] = []
    details = ""
    for line in proc.stdout.splitlines():
        if line.startswith("ROWS-JSON "):
            rows = json.loads(line[len("ROWS-JSON "):])
        elif line.startswith("DETAILS-JSON "):
            details = json.loads(line[len("DETAILS-JSON "):])
    if proc.returncode != 0 or not rows:
        tail = (proc.stdout + proc.stderr)[-3000:]
        rows = [{"bench": script, "metric": "FAILED to run", "value": None, "unit": "",
                 "target": "", "ok": False, "note": tail.replace("\n", " ")[-300:]}]
        details = f"{script} failed (exit {proc.returncode}):\n{tail}"
    return rows, details, elapsed


def fmt_value(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def table(rows: list[dict]) -> str:
    head = ["benchmark", "metric", "value", "unit", "target", "ok", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ok = "" if r["ok"] is None else ("✅" if r["ok"] else "❌ MISS")
        cells = [r["bench"], r["metric"], fmt_value(r["value"]), r["unit"], r["target"], ok,
                 r["note"].replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    only = None
    if "--only" in argv:
        only = set(argv[argv.index("--only") + 1].split(","))
    args = ["--quick"] if quick else []
    facts = machine()
    started = datetime.now().astimezone()
    load_before = loadavg()
    all_rows: list[dict] = []
    details: list[str] = []
    ceilings: list[str] = []  # (1)'s persisting and in-memory rates, for (2)'s ratios
    for key, script in MODULES:
        if only and key not in only:
            continue
        extra = ceilings if key == "2" else []
        print(f"running ({key}) {script} …", file=sys.stderr, flush=True)
        rows, text, secs = run_module(script, args + extra)
        print(f"   done in {secs:.0f} s", file=sys.stderr, flush=True)
        if key == "1" and len(rows) == 2 and rows[0]["value"] and rows[1]["value"]:
            ceilings = [f"--ceiling={rows[0]['value']}", f"--memory-ceiling={rows[1]['value']}"]
        all_rows += rows
        if text:
            details.append(f"### ({key}) {script}\n\n```\n{text}\n```")
    load_after = loadavg()
    out = table(all_rows)
    print(out)
    header = (
        f"# planflow benchmark results\n\n"
        f"- date: {started:%Y-%m-%d %H:%M %Z}{' (QUICK run: reduced sizes)' if quick else ''}\n"
        f"- machine: nproc {facts['nproc']}, RAM {facts['ram']}, CPU {facts['cpu']}, "
        f"Python {facts['python']}\n"
        f"- git commit: {facts['commit']}\n"
        f"- load average (1/5/15 min) before: {load_before}; after: {load_after} "
        f"(other work on the machine inflates every figure; compare ratios)\n"
        f"- command: `python bench/run_all.py{' ' + ' '.join(argv) if argv else ''}`\n\n"
    )
    if not quick and not only:
        target = BENCH / "RESULTS.md"
        kept = ""
        if target.exists() and ANALYSIS_MARKER in target.read_text(encoding="utf-8"):
            kept = target.read_text(encoding="utf-8").split(ANALYSIS_MARKER, 1)[1]
        target.write_text(
            header + out + "\n\n## Details\n\n" + "\n\n".join(details) + "\n\n"
            + ANALYSIS_MARKER + (kept or "\n## Analysis\n\n(by hand: what limits the misses)\n"),
            encoding="utf-8")
        print(f"\nwritten to {BENCH / 'RESULTS.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
