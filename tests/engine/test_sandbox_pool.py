"""Diagram code in worker processes (engine.sandbox.pool): attacks the in-process tracer cannot
stop end within the time limit plus 0.5 s, even with another CPU-heavy process running; workers
are replaced after a kill or crash; the fast path, the pool and the in-process environment give
the same results and write back the same data; helpers see the engine's clock and calendar;
and a deployed diagram with a C-level loop ends in an incident while the server keeps answering.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import build_context, renewed
from engine.read import queries
from engine.sandbox import (
    RestrictedEnvironment,
    ScriptError,
    ScriptResourceError,
    ScriptTimeout,
    wire,
)
from engine.sandbox.diagram_helpers import SHANGHAI, make_helpers
from engine.sandbox.fastpath import is_fast
from engine.sandbox.pool import KILL_GRACE, ScriptPool, shared_pool
from engine.store.db import transaction
from engine.store.migrate import upgrade
from engine.usecases import instances
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import make_settings, make_staff

LIMIT = 0.5  # seconds: the time limit of the attack tests
BOUND = LIMIT + 0.5  # every attack must end within this
MONDAY_9AM = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def pool() -> Iterator[ScriptPool]:
    workers = ScriptPool(size=2)
    yield workers
    workers.close()


@pytest.fixture(scope="module")
def engine_clock() -> FixedClock:
    return FixedClock(MONDAY_9AM)


@pytest.fixture(scope="module")
def env(pool: ScriptPool, engine_clock: FixedClock) -> RestrictedEnvironment:
    environment = RestrictedEnvironment(
        make_helpers(engine_clock.now), time_limit=LIMIT, pool=pool
    )
    # The pool's first worker starts the process the others fork from (a third of a second
    # on a loaded machine): started here, so the bounds below time the attacks, not that.
    environment.execute("warm = str(1)", {})
    return environment


@pytest.fixture(scope="module")
def cpu_hog() -> Iterator[None]:
    """Another process burning a CPU for the whole module: bounds must hold on a busy machine."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield
    hog.kill()
    hog.wait()


def _timed(call: Any) -> tuple[BaseException | None, float]:
    began = time.monotonic()
    try:
        call()
    except BaseException as exc:
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


# ---------------------------------------------------------------------------------------------
# Attacks end with the sandbox's error within limit + 0.5 s
# ---------------------------------------------------------------------------------------------

# Each attack is sized to run for seconds on a fast, quiet machine (10**10 C-level steps, not
# 10**9: a billion identity comparisons finish in about 0.6 s here, inside the kill margin).
ATTACKS = {
    "C loop: hash of shared tuples": "x = hash(((0,)*30000,)*30000)",
    "C loop: str of shared lists": "n = 10000\nx = len(str([[0]*n]*n))",
    "C loop: == of shared lists": "a = [[[0]*999]*999]*9999\nb = [[[0]*999]*999]*9999\nx = a == b",
    "C loop in an expression statement": "[[[0]*1000]*1000]*10000 == [[[0]*1000]*1000]*10000",
    "Python loop": "while True:\n    pass",
    "deep recursion": "def f(n):\n    return f(n + 1) + 1\nx = f(0)",
    "try/finally recursion": "def f():\n    try:\n        f()\n    finally:\n        f()\nf()",
    "memory: guarded repetition": "x = [0] * 10**9",
    "memory: growth in a loop": "x = [list(range(10**6)) for i in range(10**4)]",
    "memory: one C-level allocation": "x = str([[0]*10**6]*10**3)",
    "memory: join of shared strings": "s = 'a' * 10**6\nx = len(','.join([s] * 10**6))",
}


@pytest.mark.parametrize("script", ATTACKS.values(), ids=ATTACKS.keys())
def test_attacks_end_with_the_sandbox_error_in_time(
    env: RestrictedEnvironment, cpu_hog: None, script: str
) -> None:
    error, elapsed = _timed(lambda: env.execute(script, {}))
    assert isinstance(error, (ScriptTimeout, ScriptResourceError)), repr(error)
    assert elapsed < BOUND, f"{elapsed:.2f} s"
    # The pool is healthy afterwards.
    data = {"n": 1}
    env.execute("for i in range(3):\n    n += i", data)
    assert data["n"] == 4


