"""邀请函 (issue 15, 活动执行: 发送邀请函（含电子+纸质版），跟踪确认出席): the guest list produces
one 《邀请函》 document per guest, and each guest's confirmation task is named after the guest
(`titleExpression`) in every inbox, on the task and in the history, with its invitation."""

from __future__ import annotations

from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from tests.scenarios import Api, add_extra_staff, deploy_department_models
from tests.scenarios.launch_data import GUESTS

EVENT_DATE = "2026-03-12T14:00"


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def test_one_invitation_per_guest_and_tasks_named_after_the_guest(api: Api) -> None:
    iid = api.start(
        "sup",
        "product_launch",
        {"event_name": "2026 新品发布会", "theme": "科技赋能,重构未来", "event_date": EVENT_DATE,
         "venue": "上海国际会议中心"},
    )["id"]
    done = api.do(
        "alice",
        iid,
        "Task_guest_list",
        {"guests": GUESTS, "invitation_methods": ["electronic", "paper"]},
    )

    # one 《邀请函》 per guest, in the order of the list
    invitations = [d for d in done["documents"] if d["doc_type"] == "invitation"]
    assert [d["title"] for d in invitations] == [
        "《邀请函》— 2026 新品发布会（李记者）",
        "《邀请函》— 2026 新品发布会（王总）",
        "《邀请函》— 2026 新品发布会（科技博主小周）",
    ]
    text = api.check_downloads("bob", iid, invitations[0])
    for expected in (
        "尊敬的李记者（科技日报）：",
        "**2026 新品发布会**",
        "| 活动时间 | 2026-03-12 14:00 |",
        "| 活动地点 | 上海国际会议中心 |",
        "| 嘉宾类别 | 媒体 |",
        "| 邀请方式 | 电子邀请函、纸质邀请函 |",
        "敬请于 2026-03-11 前回复是否出席",
    ):
        assert expected in text, (expected, text)
    blogger = api.download("bob", iid, invitations[2]["id"], "md").get_data(as_text=True)
    assert "尊敬的科技博主小周：" in blogger  # no organisation, no brackets

    # each confirmation task carries its guest: in the inbox, on the task, in the history
    tasks = api.tasks("bob", iid, "Task_guest_confirmation")
    assert sorted(t["name"] for t in tasks) == [
        "嘉宾确认：李记者（科技日报）",
        "嘉宾确认：王总（星辰科技）",
        "嘉宾确认：科技博主小周",
    ]
    by_name = {t["name"]: t for t in tasks}
    page = api.get("bob", f"/tasks/{by_name['嘉宾确认：王总（星辰科技）']['id']}").get_json()
    assert page["name"] == "嘉宾确认：王总（星辰科技）"
    guest = page["data"]["guest"]
    assert guest["guest_name"] == "王总"
    assert guest["invitation_doc"]["title"] == "《邀请函》— 2026 新品发布会（王总）"
    created = [
        a["details"]["name"]
        for a in api.instance("sup", iid)["audit"]
        if a["action"] == "task_created" and a["element_id"] == "Task_guest_confirmation"
    ]
    assert sorted(created) == sorted(by_name)

    # the answers still reach the instance with the guests (and their invitations)
    for name, status in zip(sorted(by_name), ["confirmed", "confirmed", "declined"], strict=True):
        last = api.complete("bob", by_name[name], {"rsvp_status": status})
    data = last["data"]
    assert (data["invited_guest_count"], data["confirmed_guest_count"]) == (3, 2)
    assert {g["invitation_doc"]["doc_type"] for g in data["guest_confirmations"]} == {
        "invitation"
    }
