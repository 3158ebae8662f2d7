"""The engine queries behind the management pages (instance list, dashboard, groups, calendar,
model diff), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from engine.people.accounts import actor_for
from engine.store.db import transaction
from tests.conftest import deploy_fixture
from tests.web.manage_helpers import bulk_instances, complete_open, start


def test_read_models_on_each_backend(ctx, staff, clock):
    from zoneinfo import ZoneInfo

    from engine.people import admin as users_admin
    from engine.read import dashboard, instance_view, model_view

    tz = ZoneInfo("Asia/Shanghai")
    deploy_fixture(ctx)
    a = start(ctx, "alice", "甲", 5000)
    b = start(ctx, "bob", "乙", 500)
    complete_open(ctx, b, "bob", {"description": "x"})  # waiting on the 1 h timer
    clock.advance(days=3)
    bulk_instances(ctx, 2, model_key="project_initiation", status="completed",
                   started_by="mgr", data={"completion_rate": 88})
    with transaction(ctx.sessions) as s:
        mgr, alice = actor_for(s, "mgr"), actor_for(s, "alice")
        now = clock.now()

        def ids(actor, **kw):
            page = instance_view.list_instances(s, actor, instance_view.InstanceFilter(**kw),
                                                now=now, tz=tz)
            return [r["id"] for r in page.items], page.total

        assert ids(mgr)[1] == 4
        assert ids(mgr, process="approval_demo") == ([b, a], 2)
        assert ids(mgr, overdue=True) == ([a], 1)
        assert ids(mgr, overdue=True, stage="提交说明") == ([a], 1)
        assert ids(mgr, stage="提交说明", process="approval_demo", status="running") == ([a], 1)
        assert ids(alice) == ([a], 1)
        d = dashboard.build(s, now, tz)
        assert d.running_by_process[0]["counts"]["running"] == 1
        assert [r["completion_rate"] for r in d.kpi] == [88.0, 88.0]
        assert sum(n for _, n in d.throughput) == 2
        assert d.overdue_by_group[0]["group"] == "planning_specialist"
        root = actor_for(s, "root")
        users_admin.create_group(s, root, now, "ops_team", "运营组", "Ops")
        users_admin.change_groups(s, root, now, "bob", ["ops_team"])
        assert users_admin.list_groups(s)[-1]["name"] == "tech"
        assert {g["name"]: g["members"] for g in users_admin.list_groups(s)}["ops_team"] == 1
        users_admin.edit_calendar_days(s, root, now, date(2029, 1, 1), date(2029, 1, 2),
                                       "holiday", "元旦")
        lines, cut = model_view.diff(s, "approval_demo", 1, 1, "approval_demo.bpmn")
        assert lines == [] and not cut