@pytest.mark.parametrize(
    "expression",
    ["hash(((0,)*30000,)*30000)", "[[[0]*1000]*1000]*10000 == [[[0]*1000]*1000]*10000"],
)
def test_c_loop_expressions_time_out(env: RestrictedEnvironment, expression: str) -> None:
    error, elapsed = _timed(lambda: env.evaluate(expression, {}))
    assert isinstance(error, ScriptTimeout)
    assert LIMIT <= elapsed < BOUND


@pytest.mark.parametrize("memory_limit", [64 * 2**20, None], ids=["tracer", "RLIMIT_AS"])
def test_memory_bombs_hit_the_memory_limits(pool: ScriptPool, memory_limit: int | None) -> None:
    """With time to spare, growth is stopped by the worker's memory check or, without it, by
    the kernel's address-space limit (then the worker is replaced)."""
    env = RestrictedEnvironment({}, time_limit=10.0, memory_limit=memory_limit, pool=pool)
    error, elapsed = _timed(lambda: env.evaluate("len([[i] * 10**6 for i in range(10**4)])", {}))
    assert isinstance(error, ScriptResourceError), repr(error)
    assert "memory" in str(error) and elapsed < 10.0
    assert env.evaluate("sum(range(4))", {}) == 6


def test_try_finally_recursion_is_deterministic(env: RestrictedEnvironment, cpu_hog: None) -> None:
    script = ATTACKS["try/finally recursion"]
    for _ in range(5):
        error, elapsed = _timed(lambda: env.execute(script, {}))
        assert isinstance(error, (ScriptTimeout, ScriptResourceError)), repr(error)
        assert elapsed < BOUND


# ---------------------------------------------------------------------------------------------
# Workers: lazy, reused, replaced after a kill or a crash
# ---------------------------------------------------------------------------------------------


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still exists")


def test_workers_start_lazily_and_are_reused() -> None:
    workers = ScriptPool(size=2)
    try:
        assert workers.worker_pids() == [] and workers.started == 0
        env = RestrictedEnvironment(make_helpers(lambda: MONDAY_9AM), pool=workers)
        for _ in range(5):
            assert env.evaluate("sum(x for x in range(n))", {"n": 4}) == 6
        assert workers.started == 1 and len(workers.worker_pids()) == 1
    finally:
        workers.close()
    assert workers.worker_pids() == []
    assert env.evaluate("sum(range(3))", {}) == 3  # a closed pool starts workers again
    workers.close()


def test_threads_share_the_pool_within_its_size(pool: ScriptPool) -> None:
    env = RestrictedEnvironment({}, pool=pool, fast_path=False)
    results: list[int] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                data = {"n": n, "i": i}
                env.execute("total = 0\nfor k in range(n):\n    total += k + i", data)
                results.append(data["total"] - n * i - n * (n - 1) // 2)
                assert len(pool.worker_pids()) <= pool.size
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [0] * 60


def test_worker_is_replaced_after_a_kill(env: RestrictedEnvironment, pool: ScriptPool) -> None:
    env.execute("x = sum(range(3))", {})
    before = set(pool.worker_pids())
    with pytest.raises(ScriptTimeout):
        env.execute("x = hash(((0,)*30000,)*30000)", {})
    for pid in before - set(pool.worker_pids()):
        _wait_gone(pid)
    data: dict[str, Any] = {}
    env.execute("x = sum(range(4))", data)
    assert data == {"x": 6}


def test_idle_worker_crash_is_recovered(env: RestrictedEnvironment, pool: ScriptPool) -> None:
    env.execute("x = sum(range(3))", {})
    for pid in pool.worker_pids():
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)
    data: dict[str, Any] = {}
    env.execute("x = sum(range(5))", data)
    assert data == {"x": 10}


def test_worker_crash_during_a_script_is_an_error_then_recovered(
    env: RestrictedEnvironment, pool: ScriptPool
) -> None:
    env.execute("x = sum(range(3))", {})
    killer = threading.Timer(0.15, lambda: [os.kill(p, signal.SIGKILL) for p in pool.worker_pids()])
    killer.start()
    error, elapsed = _timed(lambda: env.execute("while True:\n    pass", {}))
    killer.join()
    assert isinstance(error, ScriptResourceError) and "signal 9" in str(error)
    assert elapsed < LIMIT
    data: dict[str, Any] = {}
    env.execute("x = sum(range(5))", data)
    assert data == {"x": 10}


