"""The product launch when its steps are done by different processes: the guest confirmations
are answered one over the API, one through the `planflow complete` CLI after a server restart,
and one by a second server running beside the restarted one — each with its own engine context
(database engine, sessions, spec cache, serializer, script environment), as separate processes
have. The event date is moved while the preparation branches are open; the event day and
《活动总结》 must use the new date. Runs on SQLite and PostgreSQL (warm and cold, conftest)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from engine.clock import FixedClock
from engine.context import EngineContext, build_context
from tests.conftest import PASSWORD, START
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers, who_has
from tests.scenarios.launch_data import EVERYONE, GUESTS, SPECIALISTS, SUPERVISORS

OLD_DATE = "2026-03-12T14:00"
NEW_DATE = "2026-03-14T14:00"  # moved two days later while the branches are open
OLD_EVENT_DAY = datetime(2026, 3, 11, 16, 0, tzinfo=UTC)  # 2026-03-12 00:00 Shanghai
NEW_EVENT_DAY = datetime(2026, 3, 13, 16, 0, tzinfo=UTC)  # 2026-03-14 00:00 Shanghai
NEW_T_MINUS_3 = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # 2026-03-11 14:00 Shanghai
# the countdown poster's production: 3 working days before, 2026-03-06 09:00 Shanghai
NEW_T_MINUS_3_PRODUCTION = datetime(2026, 3, 6, 1, 0, tzinfo=UTC)


@pytest.fixture
def api(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> Api:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    return Api(client, token_for, clock)


def another_server(ctx: EngineContext, clock: FixedClock) -> tuple[Any, EngineContext]:
    """A server as a separately started process builds it: nothing shared but the database."""
    from web import create_app

    own = build_context(ctx.settings, clock=clock)
    return create_app({"TESTING": True}, context=own), own


def answer_in_another_process(ctx: EngineContext, task_id: str, data: dict[str, Any]) -> None:
    """`planflow serve` in its own process on the same database; bob logs in and completes."""
    from tests.reliability.conftest import Conn, wait_healthy
    from tests.reliability.helpers import free_port, planflow_env, spawn, stop

    port = free_port()
    env = planflow_env(ctx.settings.database_url, ctx.settings.bpmn_dir.parent)
    env["PLANFLOW_SECRET_KEY"] = ctx.settings.secret_key
    log = ctx.settings.bpmn_dir.parent / "second-server.log"
    proc = spawn(env, "serve", "--port", str(port), "--no-scheduler", log=log)
    try:
        wait_healthy(port, proc=proc)
        conn = Conn(port)
        status, body = conn.call(
            "POST", "/api/v1/auth/token", {"username": "bob", "password": PASSWORD}
        )
        assert status == 201, body
        conn.token = body["token"]
        status, body = conn.call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": data})
        assert status == 200, body
        conn.close()
    finally:
        stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, log.read_text(errors="replace")[-2000:]


@pytest.mark.compare_outcome_warm_and_cold(False)  # a real process runs on the wall clock
def test_guests_answered_by_api_cli_and_a_second_server(
    api: Api, scenario_ctx: EngineContext, clock: FixedClock
) -> None:
    assert clock.now() == START
    iid = api.start(
        "sup",
        "product_launch",
        {"event_name": "跨进程发布会", "theme": "主题", "event_date": OLD_DATE, "venue": "上海"},
    )["id"]
    api.do("des", iid, "Task_highlight_video", {"highlight_video_design_asset_url": "https://v"})
    api.do("des", iid, "Task_teaser_poster", {"teaser_poster_design_asset_url": "https://t"})
    for asset in ("highlight_video", "teaser_poster"):
        api.do(
            "alice",
            iid,
            f"Task_{asset}_publish",
            {f"{asset}_publish_status": "published", f"{asset}_published_url": "https://w"},
        )
    api.do(
        "bob",
        iid,
        "Task_venue_negotiation",
        {
            "buildout_plan": "主舞台",
            "equipment_rental": "LED",
            "venue_cost": 1,
            "venue_confirmed": True,
        },
    )
    api.do("alice", iid, "Task_guest_list", {"guests": GUESTS, "invitation_methods": ["paper"]})

    # The date moves while every preparation branch is still open.
    r = api.client.patch(
        f"/api/v1/process-instances/{iid}/data",
        headers=api.headers("sup"),
        json={"data": {"event_date": NEW_DATE}},
    )
    assert r.status_code == 200, r.get_json()

    # In the order of the guest list (tasks created together have no inbox order).
    confirmations = api.tasks("alice", iid, "Task_guest_confirmation")
    order = [g["guest_name"] for g in GUESTS]
    confirmations.sort(
        key=lambda t: order.index(
            api.get("bob", f"/tasks/{t['id']}").get_json()["data"]["guest"]["guest_name"]
        )
    )
    first, second, third = confirmations
    # 1. over the API of the first server
    api.complete("bob", first, {"rsvp_status": "confirmed"})

    # 2. the server restarts; meanwhile an operator answers through the CLI (its own context)
    from web.cli import main
    from web.cli_common import State

    state = State()
    state.clock = clock
    result = CliRunner().invoke(
        main,
        ["complete", second["id"], "--data", '{"rsvp_status": "declined"}', "--as", "bob"],
        obj=state,
        env={
            "PLANFLOW_DATABASE_URL": scenario_ctx.settings.database_url,
            "PLANFLOW_SECRET_KEY": scenario_ctx.settings.secret_key,
        },
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    state.ctx().db.dispose()
    restarted_app, restarted = another_server(scenario_ctx, clock)

    second_ctx = build_context(scenario_ctx.settings, clock=clock)
    try:
        after = Api(restarted_app.test_client(), api.headers, clock)
        assert after.instance("sup", iid)["data"]["event_date"] == NEW_DATE

        # the countdown poster of the new date (made 3 working days before its T-3), then
        # the old event day passes without an event...
        clock.set(NEW_T_MINUS_3_PRODUCTION + timedelta(minutes=1))
        fire_timers(restarted)
        after.do(
            "des", iid, "Task_countdown_poster", {"countdown_poster_design_asset_url": "https://c"}
        )
        publish = after.task("alice", iid, "Task_countdown_poster_publish")
        assert publish["due_at"] == NEW_T_MINUS_3.isoformat()
        after.complete(
            "alice",
            publish,
            {
                "countdown_poster_publish_status": "cancelled",
                "countdown_poster_publish_note": "改期",
            },
        )
        clock.set(OLD_EVENT_DAY + timedelta(minutes=1))
        fire_timers(second_ctx)
        assert who_has(after, EVERYONE, iid, "Task_onsite_command") == []
        # ...and the on-site tasks open on the new one (the last guest has not answered yet:
        # the event day does not wait for the preparation).
        clock.set(NEW_EVENT_DAY + timedelta(minutes=1))
        fire_timers(second_ctx)
        assert who_has(after, EVERYONE, iid, "Task_onsite_command") == SUPERVISORS

        # 3. a second server — a real process, started beside the restarted one — takes the
        #    last guest over HTTP. It runs on the wall clock, so it acts once nothing time-bound
        #    still waits (the event day waits from the start and would fire there).
        answer_in_another_process(scenario_ctx, third["id"], {"rsvp_status": "confirmed"})
        data = after.instance("sup", iid)["data"]
        assert (data["invited_guest_count"], data["confirmed_guest_count"]) == (3, 2)
        after.do("sup", iid, "Task_onsite_command", {"run_of_show": "流程"})
        after.do("alice", iid, "Task_checkin", {"checked_in_count": 10})
        after.do(
            "alice", iid, "Task_livestream", {"live_platforms": ["bilibili"], "live_viewers": 1}
        )
        after.do("bob", iid, "Task_emergency", {"incident_level": "none"})
        after.do(
            "bob", iid, "Task_realtime_comms", {"posts_published": 1, "online_interactions": 1}
        )
        assert who_has(after, EVERYONE, iid, "Task_wrap_up") == SPECIALISTS
        done = after.do(
            "alice",
            iid,
            "Task_wrap_up",
            {
                "media_archive_url": "https://a",
                "total_exposure": 1,
                "total_interactions": 1,
                "guest_feedback": "好",
                "leads": [],
            },
        )
        [doc] = [d for d in done["documents"] if d["doc_type"] == "event_summary"]
        text = after.check_downloads("sup", iid, doc)
        assert "| 活动时间 | 2026-03-14 14:00 |" in text
        assert "确认出席：2 位" in text
    finally:
        restarted.close()
        second_ctx.close()
