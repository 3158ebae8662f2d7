"""Shared helpers for the management page tests (tests/web/test_manage_*.py): the `env` fixture
(the app on SQLite with the staff and the fixture models deployed), starting and advancing
approval_demo instances through the engine, and instance rows written in bulk."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from engine.context import EngineContext
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import (
    HumanTaskRow,
    InstanceRecord,
    ProcessVersionRecord,
    TaskCandidateRow,
)
from engine.usecases import instances
from tests.conftest import deploy_fixture

XSS = "<script>alert('x')</script>"


@pytest.fixture(name="env")
def env_fixture(app: Any, client: Any, sqlite_ctx: EngineContext, api_staff: Any) -> EngineContext:
    """The `env` fixture (import it into a test module to use it there)."""
    deploy_fixture(sqlite_ctx)
    return sqlite_ctx


def start(ctx: EngineContext, who: str, title: str = "新品推广", amount: int = 5000) -> int:
    with transaction(ctx.sessions) as s:
        return instances.start(ctx, s, actor_for(s, who), "approval_demo",
                               {"title": title, "amount": amount}).id


def complete_open(ctx: EngineContext, instance_id: int, who: str, data: dict[str, Any]) -> None:
    with transaction(ctx.sessions) as s:
        task = s.scalar(select(HumanTaskRow).where(
            HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"))
        instances.complete(ctx, s, actor_for(s, who), task.id, data)


def record(ctx: EngineContext, instance_id: int) -> InstanceRecord:
    with transaction(ctx.sessions) as s:
        return s.get(InstanceRecord, instance_id)


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def diagram(html: str) -> dict[str, Any]:
    """The data the instance page hands to the BPMN viewer (the XML and its highlights)."""
    raw = re.search(r'<script type="application/json" id="pf-diagram-data">(.*?)</script>',
                    html, re.S).group(1)
    return json.loads(raw)


def bulk_instances(ctx: EngineContext, n: int, *, model_key: str = "approval_demo",
                   status: str = "running", started_by: str = "alice",
                   start_at: datetime | None = None, data: dict[str, Any] | None = None,
                   title: str = "批量 {i}", tasks: bool = False,
                   due: datetime | None = None) -> None:
    """Rows as the engine would leave them, written directly (no workflow runs): for lists,
    paging and timing. `state` holds a realistic amount of bytes."""
    with transaction(ctx.sessions) as s:
        version = s.scalar(select(ProcessVersionRecord).where(
            ProcessVersionRecord.model_key == "approval_demo"))
        at = start_at or ctx.clock.now()
        filler = json.dumps({"tasks": {str(k): {"state": 64, "data": {"x": "y" * 40}}
                                       for k in range(60)}})
        rows = [
            {
                "model_key": model_key, "version_id": version.id, "version_number": 1,
                "title": title.format(i=i), "status": status, "started_by": started_by,
                "created_at": at - timedelta(minutes=i), "updated_at": at,
                "completed_at": at if status == "completed" else None,
                "state": filler, "data": data or {"amount": i},
                "stage": "提交说明" if tasks else None, "suspended": False, "lock_version": 1,
            }
            for i in range(n)
        ]
        s.execute(insert(InstanceRecord), rows)
        if tasks:
            ids = s.scalars(select(InstanceRecord.id).where(InstanceRecord.model_key == model_key)
                            .order_by(InstanceRecord.id.desc()).limit(n)).all()
            s.execute(insert(HumanTaskRow), [
                {"id": f"bulk-{i}", "instance_id": i, "model_key": model_key,
                 "element_id": "submit", "name": "提交说明", "lane": "策划专员",
                 "status": "open", "due_at": due, "created_at": at, "assignee": None}
                for i in ids
            ])
            s.execute(insert(TaskCandidateRow), [
                {"task_id": f"bulk-{i}", "group_name": "planning_specialist"} for i in ids
            ])
