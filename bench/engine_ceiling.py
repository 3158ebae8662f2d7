"""(1) Engine ceiling: SpiffWorkflow alone, in process, on the common bench model.

Two references for the service benchmark (2), both with the restricted script engine
(`build_context(...).environment` in a `PlanflowScriptEngine`), no database, no HTTP:

- persisting: create, run to the first user task, save; then for each of the 3 user tasks
  restore → complete → run → save, with planflow's own `StateSerializer` (spec kept apart);
- in memory: one workflow object from start to end, never saved (issue 16's "in-memory engine
  ceiling"; the service must restore and save, so this is the stricter reference).

Result: instances/s of each, alternated over rounds so that the machine's noise falls on both.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_BPMN, Row, emit, make_tmp


def _setup():  # type: ignore[no-untyped-def]
    from engine.bpmn.runtime import PlanflowScriptEngine
    from engine.bpmn.specs import SourceFile, parse_model
    from engine.context import build_context
    from engine.settings import Settings
    from engine.store.migrate import upgrade

    tmp = make_tmp("ceiling")
    url = f"sqlite:///{tmp / 'ceiling.sqlite3'}"
    from engine.store.db import make_engine

    db = make_engine(url)
    upgrade(db)  # build_context reads the working-day calendar
    ctx = build_context(Settings(database_url=url, secret_key="bench"), db=db)
    model = parse_model(
        "bench.bpmn", {"bench.bpmn": SourceFile("bench.bpmn", "bpmn", BENCH_BPMN.read_text())},
        validate_xsd=False,
    )

    def no_services(task, name, params):  # type: ignore[no-untyped-def]
        raise AssertionError("the bench model has no service tasks")

    engine = PlanflowScriptEngine(ctx.environment, no_services, ctx.settings.zone)
    return ctx, model, engine


def one_instance(ctx, model, engine, i: int) -> None:  # type: ignore[no-untyped-def]
    from engine.bpmn.runtime import complete_human_task, new_workflow, ready_human_tasks, run_steps

    serializer, clock = ctx.serializer, ctx.clock
    workflow = new_workflow(model, engine, {"amount": 500 if i % 2 else 5000})
    run_steps(workflow, clock)
    state = serializer.dumps(workflow)
    forms = ({"amount": 500 if i % 2 else 5000}, {"reviewed": True}, {"approved": True})
    for data in forms:
        workflow = serializer.loads(state, model.spec, model.subprocess_specs)
        workflow.script_engine = engine  # not serialized: re-attach after every restore
        [task] = ready_human_tasks(workflow)
        result = complete_human_task(workflow, task, data, clock)
        assert result.incident is None, result.incident
        state = serializer.dumps(workflow)
    assert workflow.is_completed()
    assert workflow.data.get("status") == "approved"


def one_in_memory(ctx, model, engine, i: int) -> None:  # type: ignore[no-untyped-def]
    from engine.bpmn.runtime import complete_human_task, new_workflow, ready_human_tasks, run_steps

    amount = 500 if i % 2 else 5000
    workflow = new_workflow(model, engine, {"amount": amount})
    run_steps(workflow, ctx.clock)
    for data in ({"amount": amount}, {"reviewed": True}, {"approved": True}):
        [task] = ready_human_tasks(workflow)
        result = complete_human_task(workflow, task, data, ctx.clock)
        assert result.incident is None, result.incident
    assert workflow.is_completed()
    assert workflow.data.get("status") == "approved"


def _rate(one, ctx, model, engine, seconds: float) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    n, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        one(ctx, model, engine, n)
        n += 1
    return n, time.perf_counter() - began


def measure(seconds: float = 5.0, rounds: int = 3) -> tuple[float, int, float, float, int]:
    """(persisting inst/s, its n, state KB at the 1st task, in-memory inst/s, its n)."""
    ctx, model, engine = _setup()
    for i in range(50):  # warm the compile cache
        one_instance(ctx, model, engine, i)
        one_in_memory(ctx, model, engine, i)
    n = mem_n = 0
    elapsed = mem_elapsed = 0.0
    for _ in range(rounds):
        done, took = _rate(one_instance, ctx, model, engine, seconds / rounds)
        n, elapsed = n + done, elapsed + took
        done, took = _rate(one_in_memory, ctx, model, engine, seconds / rounds)
        mem_n, mem_elapsed = mem_n + done, mem_elapsed + took
    # state size at the first user task, for reference
    from engine.bpmn.runtime import new_workflow, run_steps

    wf = new_workflow(model, engine, {"amount": 5000})
    run_steps(wf, ctx.clock)
    size = len(ctx.serializer.dumps(wf).encode())
    ctx.db.dispose()
    return n / elapsed, n, size / 1024, mem_n / mem_elapsed, mem_n


def run(quick: bool = False) -> list[Row]:
    rate, n, kb, memory, mem_n = measure(2.0 if quick else 6.0)
    # The persisting row first: run_all passes rows[0] and rows[1] on to (2) as its references.
    return [
        Row("1 engine ceiling", "instances/s (restore/save around each user task)", rate,
            "inst/s", "reference", None,
            f"n={n}; restricted scripts; state {kb:.1f} KB at 1st task; "
            f"{1000 / rate:.1f} ms per instance"),
        Row("1 engine ceiling", "instances/s (in memory: one workflow object, never saved)",
            memory, "inst/s", "reference", None,
            f"n={mem_n}; restricted scripts; {1000 / memory:.1f} ms per instance; persisting "
            f"is {rate / memory:.2f} of it"),
    ]


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