def test_contexts_share_one_pool_and_renewed_keeps_it(ctx: Any) -> None:
    assert ctx.pool is shared_pool()
    assert renewed(ctx).pool is ctx.pool
    assert renewed(ctx).environment.pool is ctx.pool


# ---------------------------------------------------------------------------------------------
# Same results: fast path, pool and in-process; same write-back
# ---------------------------------------------------------------------------------------------

DATA = {
    "amount": 1500,
    "price": Decimal("12.50"),
    "name": "张三",
    "flag": True,
    "none": None,
    "items": [1, 2, 3],
    "form": {"level": "high", "days": 3, "nested": {"k": [1, 2]}},
    "when": datetime(2025, 3, 3, 1, 0, tzinfo=UTC),
    "day": date(2025, 3, 7),
    "span": timedelta(days=2),
}

EXPRESSIONS = [
    "amount > 1000",
    "amount > 1000 and flag",
    "not flag or amount <= 10",
    "name == '张三'",
    "form['level'] in ('high', 'urgent')",
    "form['nested']['k'][1]",
    "len(items) > 2",
    "items[0] + items[-1]",
    "amount * 1.1",
    "-amount + 3 - 1",
    "amount / 7 // 1",
    "'yes' if flag else 'no'",
    "min(items)",
    "max(amount, 2000)",
    "abs(-amount)",
    "round(amount / 7, 2)",
    "none is None",
    "3 not in items",
    "[amount, name]",
    "{'a': amount, 'b': items}",
    "price > 10",
    "when + span",
    "day - span",
    "form",
    "missing_name",
    "items[7]",
    "form['nope']",
    "amount / 0",
    "len(amount)",
    "amount ** 2",
    "now()",
    "today()",
    "now().isoformat()",
    "today().isoformat()",
    "when.isoformat()",
    "name.isoformat()",
    "now(1)",
    "add_workdays(day, 1)",
    "is_workday(when)",
    "sum(i * 2 for i in items)",
]


def _outcome(env: RestrictedEnvironment, expression: str) -> Any:
    try:
        return ("ok", env.evaluate(expression, dict(DATA)))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def test_fast_path_pool_and_in_process_agree(pool: ScriptPool, engine_clock: FixedClock) -> None:
    helpers = make_helpers(engine_clock.now)
    in_process = RestrictedEnvironment(helpers)
    fast = RestrictedEnvironment(helpers, pool=pool)
    pooled = RestrictedEnvironment(helpers, pool=pool, fast_path=False)
    assert sum(is_fast(e, "eval") for e in EXPRESSIONS) >= 25  # the table exercises both paths
    for expression in EXPRESSIONS:
        expected = _outcome(in_process, expression)
        assert _outcome(fast, expression) == expected, expression
        assert _outcome(pooled, expression) == expected, expression


def test_fast_path_rules() -> None:
    for source in ["amount > 1000", "x in ('a', 'b') and not y", "len(items) == 0", "a['b'][0]"]:
        assert is_fast(source, "eval"), source
    for source in [
        "9**9**9",
        "'a' * 10**9",
        "items * 1000",
        "str(x)",
        "x.upper()",
        "round(5, -10**18)",
        "[i for i in x]",
        "f'{x:>{n}}'",
        "hash(x)",
        "len(str(x))",
        "x % y",
        "x << 3",
        "now(1)",
        "today(tz=x)",
        "x.isoformat(sep * 10**9)",
        "x.isoformat(timespec='hours')",
        "x.strftime('%Y')",
    ]:
        assert not is_fast(source, "eval"), source
    for source in ["now()", "today()", "now().isoformat()", "when.isoformat()"]:
        assert is_fast(source, "eval"), source
    assert is_fast("fired_at = now().isoformat()", "exec")  # the timer models' script
    assert is_fast("status = 'new'\nhistory = []\ncount += 1\nhistory.append(status)", "exec")
    for source in ["while True: pass", "x = y * 3", "x.extend(y)", "del x", "x[0] = 1"]:
        assert not is_fast(source, "exec"), source


