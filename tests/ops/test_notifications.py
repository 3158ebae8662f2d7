"""Notifications: in-app rows and the outbox are written in the user's transaction; delivery
(SMTP, DingTalk/WeCom/Feishu robots) happens after commit, retries with back-off, and never
breaks the user's action. Real local servers receive the messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import socket
import time

import pytest
from sqlalchemy import select

from engine import operations
from engine.errors import Forbidden
from engine.notify import bell, ops_settings
from engine.notify.outbox import deliver_due
from engine.store.db import transaction
from engine.store.records_ops import NotificationRecord, OutboxRecord
from tests.ops.helpers import HANDLE_DATA, by_element, complete, run, start
from tests.ops.servers import RobotServer, SMTPServer

SECRET_DT = "SECdingtalk-test-secret"
SECRET_FS = "feishu-test-secret"


def configure(ctx, smtp_port, robots_url, **more):
    ctx.settings.extra.update(
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": str(smtp_port),
            "smtp_from": "planflow@example.test",
            "dingtalk_webhook": f"{robots_url}/dingtalk?access_token=abc",
            "dingtalk_secret": SECRET_DT,
            "wecom_webhook": f"{robots_url}/wecom?key=k-1",
            "feishu_webhook": f"{robots_url}/feishu",
            "feishu_secret": SECRET_FS,
            "notify_dispatcher": "manual",
            "notify_retry_base_seconds": "30",
            "notify_max_attempts": "3",
            "base_url": "https://planflow.example.test",
            **more,
        }
    )


def outbox(ctx):
    with transaction(ctx.sessions) as s:
        return [
            (o.channel, o.recipient, o.status, o.attempts)
            for o in s.scalars(select(OutboxRecord).order_by(OutboxRecord.id))
        ]


def handle_for_bob(ctx, people, who="bob"):
    iid = start(
        ctx,
        people["req"],
        "ops_chain",
        {
            "prep_user": "alice",
            "prep_group": "planning_specialist",
            "handle_user": who,
            "handle_group": "planning_specialist",
            "title": "新品发布会预算",
        },
    )
    complete(ctx, people["alice"], by_element(ctx, iid, "prepare").id, {})
    return iid, by_element(ctx, iid, "handle")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fan_out_in_transaction_then_delivered_in_real_formats(ctx, people):
    with SMTPServer() as smtp, RobotServer() as robots:
        configure(ctx, smtp.port, robots.url)
        _iid, handle = handle_for_bob(ctx, people)
        ctx.settings.extra["webhook_events"] = "task_assigned"
        with transaction(ctx.sessions) as s:
            s.execute(OutboxRecord.__table__.delete())
        run(ctx, operations.transfer, people["bob"], handle.id, "carol", "交给你")
        # queued in the transaction, nothing sent yet
        assert outbox(ctx) == [
            ("email", "carol@example.test", "pending", 0),
            ("dingtalk", "dingtalk", "pending", 0),
            ("wecom", "wecom", "pending", 0),
            ("feishu", "feishu", "pending", 0),
        ]
        assert smtp.mails == [] and robots.hits == []
        report = deliver_due(ctx)
        assert len(report.sent) == 4 and not report.failed
        assert [o[2] for o in outbox(ctx)] == ["sent"] * 4

        [mail] = smtp.mails
        assert mail.recipients == ["carol@example.test"]
        assert str(mail.message["Subject"]) == "【待办】办理"
        body = mail.message.get_content()
        assert "新品发布会预算" in body and "Bob 将任务转办给您" in body
        assert f"https://planflow.example.test/tasks/{handle.id}" in body

        [dt] = robots.by_path("dingtalk")
        assert dt.body["msgtype"] == "markdown"
        assert dt.body["markdown"]["title"] == "【待办】办理"
        assert "处理人：Carol" in dt.body["markdown"]["text"]
        # one language per message: the channels get the Chinese only
        assert "New task" not in dt.body["markdown"]["text"] and "To：" not in body
        ts, sign = dt.query["timestamp"][0], dt.query["sign"][0]
        expected = base64.b64encode(
            hmac.new(SECRET_DT.encode(), f"{ts}\n{SECRET_DT}".encode(), hashlib.sha256).digest()
        ).decode()
        assert sign == expected and dt.query["access_token"] == ["abc"]

        [wc] = robots.by_path("wecom")
        assert wc.body["msgtype"] == "markdown"
        assert wc.body["markdown"]["content"].startswith("**【待办】办理**\n")
        assert wc.query == {"key": ["k-1"]}

        [fs] = robots.by_path("feishu")
        assert fs.body["msg_type"] == "text"
        assert fs.body["content"]["text"].startswith("【待办】办理\n")
        fs_expected = base64.b64encode(
            hmac.new(f"{fs.body['timestamp']}\n{SECRET_FS}".encode(), b"", hashlib.sha256).digest()
        ).decode()
        assert fs.body["sign"] == fs_expected

        # the bell
        with transaction(ctx.sessions) as s:
            carol = bell.list_notifications(s, people["carol"])
        assert carol["unread"] >= 1 and carol["items"][0]["title"] == "【待办】办理"
        with transaction(ctx.sessions) as s:
            assert bell.mark_read(ctx, s, people["carol"], [carol["items"][0]["id"]]) == 1
        with transaction(ctx.sessions) as s:
            assert bell.unread_count(s, people["carol"]) == carol["unread"] - 1
            assert bell.mark_read(ctx, s, people["carol"]) == carol["unread"] - 1
            assert bell.unread_count(s, people["carol"]) == 0


def test_refused_action_queues_nothing(ctx, people):
    configure(ctx, free_port(), "http://127.0.0.1:9")
    _iid, handle = handle_for_bob(ctx, people)
    with transaction(ctx.sessions) as s:
        before = s.query(NotificationRecord).count(), s.query(OutboxRecord).count()
    with pytest.raises(Forbidden):  # bob's task, offered to carol's group: she sees it only
        run(ctx, operations.transfer, people["carol"], handle.id, "dave")
    with pytest.raises(Forbidden):  # a manager sees it but may not delegate someone else's
        run(ctx, operations.delegate, people["mgr"], handle.id, "dave")
    with transaction(ctx.sessions) as s:
        assert (s.query(NotificationRecord).count(), s.query(OutboxRecord).count()) == before


def test_a_setting_that_is_no_number_falls_back_and_never_breaks_the_action(ctx, people):
    """Every action reads the notification settings; "inf" once raised OverflowError there (not
    ValueError), so every start and completion failed until the setting was mended."""
    for bad in ("inf", "-inf", "1e999", "nan", "25 port"):
        ctx.settings.extra.update({"smtp_host": "127.0.0.1", "smtp_port": bad})
        assert ops_settings.smtp_config(ctx.settings).port == 25, bad
    ctx.settings.extra["smtp_port"] = "inf"
    _iid, handle = handle_for_bob(ctx, people)  # the action goes through, with its bell
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(NotificationRecord.id).where(
            NotificationRecord.task_id == handle.id)) is not None


def test_failed_delivery_is_retried_with_backoff_and_never_breaks_the_action(ctx, people, clock):
    with SMTPServer() as smtp, RobotServer() as robots:
        configure(ctx, smtp.port, robots.url, webhook_events="reminder")
        _iid, handle = handle_for_bob(ctx, people, who="carol")
        with transaction(ctx.sessions) as s:
            s.execute(OutboxRecord.__table__.delete())
        robots.fail.update({"dingtalk": 1, "wecom": 2, "feishu": 5})
        robots.how.update({"wecom": "http500"})
        smtp.server_close()  # the mail server is down: the action must still succeed
        ctx.settings.extra["smtp_port"] = str(free_port())
        assert run(ctx, operations.remind, people["req"], handle.id, "快") == ["carol"]

        first = deliver_due(ctx)
        assert first.sent == [] and len(first.failed) == 4
        rows = {o[0]: o for o in outbox(ctx)}
        assert all(r[2] == "pending" and r[3] == 1 for r in rows.values())
        assert deliver_due(ctx).sent == []  # not due again yet (back-off 30 s)

        clock.advance(seconds=31)
        second = deliver_due(ctx)
        assert len(second.sent) == 1  # dingtalk succeeds on retry
        assert {o[0]: o[2] for o in outbox(ctx)}["dingtalk"] == "sent"
        clock.advance(seconds=59)
        assert deliver_due(ctx).sent == []  # second back-off is 60 s
        clock.advance(seconds=2)
        third = deliver_due(ctx)
        assert len(third.sent) == 1 and len(third.dead) == 2  # wecom ok; email, feishu give up
        final = {o[0]: (o[2], o[3]) for o in outbox(ctx)}
        assert final == {
            "email": ("dead", 3),
            "dingtalk": ("sent", 2),
            "wecom": ("sent", 3),
            "feishu": ("dead", 3),
        }
        assert len(robots.by_path("dingtalk")) == 2 and len(robots.by_path("wecom")) == 3
        with transaction(ctx.sessions) as s:
            dead = s.scalars(select(OutboxRecord).where(OutboxRecord.channel == "feishu")).one()
            assert "19021" in (dead.last_error or "")


def test_background_dispatcher_delivers_after_commit(ctx, people):
    with SMTPServer() as smtp, RobotServer() as robots:
        configure(ctx, smtp.port, robots.url, notify_dispatcher="thread", webhook_events="cc")
        iid, handle = handle_for_bob(ctx, people)
        from engine.operations.cc import cc

        with transaction(ctx.sessions) as s:
            cc(ctx, s, people["bob"], iid, ["carol", "erin"], task_id=handle.id, note="请知悉")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            len(robots.by_path("dingtalk")) < 1
            or not any(m.recipients == ["erin@example.test"] for m in smtp.mails)
        ):
            time.sleep(0.05)
        assert any(m.recipients == ["erin@example.test"] for m in smtp.mails)
        [dt] = robots.by_path("dingtalk")
        assert dt.body["markdown"]["title"].startswith("【抄送】")
        ctx.notifier.shutdown()


def test_overdue_from_the_core_engine_reaches_the_bell(ctx, people, clock):
    """The core's automatic reminders notify in the session they run in: a rollback takes the
    notification back with the reminder."""
    from engine.timing.reminders import send_due_reminders

    _iid, _handle = handle_for_bob(ctx, people)
    clock.advance(hours=5)
    with transaction(ctx.sessions) as s:
        assert send_due_reminders(ctx, s, clock.now()) == 1
        s.rollback()  # the reminder is rolled back: so is its notification
    with transaction(ctx.sessions) as s:
        assert s.query(NotificationRecord).filter_by(event="task_overdue").count() == 0
    with transaction(ctx.sessions) as s:
        send_due_reminders(ctx, s, clock.now())
    with transaction(ctx.sessions) as s:
        users = sorted(
            n.username
            for n in s.scalars(
                select(NotificationRecord).where(NotificationRecord.event == "task_overdue")
            )
        )
    assert users == ["bob", "mgr", "mgr2"]


def test_the_bell_speaks_the_readers_language_folds_repeats_and_settles(ctx, people, clock):
    """One language per reader (the Chinese UI gets Chinese only, the English UI English);
    the same nudge about the same task, unread, is one entry counting its repeats; a task that
    no longer waits for the reader leaves its nudges settled, out of the unread count."""
    ctx.settings.extra["remind_interval_seconds"] = "60"
    _iid, handle = handle_for_bob(ctx, people)
    for note in ("请今天处理", "还没处理？"):
        with transaction(ctx.sessions) as s:
            operations.remind(ctx, s, people["req"], handle.id, note)
        clock.advance(minutes=2)
    with transaction(ctx.sessions) as s:
        zh = bell.list_notifications(s, people["bob"])
        en = bell.list_notifications(s, people["bob"], english=True)
    reminders = [n for n in zh["items"] if n["event"] == "reminder"]
    assert len(reminders) == 1 and reminders[0]["repeats"] == 2
    assert "还没处理？" in reminders[0]["body"]  # the newest text
    assigned = next(n for n in zh["items"] if n["event"] == "task_assigned")
    assert assigned["title"] == "【待办】办理" and "New task" not in assigned["body"]
    assert not re.search("[A-Za-z]", assigned["body"]), assigned["body"]  # no mixed languages
    assigned_en = next(n for n in en["items"] if n["event"] == "task_assigned")
    assert assigned_en["title"] == "[To do] 办理" and "needs you" in assigned_en["body"]
    assert zh["unread"] == 2 and not any(n["settled"] for n in zh["items"])

    complete(ctx, people["bob"], handle.id, HANDLE_DATA)
    with transaction(ctx.sessions) as s:
        after = bell.list_notifications(s, people["bob"])
        assert bell.unread_count(s, people["bob"]) == after["unread"]
    assert after["unread"] == 0  # nothing left asks anything of bob
    assert all(n["settled"] for n in after["items"] if n["task_id"] == handle.id)
