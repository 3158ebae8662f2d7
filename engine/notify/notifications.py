"""Notifications: the planflow notifier (an `engine.notify.notifier.Notifier`) and its fan-out.

An event (task assigned, reminder, overdue, returned, withdrawn, CC, instance completed,
incident) becomes, in the caller's transaction (its session is always passed in):

* one in-app notification per recipient (the bell: `notifications` table, `engine.notify.bell`),
* outbox rows for external channels — one e-mail per recipient with an address, one message per
  configured DingTalk / WeCom / Feishu robot (`engine.notify.outbox`).

Nothing is sent inside the transaction. After the commit that queued outbox rows the
dispatcher thread is woken (a one-shot listener on that session only); it also polls for due
retries. A refused (rolled back) action leaves no notification behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from engine.notify import ops_settings
from engine.notify.outbox import OutboxDispatcher, outbox_row
from engine.notify.render import Message, display_names, render
from engine.store.prepared import Prepared
from engine.store.records_ops import NotificationRecord
from engine.store.tables import MembershipRecord, UserRecord

if TYPE_CHECKING:
    from engine.context import EngineContext

log = logging.getLogger("planflow.notify")


# Built once: building a select costs about as much as running it (a completion asks this).
_GROUP_MEMBERS = (
    select(UserRecord.username)
    .join(MembershipRecord, MembershipRecord.user_id == UserRecord.id)
    .where(
        MembershipRecord.group_name.in_(bindparam("groups", expanding=True)),
        UserRecord.is_active.is_(True),
    )
    .order_by(UserRecord.username)
)


def group_members(session: Session, groups: Iterable[str]) -> list[str]:
    groups = sorted(set(groups))
    if not groups:
        return []
    # A column read on the connection: the ORM adds nothing but its per-statement cost.
    rows = session.connection().execute(_GROUP_MEMBERS, {"groups": groups}).scalars().all()
    return list(dict.fromkeys(rows))


def _recipients(
    ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]
) -> list[str]:
    users = [u for u in payload.get("users") or [] if u]
    if not users:
        if payload.get("assignee"):
            users = [payload["assignee"]]
        elif payload.get("groups"):
            users = group_members(session, payload["groups"])
    if event == "task_overdue":
        users += group_members(session, ops_settings.get_list(ctx.settings, "escalation_groups"))
    if event == "incident" and not users:
        users = group_members(session, ["process_owner", "admin"])
    left_out = _not_told(payload)
    return [u for u in dict.fromkeys(users) if u and u not in left_out]


def _not_told(payload: dict[str, Any]) -> list[str]:
    """Never told of an event: whoever caused it, and the system."""
    return [u for u in (payload.get("by"), "system") if u]


def _only_to_groups(event: str, payload: dict[str, Any]) -> bool:
    """Whether `_recipients` would be exactly the active members of ``payload["groups"]``
    (no named users or assignee, no escalation or fallback groups) and the bell needs nothing
    but their names (no folding of repeats)."""
    if not payload.get("groups") or payload.get("assignee") or any(payload.get("users") or []):
        return False
    return event not in FOLDED and event not in ("task_overdue", "incident")


# --- emitting (inside the caller's transaction) ------------------------------------------------


def publish(ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]) -> int:
    """Notify about `event` in `session`'s transaction; returns the number of recipients (0
    for a notifier that keeps no bell, e.g. a test's recorder)."""
    return ctx.notifier.notify(session, event, payload)


_INSERT_NOTIFICATIONS = Prepared(insert(NotificationRecord.__table__))

# Nudges about one task: a repeat reaching someone who has not read the last one replaces it
# (newest text, counted in `repeats`) instead of stacking up in the bell.
FOLDED = frozenset({"reminder", "task_overdue"})


def _to_bell(
    session: Session, event: str, message: Message, recipients: list[str], now: datetime
) -> None:
    unread: dict[str, NotificationRecord] = {}
    if message.task_id and event in FOLDED and recipients:
        unread = {
            n.username: n
            for n in session.scalars(
                select(NotificationRecord).where(
                    NotificationRecord.task_id == message.task_id,
                    NotificationRecord.username.in_(recipients),
                    NotificationRecord.event == event,
                    NotificationRecord.read_at.is_(None),
                )
            )
        }
    text = {"title": message.title, "body": message.text, "title_en": message.title_en,
            "body_en": message.text_en, "created_at": now}
    new: list[dict[str, Any]] = []
    for user in recipients:
        row = unread.get(user)
        if row is None:
            new.append({"username": user, "event": event, "instance_id": message.instance_id,
                        "task_id": message.task_id, "read_at": None, "repeats": 1, **text})
            continue
        for key, value in text.items():
            setattr(row, key, value)
        row.repeats = (row.repeats or 0) + 1
    if new:  # one executemany; ORM objects would cost an INSERT each on SQLite (RETURNING ids)
        _INSERT_NOTIFICATIONS.run(session.connection(), new)