SCRIPTS = [
    "b = a + 1",
    "del a",
    "a = a * 2\nc = [a]",
    "items.append(4)",
    "items = items + [4]",
    "form['level'] = 'low'\nform['nested']['k'].append(3)",
    "def f(x):\n    return x + 1\nb = f(a)",
    "g = (i for i in items)",
    "for i in range(3):\n    a += i",
    "_hidden = 1\nb = 2",
    "b = today()\nc = now()",
    "x = dataobj + [1]",
    "dataobj.append(9)",
    "a = 1\ndel items\nz = len(form)",
]


def _run_script(env: RestrictedEnvironment, script: str) -> Any:
    shared = [1, 2, 3]
    context = {"a": 5, "items": shared, "form": {"level": "high", "nested": {"k": [1]}}}
    context["_private"] = "kept"
    external = {"dataobj": [7]}
    try:
        env.execute(script, context, external)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))
    return context, external, shared


def test_write_back_is_identical(pool: ScriptPool, engine_clock: FixedClock) -> None:
    helpers = make_helpers(engine_clock.now)
    in_process = RestrictedEnvironment(helpers)
    pooled = RestrictedEnvironment(helpers, pool=pool, fast_path=False)
    fast = RestrictedEnvironment(helpers, pool=pool)
    for script in SCRIPTS:
        expected = _run_script(in_process, script)
        assert _run_script(pooled, script) == expected, script
        assert _run_script(fast, script) == expected, script


def test_in_place_changes_reach_other_references(pool: ScriptPool) -> None:
    env = RestrictedEnvironment({}, pool=pool, fast_path=False)
    shared = [1]
    earlier_task = {"items": shared}
    context = {"items": shared}
    env.execute("items.append(2)", context)
    assert earlier_task["items"] == [1, 2] and context["items"] is shared  # as in-process
    env.execute("items = items + [3]", context)
    assert earlier_task["items"] == [1, 2] and context["items"] == [1, 2, 3]


def test_errors_keep_their_type_line_and_name(env: RestrictedEnvironment) -> None:
    with pytest.raises(NameError) as info:
        env.execute("a = 1\nb = 2\nc = undefined_thing + 1", {})
    assert info.value.name == "undefined_thing"
    assert wire.script_lineno(info.value) == 3
    with pytest.raises(ScriptError, match="KeyError: 5"):
        env.execute("x = 0\nx = {}[5]", {})
    with pytest.raises(ValueError, match="plain"):
        env.execute("for i in range(2):\n    pass\nraise ValueError('plain')", {})


def test_results_are_checked_before_the_engine_accepts_them(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptResourceError, match="larger than the limit"):
        env.execute("x = ['a' * 10**6 for i in range(20)]", {})
    with pytest.raises(ScriptError, match="not data"):
        env.execute("x = [i for i in range(3)]\ny = zip(x, x)", {})
    # A reply naming anything but plain data classes is refused while unpickling.
    with pytest.raises(ScriptError, match="not data"):
        wire.loads(pickle.dumps(("done", os.system)))
    with pytest.raises(ScriptError, match="not data"):
        wire.loads(pickle.dumps(("done", [].append)))  # getattr([], "append")


# ---------------------------------------------------------------------------------------------
# Helpers: the engine clock and the context's current calendar
# ---------------------------------------------------------------------------------------------


class _Calendar:
    def __init__(self) -> None:
        self.holiday: date | None = None

    def is_workday(self, d: date) -> bool:
        return d.weekday() < 5 and d != self.holiday

    def add_workdays(self, d: date, n: int) -> date:
        while n > 0:
            d += timedelta(days=1)
            n -= self.is_workday(d)
        return d


def test_helpers_see_the_engine_clock_and_calendar(pool: ScriptPool) -> None:
    clock = FixedClock(MONDAY_9AM)
    calendar = _Calendar()
    env = RestrictedEnvironment(make_helpers(clock.now, calendar), pool=pool, fast_path=False)
    script = "t = now()\nd = today()\nw = is_workday(d)\nnext_day = add_workdays(d, 1)"
    data: dict[str, Any] = {}
    env.execute(script, data)
    assert data == {"t": MONDAY_9AM, "d": date(2025, 3, 3), "w": True, "next_day": date(2025, 3, 4)}
    clock.advance(days=1)
    calendar.holiday = date(2025, 3, 5)  # an admin edits the calendar: seen at once
    env.execute(script, data)
    assert data["t"] == MONDAY_9AM + timedelta(days=1)
    assert data["next_day"] == date(2025, 3, 6)
    with pytest.raises(TypeError, match="whole number"):
        env.execute("x = 0\nx = add_workdays(today(), 1.5)", {})


