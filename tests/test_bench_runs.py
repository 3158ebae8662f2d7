"""The long-running benchmark runs, and its state stays bounded (a guard, not a timing).

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


def test_long_running_state_stays_bounded() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "long_running.py"), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("ROWS-JSON "))
    rows = {r["metric"]: r for r in json.loads(line.removeprefix("ROWS-JSON "))}
    size = rows["state size after 20 weekly loops"]
    assert size["value"] <= 150, size
    # flat once the kept iterations are in place: no task entries, ~no bytes added per week
    assert "+0.00 KB/week from week 10" in size["note"], size["note"]
