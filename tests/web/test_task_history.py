"""The task page's 处理记录 on an instance that has gone round many times: the latest
`HISTORY_SHOWN` steps, how many earlier ones are left out and a link to all of them; a finished
task still opens with what it submitted when its step is older than those shown. A copy (抄送)
shows its history the same way."""

from __future__ import annotations

import re

from engine.operations.cc import cc
from engine.people.accounts import actor_for
from engine.read.step_history import HISTORY_SHOWN, step_history
from engine.store import instance_state as store
from engine.store.db import transaction
from tests.pages import as_user, html
from tests.web.staff_helpers import (
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    form_config,
    sent_back,
)

ROUNDS = 12  # submit + 退回 by the manager: 1 + 2 × 12 = 25 steps, more than are shown


def _timeline(page: str) -> list[str]:
    found = re.search(r'<ol class="staff-timeline">(.*?)</ol>', page, re.S)
    assert found, "no history on the page"
    return re.findall(r"<li[ >]", found.group(1))


def test_the_latest_steps_and_the_submission_of_an_older_one(ctx):
    iid, submits = sent_back(ctx, 3)  # 7 steps
    with transaction(ctx.sessions) as s:
        record = store.get_instance(s, iid)
        model = store.parsed_model(ctx, s, record.version_id)
        zone = ctx.settings.zone
        every = step_history(s, model, iid, submits[0], zone)
        latest = step_history(s, model, iid, submits[0], zone, latest=3)
        none_asked = step_history(s, model, iid, "", zone, latest=3)
    assert len(every.entries) == 7 and every.earlier == 0
    assert every.entries[0]["action"] == "started" and every.entries[1]["current"]
    # the latest three, oldest first: round 2's submit, its 退回, nothing of round 0
    assert latest.entries == every.entries[-3:] and latest.earlier == 4
    assert [e["step"] for e in latest.entries] == ["经理审批", "提交说明", "经理审批"]
    assert not any(e["current"] for e in latest.entries)
    # what the first submit task entered, though its step is not among those shown
    assert latest.submitted == every.submitted == {"description": "第0轮"}
    assert none_asked.entries == latest.entries and none_asked.submitted is None
    # the people of the steps shown, by name (the fixture's display names)
    assert latest.people == {"mgr": "Mgr", "alice": "Alice"}


def test_the_task_page_shows_the_latest_steps_and_links_to_all(app, ctx):
    _, submits = sent_back(ctx, ROUNDS)
    total = 1 + 2 * ROUNDS
    alice = as_user(app, "alice")
    page = html(alice.get(f"/tasks/{submits[-1]}"))
    assert len(_timeline(page)) == HISTORY_SHOWN
    assert f"另有 {total - HISTORY_SHOWN} 条更早的记录未显示" in page
    assert f'href="/tasks/{submits[-1]}?history=all#hist-h">显示全部</a>' in page
    assert "第11轮" in page and "第0轮" not in page
    everything = html(alice.get(f"/tasks/{submits[-1]}?history=all"))
    assert len(_timeline(everything)) == total
    assert "第0轮" in everything and "更早的记录" not in everything
    assert f'href="/tasks/{submits[-1]}#hist-h">只看最近 {HISTORY_SHOWN} 条</a>' in everything
    # the first submit task, done long ago: it opens with what alice entered then
    first = html(alice.get(f"/tasks/{submits[0]}"))
    assert form_config(first)["data"]["description"] == "第0轮"
    assert len(_timeline(first)) == HISTORY_SHOWN
    alice.get(f"/lang/en?next=/tasks/{submits[-1]}")
    english = html(alice.get(f"/tasks/{submits[-1]}"))
    assert f"{total - HISTORY_SHOWN} earlier entries not shown" in english
    assert ">Show all</a>" in english


def test_a_short_history_has_no_link(app, ctx):
    _, submits = sent_back(ctx, 1)
    alice = as_user(app, "alice")
    for path in (f"/tasks/{submits[-1]}", f"/tasks/{submits[-1]}?history=all"):
        page = html(alice.get(path))
        assert len(_timeline(page)) == 3
        assert 'id="history-more"' not in page


def test_a_copy_shows_the_latest_steps_and_links_to_all(app, ctx):
    iid, _ = sent_back(ctx, ROUNDS)
    total = 1 + 2 * ROUNDS
    with transaction(ctx.sessions) as s:
        (copy,) = cc(ctx, s, actor_for(s, "alice"), iid, ["mgr"], note="知悉")
        cc_id = copy.id
    mgr = as_user(app, "mgr")
    page = html(mgr.get(f"/cc/{cc_id}"))
    assert len(_timeline(page)) == HISTORY_SHOWN
    assert f"另有 {total - HISTORY_SHOWN} 条更早的记录未显示" in page
    assert f'href="/cc/{cc_id}?history=all#hist-h">显示全部</a>' in page
    everything = html(mgr.get(f"/cc/{cc_id}?history=all"))
    assert len(_timeline(everything)) == total and "第0轮" in everything
    assert f'href="/cc/{cc_id}#hist-h">只看最近 {HISTORY_SHOWN} 条</a>' in everything
