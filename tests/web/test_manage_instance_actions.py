"""The actions on the 流程实例 detail page: which buttons each role gets, and 终止, 挂起/恢复
and 重试 (after an incident) with their effects."""

from __future__ import annotations

import dataclasses

import pytest

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.usecases import instances
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import FIXTURES
from tests.pages import login
from tests.web.manage_helpers import (
    diagram,
    env_fixture,  # noqa: F401  (the env fixture)
    record,
    start,
    text,
)


def test_action_buttons_only_for_those_allowed(client, env):
    iid = start(env, "alice")
    login(client, "alice")  # initiator: may terminate, not suspend
    html = text(client.get(f"/instances/{iid}"))
    assert f"/instances/{iid}/terminate" in html and f"/instances/{iid}/suspend" not in html
    login(client, "mgr")  # manager: sees, may not operate
    html = text(client.get(f"/instances/{iid}"))
    assert "/terminate" not in html and "/suspend" not in html and "/retry" not in html
    login(client, "owner")  # process owner: suspend, not terminate (not the initiator)
    html = text(client.get(f"/instances/{iid}"))
    assert f"/instances/{iid}/suspend" in html and "/terminate" not in html
    assert "/retry" not in html  # no incident
    login(client, "root")
    html = text(client.get(f"/instances/{iid}"))
    assert f"/instances/{iid}/terminate" in html and f"/instances/{iid}/suspend" in html


def test_terminate(client, env):
    iid = start(env, "alice")
    token = login(client, "mgr")
    r = client.post(f"/instances/{iid}/terminate", data={"csrf_token": token, "reason": "x"})
    assert r.status_code == 403 and record(env, iid).status == "running"
    token = login(client, "alice")
    r = client.post(f"/instances/{iid}/terminate", data={"csrf_token": token, "reason": " "})
    assert r.status_code == 303 and record(env, iid).status == "running"
    assert "请填写终止原因" in text(client.get(f"/instances/{iid}"))
    r = client.post(f"/instances/{iid}/terminate",
                    data={"csrf_token": token, "reason": "需求取消 <b>"})
    assert r.status_code == 303
    assert record(env, iid).status == "terminated"
    html = text(client.get(f"/instances/{iid}"))
    assert "流程已终止" in html and "需求取消 &lt;b&gt;" in html
    assert f"/instances/{iid}/terminate" not in html
    # again: refused with a message, nothing changes
    r = client.post(f"/instances/{iid}/terminate", data={"csrf_token": token, "reason": "再次"})
    assert r.status_code == 303 and "操作未完成" in text(client.get(f"/instances/{iid}"))


def test_suspend_and_resume(client, env):
    iid = start(env, "alice")
    token = login(client, "alice")
    assert client.post(f"/instances/{iid}/suspend", data={"csrf_token": token}).status_code == 403
    token = login(client, "owner")
    assert client.post(f"/instances/{iid}/suspend", data={"csrf_token": token}).status_code == 303
    assert record(env, iid).suspended
    html = text(client.get(f"/instances/{iid}"))
    assert "流程已挂起" in html and f"/instances/{iid}/resume" in html
    assert client.post(f"/instances/{iid}/resume", data={"csrf_token": token}).status_code == 303
    assert not record(env, iid).suspended and record(env, iid).status == "running"


@pytest.fixture
def flaky(env):
    state = {"fail": True}
    # No automatic retries: the first failure is an incident for a person to retry.
    env.settings = dataclasses.replace(env.settings, service_retry_limit=0)

    @env.handlers.handler("flaky")
    def flaky_handler(params, ctx):
        if state["fail"]:
            raise RuntimeError("外部系统不可用 <503>")
        return {"ok": True}

    with transaction(env.sessions) as s:
        deploy(env, s, uploads_from_paths([FIXTURES / "models_extra" / "service_retry.bpmn"]),
               "owner")
    return state


def test_retry_after_an_incident(client, env, flaky):
    with transaction(env.sessions) as s:
        iid = instances.start(env, s, actor_for(s, "alice"), "service_retry",
                              {"attempt_limit": 1}).id
    assert record(env, iid).status == "error"
    login(client, "mgr")
    html = text(client.get(f"/instances/{iid}"))
    assert diagram(html)["highlights"]["errors"] == ["call"]
    assert "外部系统不可用 &lt;503&gt;" in html and "/retry" not in html
    token = login(client, "alice")
    assert client.post(f"/instances/{iid}/retry", data={"csrf_token": token}).status_code == 403
    token = login(client, "owner")
    assert f"/instances/{iid}/retry" in text(client.get(f"/instances/{iid}"))
    flaky["fail"] = False
    assert client.post(f"/instances/{iid}/retry", data={"csrf_token": token}).status_code == 303
    assert record(env, iid).status == "completed"
    html = text(client.get(f"/instances/{iid}"))
    assert "已重试" in html and diagram(html)["highlights"]["errors"] == []
    # no incident now: a second retry is refused with a message
    client.post(f"/instances/{iid}/retry", data={"csrf_token": token})
    assert "操作未完成" in text(client.get(f"/instances/{iid}"))
