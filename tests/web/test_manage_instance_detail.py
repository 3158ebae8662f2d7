"""The 流程实例 detail page as a reader sees it: the diagram's progress, the timeline and data,
who may open it, escaping, and the instance's documents."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.db import transaction
from tests.pages import login
from tests.sql_log import statements_run
from tests.web.manage_helpers import (
    XSS,
    complete_open,
    diagram,
    env_fixture,  # noqa: F401  (the env fixture)
    start,
    text,
)


def test_detail_shows_progress_timeline_and_data(client, env):
    iid = start(env, "alice", "华东区推广", 500)
    complete_open(env, iid, "alice", {"description": "预算说明"})  # auto path -> timer
    login(client, "mgr")
    r = client.get(f"/instances/{iid}")
    assert r.status_code == 200
    html = text(r)
    d = diagram(html)
    assert d["src"] == f"/instances/{iid}/diagram.bpmn"
    assert "<bpmn:definitions" not in html and "BPMNDiagram" not in html  # sent apart
    xml = text(client.get(d["src"]))
    assert "BPMNDiagram" in xml  # laid out for the viewer (the fixture has no DI)
    h = d["highlights"]
    assert {"submit", "note"} <= set(h["completed"])
    assert list(h["waiting"]) == ["wait"] and h["active"] == [] and h["errors"] == []
    assert "冷静期" in html  # the timer, by name
    for words in ("发起流程", "完成任务", "自动处理", "生成待办"):
        assert words in html  # audit actions in words
    assert "预算说明" in html and "requested_on" in html  # data
    assert "2026-03-02 09:00" in html  # 01:00 UTC shown in Asia/Shanghai
    assert "bpmn-navigated-viewer.production.min.js" in html
    assert "bpmn-modeler" not in html


def test_detail_access_rules(client, env):
    iid = start(env, "alice")
    login(client, "fin")  # finance: neither started it nor offered a task
    assert client.get(f"/instances/{iid}").status_code == 404
    login(client, "bob")  # specialist: the submit task is offered to his group
    assert client.get(f"/instances/{iid}").status_code == 200
    login(client, "alice")
    assert client.get(f"/instances/{iid}").status_code == 200


def test_detail_escapes_title_and_data(client, env):
    iid = start(env, "alice", XSS)
    complete_open(env, iid, "alice", {"description": "<img src=x onerror=alert(1)>"})
    login(client, "alice")
    html = text(client.get(f"/instances/{iid}"))
    assert XSS not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # JSON inside the script element cannot close it
    script = re.search(r'id="pf-diagram-data">(.*?)</script>', html, re.S).group(1)
    assert "</" not in script


def test_documents_listed_and_linked_when_downloadable(app, client, env):
    from engine.store.tables import DocumentRecord

    iid = start(env, "alice")
    with transaction(env.sessions) as s:
        s.add(DocumentRecord(instance_id=iid, doc_type="charter", title="《项目立项书》<b>",
                             content_md="# x", created_at=env.clock.now()))
        doc_id = s.scalar(select(DocumentRecord.id))
    login(client, "alice")
    html = text(client.get(f"/instances/{iid}"))
    assert "《项目立项书》&lt;b&gt;" in html
    # linked only when the app has the download route (the documents issue adds it)
    routed = any(r.rule == "/instances/<int:instance_id>/documents/<int:doc_id>"
                 for r in app.url_map.iter_rules())
    assert (f'href="/instances/{iid}/documents/{doc_id}"' in html) == routed


def test_the_page_reads_each_name_table_once(app, client, env):
    """The timeline's group names are the data's: one read of the groups (it read them twice);
    the steps' names are kept by the version's tag: a page opened again does not read the
    version's BPMN file (142 KB for project_initiation) to name them."""
    iid = start(env, "alice")
    complete_open(env, iid, "alice", {"description": "预算说明"})
    login(client, "mgr")
    client.get(f"/instances/{iid}")  # warm: the model parsed
    with statements_run(env.db) as seen:
        assert client.get(f"/instances/{iid}").status_code == 200
    assert sum(" FROM groups" in s for s in seen) == 1, seen
    assert sum(" FROM users" in s and "api_tokens" not in s for s in seen) == 1, seen
    assert not any(" FROM version_files" in s for s in seen), seen
    assert len(seen) <= 8, seen  # 10 before the groups were read once, 9 before the names kept


def test_the_page_names_the_people_it_mentions_and_reads_only_theirs(app, client, env):
    """Its starter, who did each step and the people in its data, by name — deactivated
    accounts too — asked for by name, not every account (there is a bystander)."""
    from sqlalchemy import update

    from engine.store.tables import UserRecord
    from tests.conftest import add_test_user

    iid = start(env, "alice")
    complete_open(env, iid, "alice", {"description": "预算说明"})
    with transaction(env.sessions) as s:
        s.execute(update(UserRecord).where(UserRecord.username == "alice").values(
            display_name="王小丽", is_active=False))
        add_test_user(s, "bystander", display_name="路人甲", now=env.clock.now())
    login(client, "mgr")
    with statements_run(env.db) as seen:
        html = text(client.get(f"/instances/{iid}"))
    assert "王小丽" in html  # the starter (header, data's 发起人, the timeline's actor)
    assert ">alice<" not in html
    [users] = [x for x in seen if " FROM users" in x and "api_tokens" not in x]
    assert " IN (" in users, users  # the names it mentions, not every account
