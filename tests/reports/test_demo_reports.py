"""`planflow demo` shows what the processes wrote: one case in the 案例库 (the finished
春季会员日 project), one lead 销售部 follows up, and this month's numbers on 考核数据."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from engine.people.accounts import actor_for
from engine.read import cases, kpis, leads
from engine.store.db import transaction
from tests.conftest import PASSWORD
from web.demo import load_demo


def test_demo_shows_a_case_a_lead_and_numbers(sqlite_ctx) -> None:
    lines = list(load_demo(sqlite_ctx, PASSWORD))
    assert "意向客户 lead: 星辰科技（2026 春季新品体验会）→ 郑销售 跟进中" in lines
    assert "意向客户已存在，跳过 (lead exists)" in list(load_demo(sqlite_ctx, PASSWORD))
    with transaction(sqlite_ctx.sessions) as session:
        wang, zheng = actor_for(session, "wang"), actor_for(session, "zheng")
        found = cases.list_cases(sqlite_ctx, session, actor_for(session, "zhang"),
                                 cases.CaseQuery())
        assert [(c["title"], c["outcome"]) for c in found.items] == [
            ("会员日复购策略模板", "partly")]
        listed = leads.list_leads(session, zheng, leads.LeadQuery())
        assert [(i["customer_name"], i["status"]) for i in listed["items"]] == [
            ("星辰科技", "following_up")]
        numbers = kpis.kpis(session, wang, None, ZoneInfo("Asia/Shanghai"),
                            sqlite_ctx.clock.now())
        people = {p["username"]: p for p in numbers["people"]}
        assert people["zhao"]["projects_led"] == 1
        assert people["zhao"]["completion_rate"] is not None
        (project,) = [p for p in numbers["projects"] if p["title"] == "2026 春季会员日推广"]
        # 采纳的创意 on 内部评审 (nine days ago: maybe last month) and 协作满意度 on 复盘数据填报
        # of the department's own forms
        tz = ZoneInfo("Asia/Shanghai")
        review_month = (sqlite_ctx.clock.now() - timedelta(days=9)).astimezone(tz)
        then = kpis.kpis(session, wang, review_month.strftime("%Y-%m"), tz,
                         sqlite_ctx.clock.now())
        ideas = {p["username"]: p["ideas_adopted"] for p in then["people"]}
        assert (ideas["chen"], ideas["zhao"]) == (1, 1)
        assert project["collaboration_rating"] == 4.67
        assert [c["name"] for c in project["collaboration"]] == ["设计部", "财务部", "销售部"]
