"""考核数据 through the API, for one month: a project whose internal review adopted ideas of two
specialists, with two weekly reports (one on time, one late) and a retrospective rating the
departments; the numbers per person and per project, the .xlsx, who may see them, and the
award nominations made from them. The ideas are recorded on 内部评审 (采纳的创意) and the
ratings on 复盘数据填报 (协作满意度) of the department's own models."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from engine.clock import FixedClock
from tests.reports import (
    finish_project,
    project_to_execution,
)
from tests.scenarios import Api, fire_timers

IDEAS = [
    {"idea": "直播+门店联动", "proposer": "alice"},
    {"idea": "会员积分翻倍", "proposer": "bob"},
    {"idea": "限量赠品", "proposer": "alice"},
]
RATINGS = [{"department": "design", "rating": 4}, {"department": "finance", "rating": 5}]


def _weekly_report(api: Api, ctx, clock: FixedClock, at, done_after: timedelta) -> None:
    clock.set(at)
    fire_timers(ctx)
    clock.set(at + done_after)
    (task,) = [t for t in api.inbox("sup") if t["element_id"] == "Task_weekly_report"]
    api.complete("sup", task, {"overall_status": "on_track", "milestones_done": "预售页面上线",
                               "weekly_risks": "", "next_week_plan": "推进预售"})


@pytest.fixture
def project(api: Api, ctx, clock: FixedClock, tmp_path) -> int:
    started = clock.now()
    iid = project_to_execution(api, review={"adopted_ideas": IDEAS})
    _weekly_report(api, ctx, clock, started + timedelta(days=7, seconds=1), timedelta(hours=2))
    _weekly_report(api, ctx, clock, started + timedelta(days=14, seconds=1), timedelta(days=3))
    done = finish_project(api, iid, retro={"collaboration_ratings": RATINGS})
    assert done["status"] == "completed"
    return iid


def test_people_and_projects_of_a_month(api: Api, project: int) -> None:
    r = api.get("mgr", "/kpis/people", query_string={"period": "2026-03"})
    assert r.status_code == 200, r.get_json()
    found = r.get_json()
    assert found["period"] == {"key": "2026-03", "kind": "month", "first_day": "2026-03-01",
                               "last_day": "2026-03-31"}
    assert found["recorded"] == {"ideas": True, "ratings": True}
    people = {p["username"]: p for p in found["people"]}
    sup = people["sup"]
    assert (sup["projects_led"], sup["completion_rate"], sup["targets_met"],
            sup["targets_total"]) == (1, 100.0, 2, 2)
    assert (sup["tasks_due"], sup["tasks_on_time"], sup["on_time_rate"]) == (2, 1, 50.0)
    assert (people["alice"]["ideas_adopted"], people["bob"]["ideas_adopted"]) == (2, 1)
    assert people["alice"]["department"] == "策划专员"
    assert (people["fin"]["collaboration_rating"], people["fin"]["ratings"]) == (5.0, 1)
    assert people["alice"]["collaboration_rating"] is None  # 策划部 rates the others

    r = api.get("owner", "/kpis/projects", query_string={"period": "2026-Q1"})
    assert r.status_code == 200, r.get_json()
    (row,) = r.get_json()["projects"]
    assert (row["instance_id"], row["title"], row["owner"]) == (project, "Q3 旺季促销", "sup")
    assert (row["completion_rate"], row["tasks_due"], row["on_time_rate"]) == (100.0, 2, 50.0)
    assert (row["ideas_adopted"], row["collaboration_rating"]) == (3, 4.5)
    assert [(d["department"], d["name"], d["rating"]) for d in row["collaboration"]] == [
        ("design", "设计部", 4.0), ("finance", "财务部", 5.0)]

    april = api.get("mgr", "/kpis/people", query_string={"period": "2026-04"}).get_json()
    assert april["people"] == [] and april["recorded"] == {"ideas": False, "ratings": False}
    assert api.get("mgr", "/kpis/people").get_json()["period"]["key"] == "2026-03"  # now

    r = api.get("mgr", "/kpis/export", query_string={"period": "2026-03"})
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(r.get_data()))
    assert book.sheetnames == ["个人考核", "项目考核", "奖项提名"]
    rows = list(book["个人考核"].values)
    assert rows[0][:4] == ("姓名", "部门", "结项项目数（A角）", "目标完成率（%）")
    assert ("Sup", "策划主管", 1, 100.0) in [r[:4] for r in rows]


def test_who_sees_the_numbers(api: Api) -> None:
    for user in ("mgr", "sup", "boss", "owner", "root"):
        assert api.get(user, "/kpis/people").status_code == 200, user
    for user in ("alice", "fin", "sales1", "req"):
        for path in ("/kpis/people", "/kpis/projects", "/kpis/export", "/awards/nominations"):
            assert api.get(user, path).status_code == 403, (user, path)
    for bad in ("2026-13", "2026-Q5", "26-03", "2026-3", "0000-01", "9999"):
        r = api.get("mgr", "/kpis/people", query_string={"period": bad})
        assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == \
            "query.period", bad
    # years outside the range planflow takes (year 1 was a 500 on the export: its first day at
    # +08:00 is year 0 in UTC)
    for bad in ("0001", "0001-01", "1899-Q4", "3000", "9998-12"):
        for path in ("/kpis/people", "/kpis/projects", "/kpis/export"):
            r = api.get("mgr", path, query_string={"period": bad})
            assert r.status_code == 400, (path, bad, r.status_code)
            assert r.get_json()["error"]["details"] == {
                "field": "query.period", "problem": "out_of_range"}, (path, bad)
            assert "1900–2999" in r.get_json()["error"]["message"]
    for edge in ("1900-01", "2999-Q4"):
        assert api.get("mgr", "/kpis/export", query_string={"period": edge}).status_code == 200


def test_nominations_from_the_numbers(api: Api, project: int) -> None:
    star = {"award": "creative_star", "period": "2026-03", "nominee": "alice",
            "reason": "两条创意被采纳，直播+门店联动效果突出"}
    r = api.post("mgr", "/awards/nominations", star)
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert (made["subject_name"], made["nominated_by"], made["figures"]["ideas_adopted"]) == (
        "Alice", "mgr", 2)
    assert api.post("sup", "/awards/nominations", star).status_code == 409
    refused = {
        "des": {**star, "nominee": "des"},  # no numbers in March
        "quarter": {**star, "period": "2026-Q1"},  # 创意之星 is monthly
        "reason": {**star, "nominee": "bob", "reason": "  "},
        "project": {**star, "award": "project_benchmark", "period": "2026-Q1"},  # no project
        "year 0": {**star, "period": "0000-01"},
    }
    for name, body in refused.items():
        r = api.post("mgr", "/awards/nominations", body)
        assert r.status_code == 400, (name, r.get_json())
    r = api.post("mgr", "/awards/nominations", refused["year 0"])
    assert r.get_json()["error"]["details"]["field"] == "period"
    benchmark = {"award": "project_benchmark", "period": "2026-Q1", "instance_id": project,
                 "reason": "目标全部达成，协作评价高"}
    r = api.post("owner", "/awards/nominations", benchmark)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["figures"]["completion_rate"] == 100.0
    assert api.post("alice", "/awards/nominations", benchmark).status_code == 403
    listed = api.get("mgr", "/awards/nominations").get_json()["items"]
    assert [(n["award"], n["subject_name"]) for n in listed] == [
        ("project_benchmark", "Q3 旺季促销"), ("creative_star", "Alice")]
    march = api.get("mgr", "/awards/nominations", query_string={"period": "2026-03"})
    assert [n["nominee"] for n in march.get_json()["items"]] == ["alice"]
