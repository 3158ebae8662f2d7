"""Where a due timer's milliseconds go: seed N due `timer_once` instances (bench/timers_drain.py's
`seed`), drain them in-process with `engine.timing.timers.process_due` under cProfile, and print
the CPU ms per timer, the statements per timer (by kind), and the top functions by own and by
cumulative time, each function's share grouped by layer (SpiffWorkflow / SQLAlchemy / DB driver
/ planflow / stdlib and other).

    .venv/bin/python bench/timers_profile.py [-n 2000] [--top 25] [--no-profile] [--url URL]

`--no-profile` drains without cProfile (its overhead roughly doubles Python-heavy code): the
figure to compare between two commits. The statement counter is a `before_cursor_execute`
listener on this script's own engine, never in product code. Without `--url` a fresh SQLite file
in a temporary directory is used; a PostgreSQL URL must name an empty database.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT  # (puts the project on sys.path)
from timers_drain import seed

LAYERS = ("SpiffWorkflow", "SQLAlchemy", "DB driver", "planflow", "stdlib/other")


def layer(filename: str, name: str) -> str:
    if "SpiffWorkflow" in filename:
        return "SpiffWorkflow"
    if "sqlalchemy" in filename:
        return "SQLAlchemy"
    if "sqlite3" in filename or "psycopg" in filename or "sqlite3." in name:
        return "DB driver"
    if filename.startswith(str(ROOT)) and "/.venv/" not in filename:
        return "planflow"
    return "stdlib/other"


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    short = re.sub(r".*/(site-packages|lib/python3\.\d+)/", "", filename)
    short = short.replace(str(ROOT) + "/", "")
    return f"{short}:{line}({name})" if line else name


def _statement_kind(statement: str) -> str:
    words = statement.lstrip().split(None, 3)
    kind = words[0].upper() if words else "?"
    if kind in ("INSERT", "DELETE") and len(words) > 2:
        return f"{kind} {words[2]}"
    if kind == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1]}"
    if kind == "SELECT":
        match = re.search(r"\bFROM\s+(\w+)", statement)
        return f"SELECT {match.group(1) if match else '?'}"
    return kind


class Phases:
    """Wall seconds spent inside some functions of the path, measured by thin wrappers patched
    onto their modules for this script only (no profiler: the split as it runs). Nested
    phases overlap: `fire_due_timers` contains restore, steps and save."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:  # the path changed since this script was written: say so
            self.seconds[f"{label} (not found: {attr})"] += 0.0
            return
        seconds = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - began

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, original))

    def install(self) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow

        from engine.bpmn import serializer
        from engine.sandbox import pool
        from engine.store import instance_state, timer_rows, versioning
        from engine.store.held_audits import HeldAudits
        from engine.timing import timers
        from engine.usecases import control

        self.wrap(timers, "_run_batch", "batch (claim + wakes + commit)")
        self.wrap(timers, "_claim", "  claim")
        self.wrap(timers, "_read_rows", "  read rows")
        self.wrap(timers, "_wake", "  wake (savepoint + fire)")
        self.wrap(timers, "fire_due_timers", "    fire_due_timers")
        self.wrap(instance_state, "restore", "      restore")
        self.wrap(serializer.StateSerializer, "loads", "        state loads")
        self.wrap(control, "run_steps", "      run_steps")
        self.wrap(pool.ScriptPool, "call", "        sandbox call")
        self.wrap(control, "audit_fired", "      audit_fired")
        self.wrap(BpmnWorkflow, "do_engine_steps", "        do_engine_steps (SpiffWorkflow)")
        self.wrap(instance_state, "save", "      save")
        self.wrap(serializer.StateSerializer, "dumps", "        state dumps")
        self.wrap(versioning, "write_checked", "        instance row UPDATE")
        self.wrap(versioning, "flush_checked", "        session flush")
        self.wrap(instance_state, "sync_tasks", "        sync_tasks (+ save hooks)")
        self.wrap(timer_rows, "sync_timers", "        sync_timers")
        self.wrap(HeldAudits, "write", "        audit INSERT")

    def uninstall(self) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)

    def print(self, n: int) -> None:
        print("\nwall ms/timer by phase (no profiler; nested phases are included in their parent):")
        for label, seconds in self.seconds.items():
            print(f"  {1000 * seconds / n:7.3f}  {label}")


def drain(
    url: str, n: int, profile: bool, phases: Phases | None = None, batch: int = 0
) -> tuple[float, float, Counter[str], Any]:
    from sqlalchemy import event

    from engine.context import build_context
    from engine.settings import Settings
    from engine.store.db import make_engine
    from engine.timing.timers import process_due

    due = seed(url, n)
    time.sleep(max(0.0, due - time.time() + 0.05))
    db = make_engine(url)
    ctx = build_context(Settings(database_url=url, secret_key="bench"), db=db)
    statements: Counter[str] = Counter()

    def count(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        statements[_statement_kind(statement)] += 1

    event.listen(db, "before_cursor_execute", count)
    if phases is not None:
        phases.install()
    profiler = cProfile.Profile() if profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = process_due(ctx, limit=n, batch_size=batch or None)
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if phases is not None:
        phases.uninstall()
    if report.fired != n or report.failed:
        print(f"WARNING: fired {report.fired} of {n}; failed {len(report.failed)}")
    db.dispose()
    return cpu, wall, statements, profiler


def print_profile(profiler: cProfile.Profile, n: int, top: int) -> None:
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values())
    by_layer: Counter[str] = Counter()
    for func, (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_layer[layer(func[0], func[2])] += tt
    print(f"\nown time by layer (profiled total {1000 * total / n:.2f} ms/timer):")
    for name in LAYERS:
        share = by_layer[name]
        print(f"  {name:<14} {1000 * share / n:7.3f} ms/timer  {100 * share / total:5.1f} %")
    for title, key in (("own", 2), ("cumulative", 3)):
        print(f"\ntop {top} by {title} time (ms/timer, calls/timer, layer):")
        ranked = sorted(raw.items(), key=lambda kv: kv[1][key], reverse=True)[:top]
        for func, entry in ranked:
            print(f"  {1000 * entry[key] / n:7.3f}  {entry[1] / n:7.1f}  "
                  f"{layer(func[0], func[2]):<13} {_label(func)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="due timers (default 2000)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="time only, no cProfile")
    parser.add_argument("--url", default="", help="database URL (default: fresh SQLite file)")
    parser.add_argument("--batch", type=int, default=0, help="batch size (default: setting)")
    parser.add_argument("--phases", action="store_true",
                        help="no cProfile: wall time per phase of the path")
    parser.add_argument("--dump", default="", help="also write the raw profile to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="timers-profile-") as tmp:
        url = args.url or f"sqlite:///{tmp}/timers.sqlite3"
        phases = Phases() if args.phases else None
        profile = not (args.no_profile or args.phases)
        cpu, wall, statements, profiler = drain(url, args.n, profile, phases, args.batch)
    n = args.n
    print(f"{n} timers: CPU {1000 * cpu / n:.3f} ms/timer, wall {1000 * wall / n:.3f} ms/timer"
          f"{' (under cProfile)' if profiler else ''}")
    print(f"statements: {sum(statements.values()) / n:.2f} per timer")
    for kind, count in statements.most_common():
        print(f"  {count / n:6.2f}  {kind}")
    if phases is not None:
        phases.print(n)
    if profiler is not None:
        print_profile(profiler, n, args.top)
        if args.dump:
            profiler.dump_stats(args.dump)


if __name__ == "__main__":
    main()
