"""意向客户 through the API: the leads an event handed to sales are listed for 销售部 and the
managers (nobody else), sales sets 跟进中 / 已转化 / 无效 with a note, and every update is on
the event's instance with the event's results so far."""

from __future__ import annotations

from tests.reports import event_with_leads
from tests.scenarios import Api


def test_sales_follow_up_feeds_the_event(api: Api, ctx) -> None:
    iid = event_with_leads(api, ctx)
    r = api.get("sales1", "/leads")
    assert r.status_code == 200, r.get_json()
    page = r.get_json()
    assert page["total"] == 2 and page["summary"] == {
        "handed_over": 2, "following_up": 0, "converted": 0, "closed": 0}
    star, far = page["items"]  # high interest first
    assert (star["customer_name"], star["status"], star["instance_id"]) == ("星辰科技",
                                                                           "handed_over", iid)
    assert star["event_name"] == "2026 新品发布会" and star["last_update"] is None
    assert far["customer_name"] == "远山贸易"

    r = api.post("sales1", f"/leads/{star['id']}/status",
                 {"status": "following_up", "note": "已电话联系，约下周演示"})
    assert r.status_code == 200, r.get_json()
    r = api.post("sales1", f"/leads/{star['id']}/status", {"status": "converted",
                                                          "note": "签约 200 台"})
    lead = r.get_json()
    assert lead["status"] == "converted"
    assert [(h["from_status"], h["status"], h["by"]) for h in lead["history"]] == [
        ("handed_over", "following_up", "sales1"), ("following_up", "converted", "sales1")]
    assert lead["last_update"]["note"] == "签约 200 台"
    assert lead["event_results"] == {"handed_over": 1, "following_up": 0, "converted": 1,
                                     "closed": 0, "total": 2}
    r = api.post("mgr", f"/leads/{far['id']}/status", {"status": "closed", "note": "联系方式无效"})
    assert r.status_code == 200  # managers too

    # the event's instance shows each update with the results so far
    notes = [a["details"] for a in api.instance("mgr", iid)["audit"]
             if a["action"] == "handler_note" and a["details"].get("kind") == "lead_status"]
    assert [n["note"] for n in notes] == [
        "意向客户「星辰科技」：待跟进 → 跟进中（已电话联系，约下周演示）。"
        "本场活动意向客户 2 条：跟进中 1，待跟进 1（转化率 0%）",
        "意向客户「星辰科技」：跟进中 → 已转化（签约 200 台）。"
        "本场活动意向客户 2 条：已转化 1，待跟进 1（转化率 50%）",
        "意向客户「远山贸易」：待跟进 → 无效（联系方式无效）。"
        "本场活动意向客户 2 条：已转化 1，无效 1（转化率 50%）",
    ]
    assert notes[-1]["lead_results"]["converted"] == 1

    # filters: status, event, words; the summary counts what the other filters leave
    def names(**query: object) -> list[str]:
        r = api.get("sup", "/leads", query_string=query)
        assert r.status_code == 200, r.get_json()
        return [i["customer_name"] for i in r.get_json()["items"]]

    assert names(status="converted") == ["星辰科技"]
    assert names(instance_id=iid, q="远山") == ["远山贸易"]
    assert names(instance_id=iid + 1000) == []
    summary = api.get("sales1", "/leads", query_string={"status": "closed"}).get_json()["summary"]
    assert summary == {"handed_over": 0, "following_up": 0, "converted": 1, "closed": 1}


def test_who_may_see_and_update_leads(api: Api, ctx) -> None:
    iid = event_with_leads(api, ctx)
    lead_id = api.get("sales1", "/leads").get_json()["items"][0]["id"]
    for user in ("alice", "fin", "des", "req"):  # staff outside sales: not theirs
        assert api.get(user, "/leads").status_code == 403, user
        assert api.get(user, f"/leads/{lead_id}").status_code == 403, user
        r = api.post(user, f"/leads/{lead_id}/status", {"status": "converted"})
        assert r.status_code == 403, user
    for user in ("sales1", "mgr", "sup", "boss"):
        assert api.get(user, f"/leads/{lead_id}").status_code == 200, user
    assert api.get("sales1", "/leads/999").status_code == 404
    r = api.post("sales1", f"/leads/{lead_id}/status", {"status": "handed_over"})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "status"
    assert api.post("sales1", f"/leads/{lead_id}/status", {"status": "converted"}).status_code \
        == 200
    r = api.post("sales1", f"/leads/{lead_id}/status", {"status": "converted"})
    assert r.status_code == 409  # nothing changes, nothing said
    r = api.post("sales1", f"/leads/{lead_id}/status", {"status": "converted", "note": "已回款"})
    assert r.status_code == 200 and len(r.get_json()["history"]) == 2
    assert api.get("sales1", "/leads", query_string={"instance_id": iid}).get_json()["total"] == 2
