"""A group task's bell rows are written straight from the group's members (one INSERT … SELECT,
`engine.notify.notifications._GROUP_BELL`). They must reach exactly whom the general path
(`_recipients`, then one row each) reaches: each active member once, never the one who caused
the event, never an inactive account."""

from __future__ import annotations

from sqlalchemy import select, update

from engine.notify import notifications
from engine.store.db import transaction
from engine.store.records_ops import NotificationRecord, OutboxRecord
from engine.store.tables import UserRecord
from tests.conftest import PASSWORD, add_test_user, make_staff


def _bell(ctx) -> list[tuple[str, str, int, str | None]]:
    with transaction(ctx.sessions) as s:
        return [
            (n.username, n.event, n.repeats, n.read_at)
            for n in s.scalars(select(NotificationRecord).order_by(NotificationRecord.id))
        ]


def test_a_group_task_tells_each_active_member_once_but_not_its_sender(ctx):
    make_staff(ctx)  # alice, bob: planning_specialist; mgr: planning_manager
    with transaction(ctx.sessions) as s:
        now = ctx.clock.now()
        add_test_user(s, "dual", PASSWORD, now=now,
                      groups=["planning_specialist", "planning_manager"])
        add_test_user(s, "gone", PASSWORD, now=now, groups=["planning_specialist"])
        s.scalars(select(UserRecord).where(UserRecord.username == "gone")).one().is_active = False
    payload = {"task_id": "t-1", "instance_id": None, "name": "审批",
               "groups": ["planning_specialist", "planning_manager", "planning_specialist"],
               "by": "bob"}
    with transaction(ctx.sessions) as s:
        assert notifications._only_to_groups("task_assigned", payload)
        expected = notifications._recipients(ctx, s, "task_assigned", payload)
        told = notifications.emit(ctx, s, "task_assigned", payload)
    assert expected == ["alice", "dual", "mgr"]
    assert told == 3
    assert _bell(ctx) == [(u, "task_assigned", 1, None) for u in expected]
    with transaction(ctx.sessions) as s:
        [row] = s.scalars(select(NotificationRecord).where(NotificationRecord.username == "mgr"))
        assert (row.task_id, row.created_at) == ("t-1", ctx.clock.now())
        assert row.title and row.title_en and row.body is not None


def test_a_group_event_with_e_mail_configured_takes_the_general_path(ctx):
    """E-mail needs each member's address: the group's bell and mail go by the names."""
    make_staff(ctx)
    ctx.settings.extra.update({"smtp_host": "127.0.0.1", "smtp_port": "1",
                               "smtp_from": "planflow@example.test"})
    with transaction(ctx.sessions) as s:
        s.execute(update(UserRecord).where(UserRecord.username == "alice")
                  .values(email="alice@example.test"))
    payload = {"task_id": "t-2", "instance_id": None, "name": "审批",
               "groups": ["planning_specialist"], "by": "mgr"}
    with ctx.sessions() as s:  # rolled back: the dispatcher is never woken to send
        assert notifications.emit(ctx, s, "task_assigned", payload) == 2  # alice, bob
        mail = s.scalars(select(OutboxRecord.recipient).where(OutboxRecord.channel == "email"))
        assert list(mail) == ["alice@example.test"]
        bell = s.scalars(select(NotificationRecord.username).order_by(NotificationRecord.username))
        assert list(bell) == ["alice", "bob"]
        s.rollback()
    assert not notifications._only_to_groups("reminder", {"groups": ["x"]})  # folded repeats