_t = NotificationRecord.__table__.c
# A group's bell rows straight from its members: the fan-out of every new group task, which
# would otherwise read the members and then insert them (two statements on each completion).
_GROUP_BELL = insert(NotificationRecord.__table__).from_select(
    # read_at is NULL and repeats 1 (the column's default, which from_select renders)
    ["username", "event", "title", "body", "title_en", "body_en", "instance_id", "task_id",
     "created_at"],
    _GROUP_MEMBERS.with_only_columns(
        UserRecord.username,
        bindparam("event", type_=_t.event.type),
        bindparam("title", type_=_t.title.type),
        bindparam("body", type_=_t.body.type),
        bindparam("title_en", type_=_t.title_en.type),
        bindparam("body_en", type_=_t.body_en.type),
        bindparam("instance_id", type_=_t.instance_id.type),
        bindparam("task_id", type_=_t.task_id.type),
        bindparam("created_at", type_=_t.created_at.type),
        maintain_column_froms=True,
    )
    .where(UserRecord.username.not_in(bindparam("not_to", expanding=True)))
    .group_by(UserRecord.username),  # a member of two of the groups is told once
).execution_options(preserve_rowcount=True)  # the count of recipients, on every driver


def _to_group_bell(
    session: Session, event: str, message: Message, payload: dict[str, Any], now: datetime
) -> int:
    """`_to_bell` for `_only_to_groups` events: one INSERT … SELECT; the number of
    recipients."""
    result = session.connection().execute(_GROUP_BELL, {
        "event": event, "title": message.title, "body": message.text,
        "title_en": message.title_en, "body_en": message.text_en,
        "instance_id": message.instance_id, "task_id": message.task_id, "created_at": now,
        "groups": sorted(set(payload["groups"])),
        "not_to": _not_told(payload),
    })
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def emit(ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]) -> int:
    smtp = ops_settings.smtp_config(ctx.settings)
    robots = ops_settings.robot_configs(ctx.settings)
    if robots and event not in ops_settings.get_list(ctx.settings, "webhook_events"):
        robots = []
    try:
        message = render(ctx, session, event, payload)
        # E-mail and robots need the recipients' names and addresses: only the bell can go
        # straight from the groups.
        groups_only = smtp is None and not robots and _only_to_groups(event, payload)
        recipients = [] if groups_only else _recipients(ctx, session, event, payload)
    except Exception:  # a rendering bug must never break the user's action
        log.exception("cannot render notification %s", event)
        return 0
    now = ctx.clock.now()
    if groups_only:
        told = _to_group_bell(session, event, message, payload, now)
        log.info("%s → groups %s (%d) %s", event, payload["groups"], told, payload)
        return told
    _to_bell(session, event, message, recipients, now)
    queued = 0
    if smtp is not None and recipients:
        rows = session.execute(
            select(UserRecord.username, UserRecord.email).where(
                UserRecord.username.in_(recipients), UserRecord.email.is_not(None)
            )
        ).all()
        for _, email in sorted(rows):
            if email:
                session.add(outbox_row("email", event, email, message, now))
                queued += 1
    # Without a robot configured nobody reads the names: do not look them up.
    if robots:
        names = display_names(session, recipients)
        to_line = "、".join(names[u] for u in recipients)
        text = message.text + (f"\n\n处理人：{to_line}" if to_line else "")
        for robot in robots:
            session.add(
                outbox_row(robot.channel, event, robot.channel, Message(message.title, text), now)
            )
            queued += 1
    if queued and isinstance(ctx.notifier, PlanflowNotifier):
        ctx.notifier.wake_after_commit(session)
    log.info("%s → %s (%d queued) %s", event, recipients, queued, payload)
    return len(recipients)


class PlanflowNotifier:
    """The deployment's notifier: in-app rows + outbox, delivered after commit."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._dispatcher: OutboxDispatcher | None = None
        self._lock = threading.Lock()

    def notify(self, session: Session, event: str, payload: dict[str, Any]) -> int:
        return emit(self.ctx, session, event, payload)

    def wake_after_commit(self, session: Session) -> None:
        """Deliver what `session` queued as soon as it commits. The listener is on this
        session only (not process-wide) and added once; a rollback leaves nothing to send and
        the next commit's wake-up finds nothing due, which costs one query."""
        if not sa_event.contains(session, "after_commit", self._committed):
            sa_event.listen(session, "after_commit", self._committed)

    def _committed(self, _session: Session) -> None:
        self.wake()

    @property
    def dispatching(self) -> bool:
        return self._dispatcher is not None

    def wake(self) -> None:
        """Start the delivery thread if this deployment delivers from one and has an external
        channel configured (its first round also picks up what earlier processes left), and
        have it deliver what is due now."""
        settings = self.ctx.settings
        if ops_settings.get(settings, "notify_dispatcher") != "thread":
            return
        if self._dispatcher is None and not (
            ops_settings.smtp_config(settings) or ops_settings.robot_configs(settings)
        ):
            return  # nothing external to deliver
        with self._lock:
            if self._dispatcher is None:
                self._dispatcher = OutboxDispatcher(self.ctx)
                self._dispatcher.start()
        self._dispatcher.wake()

    def shutdown(self) -> None:
        with self._lock:
            if self._dispatcher is not None:
                self._dispatcher.stop()
                self._dispatcher = None