# ---------------------------------------------------------------------------------------------
# End to end: the incident names the element, and the server keeps answering meanwhile
# ---------------------------------------------------------------------------------------------

C_LOOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_cloop" targetNamespace="http://planflow.test">
  <bpmn:process id="c_loop_script" name="C 循环脚本" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="c_loop" name="C 循环">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>if mode == 'loop':
    x = hash(((0,)*30000,)*30000)
done = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="c_loop"/>
    <bpmn:sequenceFlow id="f2" sourceRef="c_loop" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_c_loop_script_task_ends_in_an_incident(tmp_path: Path, clock: FixedClock) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "c_loop.bpmn").write_text(C_LOOP_BPMN, encoding="utf-8")
    settings = make_settings(
        f"sqlite:///{tmp_path / 'c.sqlite3'}", tmp_path, script_time_limit=LIMIT
    )
    ctx = build_context(settings, clock=clock)
    try:
        upgrade(ctx.db)
        staff = make_staff(ctx)
        with transaction(ctx.sessions) as s:
            deploy(ctx, s, uploads_from_paths([models]), "owner")
        began = time.monotonic()
        with transaction(ctx.sessions) as s:
            inst = instances.start(ctx, s, staff["alice"], "c_loop_script", {"mode": "loop"})
        assert time.monotonic() - began < BOUND + 2  # plus the start's own database work
        assert inst.status == "error"
        with transaction(ctx.sessions) as s:
            detail = queries.get_instance(ctx, s, staff["root"], inst.id)
        [incident] = detail["incidents"]
        assert incident["element_id"] == "c_loop"
        assert "time limit" in incident["message"]
        with transaction(ctx.sessions) as s:
            ok = instances.start(ctx, s, staff["alice"], "c_loop_script", {"mode": "normal"})
        assert ok.status == "completed"
    finally:
        ctx.db.dispose()


def test_server_keeps_answering_while_a_c_loop_runs(client: Any, sqlite_ctx: Any) -> None:
    env = RestrictedEnvironment(
        make_helpers(sqlite_ctx.clock.now), time_limit=2.0, pool=sqlite_ctx.pool
    )
    outcome: list[BaseException | None] = []
    script = ATTACKS["C loop: == of shared lists"]
    runner = threading.Thread(
        target=lambda: outcome.append(_timed(lambda: env.execute(script, {}))[0])
    )
    latencies: list[float] = []
    runner.start()
    time.sleep(0.05)
    while runner.is_alive():
        began = time.perf_counter()
        assert client.get("/api/v1/healthz").status_code == 200
        assert env.evaluate("amount > 1000", {"amount": 5}) is False
        latencies.append(time.perf_counter() - began)
        time.sleep(0.005)
    runner.join()
    assert isinstance(outcome[0], ScriptTimeout)
    assert len(latencies) > 50
    latencies.sort()
    assert latencies[int(len(latencies) * 0.99)] <= 0.2, latencies[-5:]
    assert KILL_GRACE < 0.5


def test_closing_for_exit_parks_the_requests_it_kills_instead_of_failing_them() -> None:
    """At shutdown the exit handler kills the workers. A request still running must not see
    that as its script failing (it would record an incident and commit it before the process
    ends): its thread waits for the end instead. A second kill of the same worker, from the
    request's thread and the exit handler at once, is harmless."""
    workers = ScriptPool(size=1)
    env = RestrictedEnvironment({}, pool=workers, fast_path=False, time_limit=60)
    outcome: list[object] = []

    def endless() -> None:
        try:
            endless_sum = "sum(1 for i in range(1000000) for j in range(1000000))"
            outcome.append(env.evaluate(endless_sum, {}))
        except BaseException as exc:  # what must not happen
            outcome.append(exc)

    thread = threading.Thread(target=endless, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not workers.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    (pid,) = workers.worker_pids()
    time.sleep(0.2)  # the script is running in the worker
    killers = [threading.Thread(target=workers.close_for_exit) for _ in range(2)]
    for killer in killers:
        killer.start()
    for killer in killers:
        killer.join(10)
    _wait_gone(pid)
    thread.join(1.5)
    assert thread.is_alive() and outcome == []
