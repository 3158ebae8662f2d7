"""The state serializer's fast paths (engine.bpmn.serializer: task ids parsed once per restore,
no delta computed for tasks without data) restore and write exactly what SpiffWorkflow's stock
task converter does, for real stored states: instances started and woken by timers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from sqlalchemy import select

from engine.bpmn import serializer as serializer_module
from engine.bpmn.serializer import StateSerializer
from engine.store import instance_state as store
from engine.store.db import transaction
from engine.store.tables import InstanceRecord
from engine.timing.timers import process_due
from engine.usecases import instances
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import FIXTURES, make_staff


def _stock_from_dict(self: Any, dct: dict[str, Any], workflow: Any, uuids: Any = None) -> Any:
    return TaskConverter.from_dict(self, dct, workflow)


def _stock_to_dict(self: Any, task: Any) -> dict[str, Any]:
    # The override as it was: the stock dict, its delta emptied for a task without data.
    dct: dict[str, Any] = TaskConverter.to_dict(self, task)
    if not task.data and task.parent is not None:
        dct["delta"] = {}
    return dct


def _tasks(workflow: Any) -> list[tuple[Any, ...]]:
    out = []
    for wf in (workflow, *workflow.subprocesses.values()):
        for t in wf.tasks.values():
            out.append((t.id, t._parent, list(t._children), t.state, t.task_spec.name,
                        t.triggered, t.last_state_change, t.data, t.internal_data))
    return out


@pytest.fixture
def stock(monkeypatch: pytest.MonkeyPatch) -> StateSerializer:
    """A serializer with the stock task converter (the registry binds methods when built)."""
    with monkeypatch.context() as m:
        m.setattr(serializer_module._EmptyDataTaskConverter, "from_dict", _stock_from_dict)
        m.setattr(serializer_module._EmptyDataTaskConverter, "to_dict", _stock_to_dict)
        return StateSerializer()


def test_fast_paths_restore_and_write_what_the_stock_converter_does(
    sqlite_ctx: Any, stock: StateSerializer
) -> None:
    ctx = sqlite_ctx
    staff = make_staff(ctx)
    extra = FIXTURES / "models_extra"
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([extra / "timers_demo.bpmn", extra / "timer_once.bpmn"]),
               "owner")
    event_date = ctx.clock.now() + timedelta(days=10)
    with transaction(ctx.sessions) as s:
        instances.start(ctx, s, staff["sup"], "timers_demo", {"event_date": event_date.isoformat()})
        instances.start(ctx, s, staff["sup"], "timer_once", {"delay": "PT1H", "note": "数据"})
    checked = 0
    for _step in range(4):  # waiting, then woken by timers step by step
        with transaction(ctx.sessions) as s:
            for record in s.scalars(select(InstanceRecord)):
                model = store.parsed_model(ctx, s, record.version_id)
                fast = ctx.serializer.loads(record.state, model.spec, model.subprocess_specs)
                slow = stock.loads(record.state, model.spec, model.subprocess_specs)
                assert _tasks(fast) == _tasks(slow)
                assert ctx.serializer.dumps(fast) == stock.dumps(slow) == record.state
                checked += 1
        ctx.clock.advance(days=3)
        process_due(ctx)
    assert checked == 8
