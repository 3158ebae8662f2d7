"""案例库 through the API: a finished project's retrospective files a case; everyone finds it by
words, type, outcome and tag, opens it, and starts a new project from its template."""

from __future__ import annotations

from tests.reports import START, finish_project, project_to_execution
from tests.scenarios import Api


def _two_cases(api: Api) -> tuple[int, int]:
    a = project_to_execution(api)
    finish_project(api, a)  # both targets reached: met
    b = project_to_execution(api, {"project_name": "城市快闪", "requesting_department": "市场部"})
    finish_project(api, b, title="城市快闪活动复盘", category="event", metrics=[
        {"name": "到场人数", "target": 1000, "actual": 600, "unit": "人"},
    ])
    return a, b


def test_browse_search_open_and_reuse_a_case(api: Api) -> None:
    a, b = _two_cases(api)
    r = api.get("sales1", "/cases")  # everyone reads the library, not only who took part
    assert r.status_code == 200, r.get_json()
    page = r.get_json()
    assert [c["title"] for c in page["items"]] == ["城市快闪活动复盘", "旺季预售策略模板"]
    flash, presale = page["items"]
    assert (presale["instance_id"], presale["category_label"]) == (a, "促销活动")
    assert (presale["outcome"], presale["completion_rate"]) == ("met", 100.0)
    assert (presale["targets_met"], presale["targets_total"]) == (2, 2)
    assert presale["tags"] == ["促销活动", "业务部门需求", "销售部"]
    assert presale["owner_name"] == "Sup" and "亮点：线上预售转化率高" in presale["summary"]
    assert (flash["outcome"], flash["category"], flash["instance_id"]) == ("missed", "event", b)
    counts = {f["key"]: f["count"] for f in page["facets"]["categories"]}
    assert (counts["promotion"], counts["event"], counts["brand"]) == (1, 1, 0)
    assert {t["key"]: t["count"] for t in page["facets"]["tags"]}["业务部门需求"] == 2

    def titles(**query: str) -> list[str]:
        r = api.get("alice", "/cases", query_string=query)
        assert r.status_code == 200, r.get_json()
        return [c["title"] for c in r.get_json()["items"]]

    assert titles(q="旺季") == ["旺季预售策略模板"]  # the title, the project name
    assert titles(q="快闪 市场部") == ["城市快闪活动复盘"]  # every word, tags too
    assert titles(q="线上预售") == ["城市快闪活动复盘", "旺季预售策略模板"]  # the strategy
    assert titles(category="event") == ["城市快闪活动复盘"]
    assert titles(outcome="met") == ["旺季预售策略模板"]
    assert titles(tag="销售部") == ["旺季预售策略模板"]
    assert titles(q="没有这个词") == []

    r = api.get("sales1", f"/cases/{flash['id']}")
    assert r.status_code == 200, r.get_json()
    case = r.get_json()
    overview = {row["label"]: row["value"] for row in case["overview"]}
    assert overview["需求来源"] == "业务部门需求" and overview["需求部门"] == "市场部"
    assert overview["核心策略"] == "线上预售+线下体验"
    results = {row["key"]: row["value"] for row in case["results"]}
    assert results["metrics"]["rows"][0][:3] == ["到场人数", "1,000", "600"]  # as shown
    assert results["process_improvements"] == "线下活动需提前一周确认天气"
    assert case["report"]["markdown"].startswith("# 《项目复盘报告》")
    template = case["template"]
    assert template["process"] == "project_initiation"
    assert template["data"] == {  # not the old project's name nor its people
        k: v for k, v in {**START, "requesting_department": "市场部"}.items()
        if k not in ("project_name", "a_owner", "b_owner")
    }

    # a new project from the case: the template plus its own name and owners
    data = {**template["data"], "project_name": "Q4 城市快闪", "a_owner": "sup",
            "b_owner": "sup2"}
    started = api.start("bob", template["process"], data)
    assert started["data"]["requirement_description"] == START["requirement_description"]


def test_case_errors(api: Api) -> None:
    assert api.get("alice", "/cases/999").status_code == 404
    r = api.get("alice", "/cases", query_string={"outcome": "great"})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "query.outcome"
    assert api.client.get("/api/v1/cases").status_code == 401
    assert api.get("alice", "/cases").get_json() == {
        "items": [], "total": 0, "page": 1, "per_page": 20,
        "facets": {
            "categories": [
                {"key": k, "label": v, "count": 0}
                for k, v in (("promotion", "促销活动"), ("event", "活动执行"),
                             ("brand", "品牌传播"), ("channel", "渠道拓展"), ("other", "其他"))
            ],
            "outcomes": [{"key": k, "count": 0} for k in ("met", "partly", "missed", "unrated")],
            "tags": [],
        },
    }
