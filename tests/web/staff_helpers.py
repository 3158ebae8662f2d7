"""Shared helpers for the staff page tests (tests/web/test_staff_*.py, and the task operation
tests test_task_ops_*.py): the `ctx` fixture (SQLite, the staff, the fixture models deployed),
starting approval_demo instances, their open tasks, completing a task the way the page's form
script does, and reading the page's form config and task rows."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from engine.context import EngineContext
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow
from engine.usecases import instances
from tests.conftest import deploy_fixture
from tests.pages import csrf


@pytest.fixture(name="ctx")
def ctx_fixture(sqlite_ctx: EngineContext, api_staff: Any) -> EngineContext:
    """The `ctx` fixture for these modules (import it into a test module to use it there): it
    replaces tests.conftest's ctx, so the page tests run on SQLite only."""
    deploy_fixture(sqlite_ctx)
    return sqlite_ctx


def start(
    ctx: EngineContext, username: str = "alice", title: str = "年度品牌推广", amount: int = 5000
) -> int:
    with transaction(ctx.sessions) as s:
        record = instances.start(
            ctx, s, actor_for(s, username), "approval_demo", {"title": title, "amount": amount}
        )
        return record.id


def open_tasks(ctx: EngineContext, instance_id: int) -> list[HumanTaskRow]:
    with transaction(ctx.sessions) as s:
        return list(
            s.scalars(
                select(HumanTaskRow).where(
                    HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"
                )
            )
        )


def task_id(ctx: EngineContext, instance_id: int) -> str:
    (row,) = open_tasks(ctx, instance_id)
    return row.id


def sent_back(ctx, rounds: int) -> tuple[int, list[str]]:
    """An approval_demo instance whose manager sent it back ``rounds`` times (alice's
    descriptions: 第0轮, 第1轮…); its submit tasks, oldest first (the last one open)."""
    iid = start(ctx, title="华东区经销商大会", amount=5000)
    submits = []
    for i in range(rounds):
        submit = task_id(ctx, iid)
        submits.append(submit)
        with transaction(ctx.sessions) as s:
            instances.complete(ctx, s, actor_for(s, "alice"), submit, {"description": f"第{i}轮"})
        review = task_id(ctx, iid)
        with transaction(ctx.sessions) as s:
            instances.complete(ctx, s, actor_for(s, "mgr"), review, {"decision": "return"})
    submits.append(task_id(ctx, iid))
    return iid, submits


def complete_json(client: Any, tid: str, data: dict[str, Any], token: str | None = "auto") -> Any:
    headers = {}
    if token == "auto":
        token = csrf(client)
    if token:
        headers["X-CSRF-Token"] = token
    return client.post(f"/tasks/{tid}/complete", json={"data": data}, headers=headers)


def form_config(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="staff-form-config">(.*?)</script>', page, re.S
    )
    assert match, "no form config on the page"
    return json.loads(match.group(1))


def task_rows(page: str) -> list[str]:
    return re.findall(r'<tr class="staff-task[^"]*" data-task-id="([^"]+)"', page)
