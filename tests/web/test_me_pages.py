"""抄送我的, the notification bell, 外出设置 (A/B) and 撤回 on the 已办 list, through Flask's test
client on the fixture model approval_demo (提交说明 for 策划专员 -> 经理审批 for 策划部经理);
plus instance visibility for a CC recipient and a B-role substitute (API and UI)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine import operations
from engine.errors import Conflict
from engine.operations import cc
from engine.people import absence
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.records_ops import InstanceCcRecord, NotificationRecord
from engine.store.tables import HumanTaskRow
from engine.usecases import instances
from tests.conftest import PASSWORD, add_test_user, deploy_fixture
from tests.pages import as_user, csrf, html

# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def ctx(sqlite_ctx, api_staff):
    deploy_fixture(sqlite_ctx)
    with transaction(sqlite_ctx.sessions) as s:  # a stranger to every instance here
        add_test_user(s, "zhang", PASSWORD, now=sqlite_ctx.clock.now(), groups=["legal"])
    return sqlite_ctx


def start(ctx, title: str, username: str = "alice") -> int:
    with transaction(ctx.sessions) as s:
        return instances.start(
            ctx, s, actor_for(s, username), "approval_demo", {"title": title, "amount": 5000}
        ).id


def open_task(ctx, instance_id: int) -> HumanTaskRow:
    with transaction(ctx.sessions) as s:
        (row,) = s.scalars(
            select(HumanTaskRow).where(
                HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"
            )
        ).all()
        return row


def act(ctx, fn, username: str, *args, **kwargs):
    with transaction(ctx.sessions) as s:
        return fn(ctx, s, actor_for(s, username), *args, **kwargs)


def copy_to(ctx, instance_id: int, *users: str, by: str = "alice") -> None:
    act(ctx, cc.cc, by, instance_id, list(users), note="请知悉")


def cc_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="me-cc[^"]*" data-cc-id="(\d+)"', page)]


def nav_badge(page: str, label: str) -> str | None:
    match = re.search(rf'>{label} <span class="badge"[^>]*>(\d+)</span>', page)
    return match.group(1) if match else None


def bell(page: str) -> str:
    match = re.search(r'<a class="bell" href="/notifications" aria-label="([^"]+)"', page)
    assert match, "no bell in the top bar"
    return match.group(1)


def assignee(ctx, task_id: str) -> str | None:
    with transaction(ctx.sessions) as s:
        return s.get(HumanTaskRow, task_id).assignee


# --- 抄送我的 ---------------------------------------------------------------------------------


def test_cc_list_shows_only_my_copies_with_unread_badge(app, ctx):
    mine, other = start(ctx, "春季新品发布会"), start(ctx, "秋季经销商大会")
    copy_to(ctx, mine, "req")
    copy_to(ctx, other, "fin")
    req = as_user(app, "req")
    page = html(req.get("/cc"))
    with transaction(ctx.sessions) as s:
        (my_copy,) = s.scalars(
            select(InstanceCcRecord.id).where(InstanceCcRecord.username == "req")
        )
    assert cc_ids(page) == [my_copy]
    assert "春季新品发布会" in page and "秋季经销商大会" not in page
    assert "me-unread" in page and "请知悉" in page and "Alice" in page  # note, who copied
    assert nav_badge(page, "抄送我的") == "1"
    # filters: unread only, and a title search that matches nothing
    assert cc_ids(html(req.get("/cc?show=unread"))) == [my_copy]
    assert cc_ids(html(req.get("/cc?q=秋季"))) == []


def test_opening_a_copy_is_read_only_and_marks_it_read(app, ctx):
    iid = start(ctx, "品牌周")
    copy_to(ctx, iid, "req")
    req = as_user(app, "req")
    (copy_id,) = cc_ids(html(req.get("/cc")))
    r = req.get(f"/cc/{copy_id}")
    assert r.status_code == 200
    page = html(r)
    assert "品牌周" in page and "金额" in page and "5,000" in page  # key data, grouped
    assert "只读" in page and "提交说明" in page  # read-only, the open step
    # no form to submit, no operations: the only POST form is the logout button
    assert re.findall(r'<form method="post" action="([^"]+)"', page) == ["/logout"]
    assert 'id="staff-form"' not in page
    listing = html(req.get("/cc"))
    assert "me-unread" not in listing and nav_badge(listing, "抄送我的") is None
    assert cc_ids(html(req.get("/cc?show=unread"))) == []


def test_a_copy_names_the_people_it_mentions_and_reads_only_theirs(app, ctx):
    """Who copied it, who started the instance (since deactivated) and who holds its open
    step, by name; the accounts asked for by name, not every account."""
    from sqlalchemy import update

    from engine.store.tables import UserRecord
    from tests.sql_log import statements_run

    iid = start(ctx, "品牌周")
    copy_to(ctx, iid, "req")
    with transaction(ctx.sessions) as s:
        s.execute(update(UserRecord).where(UserRecord.username == "alice").values(
            display_name="王小丽", is_active=False))
    req = as_user(app, "req")
    (copy_id,) = cc_ids(html(req.get("/cc")))
    with statements_run(ctx.db) as seen:
        page = html(req.get(f"/cc/{copy_id}"))
    assert page.count("王小丽") >= 2 and ">alice<" not in page  # copied by, started by
    users = [x for x in seen if " FROM users" in x and "api_tokens" not in x]
    assert users and all(" IN (" in x for x in users), users


def test_a_stranger_cannot_open_someone_elses_copy(app, ctx):
    iid = start(ctx, "品牌周")
    copy_to(ctx, iid, "req")
    with transaction(ctx.sessions) as s:
        copy_id = s.scalar(select(InstanceCcRecord.id))
    assert as_user(app, "fin").get(f"/cc/{copy_id}").status_code == 404
    with transaction(ctx.sessions) as s:
        assert s.get(InstanceCcRecord, copy_id).read_at is None  # not marked read by fin


def test_mark_all_read_needs_csrf(app, ctx):
    for title in ("一", "二"):
        copy_to(ctx, start(ctx, title), "req")
    req = as_user(app, "req")
    assert req.post("/cc/read-all", data={}).status_code == 400
    assert nav_badge(html(req.get("/cc")), "抄送我的") == "2"
    r = req.post("/cc/read-all", data={"csrf_token": csrf(req), "next": "/cc?show=unread"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cc?show=unread")
    page = html(req.get(r.headers["Location"]))
    assert "2 条抄送标为已读" in page and cc_ids(page) == []
    assert nav_badge(page, "抄送我的") is None


# --- instance visibility: CC recipient, B-role substitute, stranger ---------------------------


def test_cc_recipient_and_b_role_open_the_instance_a_stranger_does_not(app, ctx, token_for):
    iid = start(ctx, "渠道大会")
    tid = open_task(ctx, iid).id
    act(ctx, instances.claim, "alice", tid)
    for user in ("req", "fin", "zhang"):
        r = app.test_client().get(f"/api/v1/process-instances/{iid}", headers=token_for(user))
        assert r.status_code == 404, user
    copy_to(ctx, iid, "req")
    act(ctx, absence.mark_away, "alice", "alice", deputy="fin")
    assert assignee(ctx, tid) == "fin"
    for user in ("req", "fin"):
        r = app.test_client().get(f"/api/v1/process-instances/{iid}", headers=token_for(user))
        assert r.status_code == 200 and r.get_json()["title"] == "渠道大会", user
        page = as_user(app, user).get(f"/instances/{iid}")
        assert page.status_code == 200 and "渠道大会" in html(page), user
    r = app.test_client().get(f"/api/v1/process-instances/{iid}", headers=token_for("zhang"))
    assert r.status_code == 404
    assert as_user(app, "zhang").get(f"/instances/{iid}").status_code == 404


# --- the bell ---------------------------------------------------------------------------------


def unread_notifications(ctx, username: str) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(
            select(func.count(NotificationRecord.id)).where(
                NotificationRecord.username == username, NotificationRecord.read_at.is_(None)
            )
        )


def test_bell_count_page_and_mark_read(app, ctx):
    first, second = start(ctx, "发布会甲"), start(ctx, "发布会乙")
    copy_to(ctx, first, "req")
    copy_to(ctx, second, "req")
    req = as_user(app, "req")
    assert unread_notifications(ctx, "req") == 2
    assert bell(html(req.get("/cc"))) == "通知（2 条未读）"
    page = html(req.get("/notifications"))
    ids = re.findall(r'class="me-notification me-unread" data-notification-id="(\d+)"', page)
    assert len(ids) == 2 and "【抄送】发布会乙" in page and "【抄送】发布会甲" in page
    # opening one: POST + CSRF, marks it read and follows it
    assert req.post(f"/notifications/{ids[0]}/open", data={"next": "/cc"}).status_code == 400
    r = req.post(f"/notifications/{ids[0]}/open", data={"csrf_token": csrf(req), "next": "/cc"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cc")
    assert unread_notifications(ctx, "req") == 1
    assert bell(html(req.get("/notifications"))) == "通知（1 条未读）"
    # someone else's notification id is not theirs to mark
    zhang = as_user(app, "zhang")
    zhang.post(f"/notifications/{ids[1]}/open", data={"csrf_token": csrf(zhang), "next": "/"})
    assert unread_notifications(ctx, "req") == 1
    # mark all read
    assert req.post("/notifications/read-all", data={}).status_code == 400
    r = req.post("/notifications/read-all", data={"csrf_token": csrf(req)})
    assert r.status_code == 303
    assert unread_notifications(ctx, "req") == 0
    page = html(req.get("/notifications"))
    assert bell(page) == "通知（0 条未读）" and "me-unread" not in page


def test_bell_counts_a_task_assigned_to_me(app, ctx):
    iid = start(ctx, "路演")
    tid = open_task(ctx, iid).id
    act(ctx, instances.claim, "alice", tid)
    before = unread_notifications(ctx, "bob")
    act(ctx, operations.transfer, "alice", tid, "bob")
    assert unread_notifications(ctx, "bob") == before + 1
    page = html(as_user(app, "bob").get("/tasks"))
    assert bell(page) == f"通知（{before + 1} 条未读）"
    listing = html(as_user(app, "bob").get("/notifications"))
    assert f'name="next" value="/tasks/{tid}"' in listing  # leads to the task


# --- 外出设置 ---------------------------------------------------------------------------------


def test_away_hands_tasks_to_the_deputy_and_back(app, ctx):
    tid = open_task(ctx, start(ctx, "新品上市")).id
    act(ctx, instances.claim, "alice", tid)
    alice = as_user(app, "alice")
    page = html(alice.get("/me/away"))
    assert 'id="away-username"' not in page  # staff set only their own
    assert 'href="/me/away"' in page  # linked from the user box
    r = alice.post(
        "/me/away",
        data={
            "csrf_token": csrf(alice),
            "starts_at": "",
            "ends_at": "2026-03-09T18:00",
            "deputy": "fin",
            "note": "年假",
        },
    )
    assert r.status_code == 303, html(r)
    assert assignee(ctx, tid) == "fin"
    page = html(alice.get("/me/away"))
    assert "已设置外出（Alice）" in page and "外出中" in page and "年假" in page
    assert "2026-03-09 18:00" in page  # until, in Shanghai time
    r = alice.post("/me/away/back", data={"csrf_token": csrf(alice)})
    assert r.status_code == 303
    assert assignee(ctx, tid) == "alice"
    assert "1 个任务已交还" in html(alice.get("/me/away"))


def test_away_until_before_from_keeps_values_and_shows_the_error(app, ctx):
    alice = as_user(app, "alice")
    r = alice.post(
        "/me/away",
        data={
            "csrf_token": csrf(alice),
            "starts_at": "2026-03-10T09:00",
            "ends_at": "2026-03-05T09:00",
            "deputy": "bob",
            "note": "出差<b>",
        },
    )
    assert r.status_code == 400
    page = html(r)
    assert 'role="alert"' in page and "结束时间必须晚于开始时间" in page
    assert 'value="2026-03-10T09:00"' in page and 'value="2026-03-05T09:00"' in page
    assert re.search(r'id="away-until"[^>]*aria-invalid="true"', page)
    assert re.search(r'<option value="bob"[^>]* selected>', page)
    assert "出差&lt;b&gt;</textarea>" in page  # kept, escaped
    r = alice.post("/me/away", data={"csrf_token": csrf(alice), "starts_at": "下周一"})
    assert r.status_code == 400
    assert re.search(r'id="away-from"[^>]*aria-invalid="true"', html(r))
    # year 1 at +08:00 is year 0 in UTC (was a 500); a year outside the range names its field
    for name, field_id in (("starts_at", "away-from"), ("ends_at", "away-until")):
        r = alice.post("/me/away", data={"csrf_token": csrf(alice), name: "0001-01-01T00:00"})
        assert r.status_code == 400
        page = html(r)
        assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', page), name
        assert "的年份应在 1900–2999 之间" in page and 'value="0001-01-01T00:00"' in page
        assert "the year must be" not in page  # the message in the page's language only
    alice.get("/lang/en?next=/me/away")
    r = alice.post("/me/away", data={"csrf_token": csrf(alice), "starts_at": "0001-01-01T00:00"})
    page = html(r)
    assert "start: the year must be between 1900 and 2999" in page and "年份" not in page
    with transaction(ctx.sessions) as s:
        assert absence.list_absences(ctx, s, actor_for(s, "alice")) == []


def test_staff_cannot_set_another_users_absence_a_manager_can(app, ctx):
    alice = as_user(app, "alice")
    r = alice.post("/me/away", data={"csrf_token": csrf(alice), "username": "bob"})
    assert r.status_code == 403
    r = alice.post("/me/away/back", data={"csrf_token": csrf(alice), "username": "bob"})
    assert r.status_code == 403
    mgr = as_user(app, "mgr")
    assert 'id="away-username"' in html(mgr.get("/me/away"))
    r = mgr.post("/me/away", data={"csrf_token": csrf(mgr), "username": "bob", "deputy": "alice"})
    assert r.status_code == 303
    page = html(mgr.get("/me/away"))
    assert re.search(r'<td data-label="人员">Bob</td>', page)
    assert "Bob 已回岗" in page  # the manager may end it too
    assert alice.post("/me/away", data={}).status_code == 400  # CSRF


# --- 撤回 on 已办 ------------------------------------------------------------------------------


@pytest.fixture
def withdraw_route(app):
    """The 撤回 button targets the task-operations route; stand one in if it is not there yet."""
    if "pages.task_withdraw" not in app.view_functions:
        app.add_url_rule(
            "/tasks/<task_id>/withdraw", "pages.task_withdraw", lambda task_id: "", methods=["POST"]
        )


def withdraw_buttons(page: str) -> list[str]:
    return re.findall(r'action="/tasks/([^"/]+)/withdraw"', page)


def test_done_list_offers_withdraw_only_while_the_next_step_is_untouched(app, ctx, withdraw_route):
    untouched, taken_up = start(ctx, "未处理"), start(ctx, "已认领")
    done_ids = {}
    for iid in (untouched, taken_up):
        tid = open_task(ctx, iid).id
        act(ctx, instances.claim, "alice", tid)
        ctx.clock.advance(minutes=1)
        act(ctx, instances.complete, "alice", tid, {"description": "说明"})
        done_ids[iid] = tid
        ctx.clock.advance(minutes=1)
    act(ctx, instances.claim, "mgr", open_task(ctx, taken_up).id)  # 经理审批 taken up
    alice = as_user(app, "alice")
    page = html(alice.get("/tasks/done"))
    assert withdraw_buttons(page) == [done_ids[untouched]]
    assert 'name="next" value="/tasks/done"' in page
    # the preview agrees with the operation itself
    with pytest.raises(Conflict):
        act(ctx, operations.withdraw, "alice", done_ids[taken_up])
    act(ctx, operations.withdraw, "alice", done_ids[untouched])
    assert withdraw_buttons(html(alice.get("/tasks/done"))) == []
    # bob completed nothing: no button column at all
    assert "撤回" not in html(as_user(app, "bob").get("/tasks/done"))


# --- translations -----------------------------------------------------------------------------


def test_me_catalog_is_complete_and_used_keys_exist():
    import json
    import string
    from pathlib import Path

    from web.i18n import catalog

    root = Path(__file__).parents[2] / "web"
    mine = json.loads((root / "translations" / "me.json").read_text(encoding="utf-8"))
    prefixes = ("cc.", "notif.", "away.", "done.")
    assert mine and all(k.startswith(prefixes) for k in mine)
    fields = string.Formatter()
    for key, entry in mine.items():
        assert entry.get("zh") and entry.get("en"), key
        zh = {f for _, f, _, _ in fields.parse(entry["zh"]) if f}
        en = {f for _, f, _, _ in fields.parse(entry["en"]) if f}
        assert zh == en, key
    sources = [*(root / "templates" / "pages").glob("me_*.html")]
    sources += [root / "templates" / "base.html", root / "templates" / "pages" / "done.html"]
    sources += [root / "pages" / f"{m}.py" for m in ("cc", "notifications", "away")]
    used: set[str] = set()
    for path in sources:
        body = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""(?:_|translate)\(\s*['"]([a-z_.0-9]+)['"]""", body))
    used |= {"cc.empty", "cc.empty_filtered", "away.state.active", "away.state.planned"}
    missing = sorted(k for k in used if k not in catalog())
    assert not missing, missing
    assert {k for k in used if k.startswith(prefixes)} <= set(mine)
