"""运行检查 (/admin/health): the page shows what `planflow doctor` finds, to administrators only."""

from __future__ import annotations

from sqlalchemy import delete

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import TimerRow
from engine.usecases import instances
from tests.conftest import deploy_fixture
from tests.pages import login


def test_admin_sees_findings_in_chinese_and_staff_are_refused(
    app, client, sqlite_ctx, api_staff
) -> None:
    deploy_fixture(sqlite_ctx)
    login(client, "root")
    page = client.get("/admin/health").get_data(as_text=True)
    assert "运行检查" in page and "一切正常" in page
    with transaction(sqlite_ctx.sessions) as s:
        iid = instances.start(
            sqlite_ctx, s, actor_for(s, "alice"), "approval_demo",
            {"title": "新品推广", "amount": 5000},
        ).id
    with transaction(sqlite_ctx.sessions) as s:
        assert s.execute(delete(TimerRow).where(TimerRow.instance_id == iid)).rowcount == 0
    # A ready task without its inbox row: what a lost projection looks like.
    from engine.store.tables import HumanTaskRow

    with transaction(sqlite_ctx.sessions) as s:
        s.execute(delete(HumanTaskRow).where(HumanTaskRow.instance_id == iid))
    r = client.get("/admin/health")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "发现 1 个问题" in page
    assert "待办缺失" in page and f"#{iid}" in page and "manage.health" not in page
    login(client, "alice")
    assert client.get("/admin/health").status_code == 403
