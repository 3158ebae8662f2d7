"""The 流程实例 page of an instance with a long history: its 流转记录 shows the latest
`ACTION_AUDIT` entries (newest first, numbered as in the whole log) and how many earlier ones it
leaves out, with 显示全部 for all of them; the diagram's highlights are the same either way
(they come from the elements the instance recorded as passed). An instance saved before it
recorded them shows everything."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update

from engine.read.instance_detail import ACTION_AUDIT
from engine.store.db import transaction
from engine.store.tables import AuditRecord, InstanceRecord
from tests.pages import as_user
from tests.web.manage_helpers import diagram, text
from tests.web.staff_helpers import (
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    sent_back,
)


def _timeline(html: str) -> list[str]:
    found = re.search(r'<ol class="pf-timeline"[^>]*>(.*?)</ol>', html, re.S)
    assert found, "no timeline on the page"
    return re.findall(r"<li>", found.group(1))


def _entries(ctx, iid: int) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.instance_id == iid)
        )


def test_a_long_timeline_shows_the_latest_entries_and_links_to_all(app, ctx):
    iid, _ = sent_back(ctx, 15)
    total = _entries(ctx, iid)
    assert total > ACTION_AUDIT
    client = as_user(app, "mgr")
    page = text(client.get(f"/instances/{iid}"))
    assert len(_timeline(page)) == ACTION_AUDIT
    assert f'<ol class="pf-timeline" reversed start="{total}">' in page
    assert f"另有 {total - ACTION_AUDIT} 条更早的记录未显示" in page
    assert f'href="/instances/{iid}?timeline=all#h-timeline">显示全部</a>' in page
    everything = text(client.get(f"/instances/{iid}?timeline=all"))
    assert len(_timeline(everything)) == total
    assert "更早的记录" not in everything
    assert f'href="/instances/{iid}#h-timeline">只看最近 {ACTION_AUDIT} 条</a>' in everything
    # what the diagram marks as done, running and waiting does not depend on it
    assert diagram(page)["highlights"] == diagram(everything)["highlights"]
    assert diagram(page)["highlights"]["completed"]
    client.get(f"/lang/en?next=/instances/{iid}")
    english = text(client.get(f"/instances/{iid}"))
    assert f"{total - ACTION_AUDIT} earlier entries not shown" in english
    assert ">Show all</a>" in english


def test_an_instance_saved_before_it_recorded_its_passed_elements_shows_everything(app, ctx):
    iid, _ = sent_back(ctx, 15)
    with transaction(ctx.sessions) as s:
        s.execute(update(InstanceRecord).where(InstanceRecord.id == iid)
                  .values(passed_elements=None))
    page = text(as_user(app, "mgr").get(f"/instances/{iid}"))
    assert len(_timeline(page)) == _entries(ctx, iid)
    assert 'id="history-more"' not in page
    assert "review" in diagram(page)["highlights"]["completed"]  # from its tasks


def test_a_short_timeline_has_no_link(app, ctx):
    iid, _ = sent_back(ctx, 1)
    page = text(as_user(app, "mgr").get(f"/instances/{iid}"))
    assert len(_timeline(page)) == _entries(ctx, iid)
    assert 'id="history-more"' not in page
