"""Failing service tasks and runaway scripts: the instance goes to `error` with an incident,
the server stays healthy, and a retry continues from the failed step."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.context import build_context
from engine.errors import Forbidden, InstanceStateError
from engine.read import queries
from engine.store.db import transaction
from engine.store.migrate import upgrade
from engine.store.tables import IncidentRecord
from engine.timing.timers import process_due
from engine.usecases import control, instances
from engine.usecases.deploy import deploy, uploads_from_paths
from handlers import default_registry
from tests.conftest import FIXTURES, make_settings, make_staff

EXTRA = FIXTURES / "models_extra"


@pytest.fixture
def retry_limit() -> int:
    return 0  # fail straight to an incident unless a test asks for automatic retries


@pytest.fixture
def flaky_ctx(tmp_path: Path, clock, retry_limit):
    registry = default_registry()
    calls: list[int] = []

    @registry.handler("flaky")
    def flaky(params, ctx):
        calls.append(ctx.instance_id)
        if len(calls) <= params["n"]:
            raise RuntimeError(f"外部系统不可用 (attempt {len(calls)})")
        return {"ok": True, "attempts": len(calls)}

    settings = make_settings(f"sqlite:///{tmp_path / 'f.sqlite3'}", tmp_path,
                             script_time_limit=0.5, service_retry_limit=retry_limit,
                             service_retry_base_seconds=30)
    ctx = build_context(settings, clock=clock, handlers=registry)
    upgrade(ctx.db)
    staff = make_staff(ctx)
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([EXTRA]), "owner")
    yield ctx, staff, calls
    ctx.db.dispose()


def test_failing_handler_records_incident_and_retry_continues(flaky_ctx):
    ctx, staff, calls = flaky_ctx
    with transaction(ctx.sessions) as s:
        inst = instances.start(ctx, s, staff["alice"], "service_retry", {"attempt_limit": 2})
    assert inst.status == "error"
    with transaction(ctx.sessions) as s:
        detail = queries.get_instance(ctx, s, staff["root"], inst.id)
        [incident] = detail["incidents"]
        assert incident["element_id"] == "call"
        assert "外部系统不可用" in incident["message"]
        assert "service_failed" in [a["action"] for a in detail["audit"]]
    with transaction(ctx.sessions) as s, pytest.raises(Forbidden):
        control.retry(ctx, s, staff["alice"], inst.id)
    with transaction(ctx.sessions) as s:
        again = control.retry(ctx, s, staff["root"], inst.id)
        assert again.status == "error"  # second attempt fails too
    with transaction(ctx.sessions) as s:
        done = control.retry(ctx, s, staff["root"], inst.id)
        assert done.status == "completed"
        assert done.data["after_ok"] is True and done.data["flaky_result"]["attempts"] == 3
    assert len(calls) == 3
    with transaction(ctx.sessions) as s:
        open_incidents = s.scalars(select(IncidentRecord).where(
            IncidentRecord.instance_id == inst.id, IncidentRecord.resolved_at.is_(None))).all()
        assert open_incidents == []
    with transaction(ctx.sessions) as s, pytest.raises(InstanceStateError):
        control.retry(ctx, s, staff["root"], inst.id)


def test_endless_loop_is_stopped_and_instance_goes_to_error(flaky_ctx):
    ctx, staff, _ = flaky_ctx
    began = time.monotonic()
    with transaction(ctx.sessions) as s:
        inst = instances.start(ctx, s, staff["alice"], "runaway_script", {"mode": "loop"})
    assert time.monotonic() - began < 5
    assert inst.status == "error"
    with transaction(ctx.sessions) as s:
        [incident] = queries.get_instance(ctx, s, staff["root"], inst.id)["incidents"]
        assert incident["element_id"] == "loop"
    # The same model runs normally with other data: the engine is healthy.
    with transaction(ctx.sessions) as s:
        ok = instances.start(ctx, s, staff["alice"], "runaway_script", {"mode": "normal"})
        assert ok.status == "completed"


@pytest.mark.parametrize("retry_limit", [2])
def test_automatic_retries_back_off_exponentially_then_need_an_admin(flaky_ctx, clock):
    ctx, staff, calls = flaky_ctx
    with transaction(ctx.sessions) as s:
        inst = instances.start(ctx, s, staff["alice"], "service_retry", {"attempt_limit": 3})
    # First failure: retry planned in 30 s; the instance waits, nobody is asked yet.
    assert inst.status == "waiting"
    with transaction(ctx.sessions) as s:
        timers = queries.get_instance(ctx, s, staff["root"], inst.id)["timers"]
        assert [(t["kind"], t["due_at"]) for t in timers] == [
            ("retry", (clock.now() + timedelta(seconds=30)).isoformat())]
    clock.advance(seconds=29)
    assert process_due(ctx).fired == 0
    clock.advance(seconds=2)
    assert process_due(ctx).woken == [inst.id]  # second attempt fails: next in 60 s
    assert len(calls) == 2
    clock.advance(seconds=59)
    assert process_due(ctx).fired == 0
    clock.advance(seconds=2)
    assert process_due(ctx).woken == [inst.id]  # third attempt fails: retries used up
    assert len(calls) == 3
    with transaction(ctx.sessions) as s:
        detail = queries.get_instance(ctx, s, staff["root"], inst.id)
        assert detail["status"] == "error" and detail["timers"] == []
        actions = [a["action"] for a in detail["audit"]]
        assert actions.count("retry_scheduled") == 2 and actions.count("error") == 1
    clock.advance(hours=1)
    assert process_due(ctx).fired == 0
    with transaction(ctx.sessions) as s:
        assert control.retry(ctx, s, staff["root"], inst.id).status == "completed"
