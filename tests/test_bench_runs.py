"""The benchmarks still run: the long-running one's state stays bounded, and the service one
reports every figure issue 16 sets a target for (guards, never timings).

bench/ holds measurements, not tests, so a bench that stopped running went unnoticed for weeks
(its start data became invalid) and with it a regression: the weekly-report loops grew the
engine state by ~6 KB a week. This runs `bench/long_running.py --quick` (20 weekly loops of the
real project model through the engine) and checks the sizes it reports — bytes and task entries,
never milliseconds, so a busy machine cannot fail it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rows(script: str, *args: str) -> dict[str, dict]:
    """The rows `bench/<script> --quick` prints, by metric."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("ROWS-JSON "))
    return {r["metric"]: r for r in json.loads(line.removeprefix("ROWS-JSON "))}


def test_long_running_state_stays_bounded() -> None:
    size = _rows("long_running.py")["state size after 20 weekly loops"]
    assert size["value"] <= 150, size
    # flat once the kept iterations are in place: no task entries, ~no bytes added per week
    assert "+0.00 KB/week from week 10" in size["note"], size["note"]


def test_the_service_benchmark_reports_each_target_of_issue_16() -> None:
    """(1) measures both engine ceilings and (2) reports the server's CPU per instance and its
    rate against each, with the targets beside them (presence and sense, never the timings)."""
    ceilings = _rows("engine_ceiling.py")
    persisting = ceilings["instances/s (restore/save around each user task)"]["value"]
    memory = ceilings["instances/s (in memory: one workflow object, never saved)"]["value"]
    assert 0 < persisting < memory  # restoring and saving costs something
    service = _rows("http_service.py", f"--ceiling={persisting}", f"--memory-ceiling={memory}")
    cpu = service["concurrency 1: server CPU per instance"]
    assert cpu["target"] == "<= 12" and cpu["value"] > 0 and cpu["ok"] == (cpu["value"] <= 12)
    rate = service["concurrency 1: instances/s"]["value"]
    for name, reference, target in (("persisting", persisting, ">= 0.5"),
                                    ("in-memory", memory, ">= 0.25")):
        ratio = service[f"concurrency 1: ratio to the {name} engine ceiling (1)"]
        assert ratio["target"] == target
        assert abs(ratio["value"] - rate / reference) < 1e-9
