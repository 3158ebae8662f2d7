"""(1) Engine ceiling: SpiffWorkflow alone, in process, on the common bench model.

Each instance: create, run to the first user task, save; then for each of the 3 user tasks
restore → complete → run → save, with planflow's own `StateSerializer` (spec kept apart) and
the restricted script engine (`build_context(...).environment` in a `PlanflowScriptEngine`).
No database, no HTTP. Result: instances/s (the reference for the service benchmark).
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


def measure(seconds: float = 5.0) -> tuple[float, int, float]:
    ctx, model, engine = _setup()
    for i in range(50):  # warm the compile cache
        one_instance(ctx, model, engine, i)
    n, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        one_instance(ctx, model, engine, n)
        n += 1
    elapsed = time.perf_counter() - began
    # state size at the first user task, for reference
    from engine.bpmn.runtime import new_workflow, run_steps

    wf = new_workflow(model, engine, {"amount": 5000})
    run_steps(wf, ctx.clock)
    size = len(ctx.serializer.dumps(wf).encode())
    ctx.db.dispose()
    return n / elapsed, n, size / 1024


def run(quick: bool = False) -> list[Row]:
    rate, n, kb = measure(2.0 if quick else 6.0)
    return [
        Row("1 engine ceiling", "instances/s (restore/save around each user task)", rate,
            "inst/s", "reference", None,
            f"n={n}; restricted scripts; state {kb:.1f} KB at 1st task; notes: ~248 name-only"),
    ]


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
