"""Notifications: the planflow notifier (an `engine.notify.notifier.Notifier`) and its fan-out.

An event (task assigned, reminder, overdue, returned, withdrawn, CC, instance completed,
incident) becomes, in the caller's transaction:

* one in-app notification per recipient (the bell: `notifications` table), and
* outbox rows for external channels — one e-mail per recipient with an address, one message per
  configured DingTalk / WeCom / Feishu robot.

Nothing is sent inside the transaction. After commit the outbox dispatcher delivers due rows
(background thread, `planflow notifications deliver`, or `deliver_due` in tests) and retries
failures with exponential back-off; a delivery failure never reaches the user's action, and a
refused (rolled back) action leaves no notification behind.

The core engine calls `ctx.notifier.notify(event, payload)` without a session (incidents,
automatic reminders); the notifier finds the session whose transaction is running in this
thread (tracked with session events on the context's sessionmaker). Planflow's own operations
call `publish(ctx, session, ...)` with their session explicitly.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.notify import channels, ops_settings
from engine.store.db import transaction
from engine.store.records_ops import NotificationRecord, OutboxRecord
from engine.store.tables import InstanceRecord, MembershipRecord, UserRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor

log = logging.getLogger("planflow.notify")

OUTBOX_FLAG = "planflow.outbox"
LEASE_SECONDS = 120


# --- rendering --------------------------------------------------------------------------------


@dataclass
class Message:
    title: str
    text: str  # markdown-ish plain text, the same for every channel
    recipients: list[str] = field(default_factory=list)
    instance_id: int | None = None
    task_id: str | None = None


def _local(ctx: EngineContext, value: Any) -> str:
    if not value:
        return "-"
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        return at.astimezone(ZoneInfo(ctx.settings.timezone)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError, AttributeError):
        return str(value)


def _names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    names = list(dict.fromkeys(usernames))
    if not names:
        return {}
    rows = session.execute(
        select(UserRecord.username, UserRecord.display_name).where(UserRecord.username.in_(names))
    ).all()
    found = {u: d for u, d in rows}
    return {u: found.get(u, u) for u in names}


def group_members(session: Session, groups: Iterable[str]) -> list[str]:
    groups = sorted(set(groups))
    if not groups:
        return []
    rows = session.scalars(
        select(UserRecord.username)
        .join(MembershipRecord, MembershipRecord.user_id == UserRecord.id)
        .where(MembershipRecord.group_name.in_(groups), UserRecord.is_active.is_(True))
        .order_by(UserRecord.username)
    ).all()
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
    by = payload.get("by")
    return [u for u in dict.fromkeys(users) if u and u != by and u != "system"]


def render(ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]) -> Message:
    instance_id = payload.get("instance_id")
    record = session.get(InstanceRecord, instance_id) if instance_id else None
    title = record.title if record else ""
    ref = f"「{title}」(#{instance_id})" if record else f"#{instance_id}"
    name = payload.get("name") or payload.get("element_id") or ""
    by = payload.get("by")
    by_name = _names(session, [by]).get(by, by) if by else "系统"
    base = ops_settings.get(ctx.settings, "base_url").rstrip("/")
    task_id = payload.get("task_id")
    if base and task_id:
        link = f"\n\n[打开任务 Open the task]({base}/tasks/{task_id})"
    elif base and instance_id:
        link = f"\n\n[查看流程 Open the instance]({base}/instances/{instance_id})"
    else:
        link = ""
    kind_line = {
        "delegated": f"{by_name} 委派您协助处理，完成后交还给TA。(delegated to you)",
        "transferred": f"{by_name} 将任务转办给您。(transferred to you)",
        "signer": f"{by_name} 请您加签。(your signature is requested)",
        "vote": "本步骤为会签/或签，请给出您的意见。(your vote is requested)",
        "handover": "A角不在岗，任务已转给您（B角）。(handed over while the A role is away)",
        "handback": "您已回岗，任务已交还给您。(returned to you)",
        "resolved": f"{by_name} 已办理完委派，任务已交还给您。(the delegate has finished)",
    }.get(payload.get("kind") or "", "")
    if event == "task_assigned":
        head = f"【待办】{name}"
        text = f"流程{ref}的「{name}」需要您处理。New task for you.\n\n{kind_line}"
    elif event == "reminder":
        head = f"【催办】{name}"
        note = payload.get("message") or ""
        text = f"{by_name} 催您尽快处理流程{ref}的「{name}」。Reminder.\n\n{note}"
    elif event == "task_overdue":
        head = f"【逾期】{name}"
        who = payload.get("assignee") or "、".join(payload.get("groups") or []) or "-"
        text = (
            f"流程{ref}的「{name}」已于 {_local(ctx, payload.get('due_at'))} 到期，"
            f"当前处理人：{who}。The task is overdue."
        )
    elif event == "returned":
        head = f"【退回】{name}"
        text = (
            f"{by_name} 将流程{ref}退回到「{name}」，请重新处理。Sent back to you.\n\n"
            f"原因 Reason：{payload.get('reason') or '-'}"
        )
    elif event == "withdrawn":
        head = f"【撤回】{title or ref}"
        names = "、".join(payload.get("names") or []) or "-"
        text = f"{by_name} 撤回了流程{ref}的上一步，「{names}」已取消，无需处理。Withdrawn."
    elif event == "cc":
        head = f"【抄送】{title or ref}"
        step = f"的「{name}」" if name else ""
        note = payload.get("note") or ""
        text = f"{by_name} 将流程{ref}{step}抄送给您（只读）。CC'd to you.\n\n{note}"
    elif event == "instance_completed":
        head = f"【已完成】{title or ref}"
        text = f"您发起的流程{ref}已完成。The instance is completed."
    elif event == "incident":
        head = f"【异常】{title or ref}"
        text = (
            f"流程{ref}在「{payload.get('element_id') or '-'}」出错，需要处理：\n\n"
            f"{payload.get('message') or ''}"
        )
    else:
        head = f"【通知】{event}"
        text = str(payload)
    return Message(
        title=head[:250],
        text=(text.strip() + link)[:8000],
        instance_id=record.id if record else None,
        task_id=task_id,
    )


# --- emitting (inside the caller's transaction) ------------------------------------------------


def publish(ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]) -> int:
    """Notify about `event` in `session`'s transaction; returns the number of recipients.
    With a non-planflow notifier on the context (e.g. a test's recorder), it is called too."""
    notifier = ctx.notifier
    if isinstance(notifier, PlanflowNotifier):
        return notifier.notify_in(session, event, payload)
    notifier.notify(event, payload)
    return 0


def emit(ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]) -> int:
    try:
        message = render(ctx, session, event, payload)
        recipients = _recipients(ctx, session, event, payload)
    except Exception:  # a rendering bug must never break the user's action
        log.exception("cannot render notification %s", event)
        return 0
    now = ctx.clock.now()
    for user in recipients:
        session.add(
            NotificationRecord(
                username=user,
                event=event,
                title=message.title,
                body=message.text,
                instance_id=message.instance_id,
                task_id=message.task_id,
                created_at=now,
            )
        )
    queued = 0
    smtp = ops_settings.smtp_config(ctx.settings)
    if smtp is not None and recipients:
        rows = session.execute(
            select(UserRecord.username, UserRecord.email).where(
                UserRecord.username.in_(recipients), UserRecord.email.is_not(None)
            )
        ).all()
        for _, email in sorted(rows):
            if email:
                session.add(_outbox("email", event, email, message, now))
                queued += 1
    robots = ops_settings.robot_configs(ctx.settings)
    # Without a robot configured nobody reads the names: do not look them up.
    if robots and event in ops_settings.get_list(ctx.settings, "webhook_events"):
        names = _names(session, recipients)
        to_line = "、".join(names[u] for u in recipients)
        text = message.text + (f"\n\n处理人 To：{to_line}" if to_line else "")
        for robot in robots:
            session.add(
                _outbox(robot.channel, event, robot.channel, Message(message.title, text), now)
            )
            queued += 1
    if queued:
        session.info[OUTBOX_FLAG] = True
    log.info("%s → %s (%d queued) %s", event, recipients, queued, payload)
    return len(recipients)


def _outbox(
    channel: str, event: str, recipient: str, message: Message, now: datetime
) -> OutboxRecord:
    return OutboxRecord(
        channel=channel,
        event=event,
        recipient=recipient[:256],
        subject=message.title[:256],
        body=message.text,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


# --- which session is running in this thread ---------------------------------------------------

_running: contextvars.ContextVar[tuple[tuple[int, Session], ...]] = contextvars.ContextVar(
    "planflow_running_sessions", default=()
)


def current_session(factory: sessionmaker[Session]) -> Session | None:
    for owner, session in reversed(_running.get()):
        if owner == id(factory):
            return session
    return None


def _track(factory: sessionmaker[Session], notifier: PlanflowNotifier) -> None:
    if getattr(factory, "_planflow_tracked", False):
        return
    key = id(factory)

    def began(session: Session, _transaction: Any, _connection: Any) -> None:
        stack = _running.get()
        if not any(s is session for _, s in stack):
            _running.set((*stack, (key, session)))

    def ended(session: Session, transaction_: Any) -> None:
        if transaction_.parent is None:
            _running.set(tuple(e for e in _running.get() if e[1] is not session))

    def committed(session: Session) -> None:
        # After the first commit, a configured dispatcher also picks up what earlier processes
        # left in the outbox (retries, a crash between commit and delivery).
        if session.info.pop(OUTBOX_FLAG, None) or not notifier.dispatching:
            notifier.wake()

    def rolled_back(session: Session) -> None:
        session.info.pop(OUTBOX_FLAG, None)

    sa_event.listen(factory, "after_begin", began)
    sa_event.listen(factory, "after_transaction_end", ended)
    sa_event.listen(factory, "after_commit", committed)
    sa_event.listen(factory, "after_rollback", rolled_back)
    factory._planflow_tracked = True  # noqa: SLF001  # type: ignore[attr-defined]


class PlanflowNotifier:
    """The deployment's notifier: in-app rows + outbox, delivered after commit."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._dispatcher: OutboxDispatcher | None = None
        self._lock = threading.Lock()
        _track(ctx.sessions, self)

    def notify(self, event: str, payload: dict[str, Any]) -> None:
        session = current_session(self.ctx.sessions)
        if session is not None:
            emit(self.ctx, session, event, payload)
            return
        with transaction(self.ctx.sessions) as own:
            emit(self.ctx, own, event, payload)

    def notify_in(self, session: Session, event: str, payload: dict[str, Any]) -> int:
        return emit(self.ctx, session, event, payload)

    @property
    def dispatching(self) -> bool:
        return self._dispatcher is not None

    def wake(self) -> None:
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


# --- delivery ----------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # retried later
    dead: dict[int, str] = field(default_factory=dict)  # gave up


def deliver_due(ctx: EngineContext, limit: int = 50) -> DeliveryReport:
    """Send every due outbox row once. Rows are leased in one short transaction, sent with no
    transaction open, and marked sent / rescheduled (back-off) / dead in another."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        query = (
            select(OutboxRecord)
            .where(OutboxRecord.status == "pending", OutboxRecord.next_attempt_at <= now)
            .order_by(OutboxRecord.next_attempt_at, OutboxRecord.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        leased = []
        for row in session.scalars(query):
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)
            leased.append((row.id, row.channel, row.recipient, row.subject, row.body, row.attempts))
    report = DeliveryReport()
    outcomes: dict[int, str | None] = {}
    smtp = ops_settings.smtp_config(ctx.settings)
    robots = {r.channel: r for r in ops_settings.robot_configs(ctx.settings)}
    for row_id, channel, recipient, subject, body, _attempts in leased:
        try:
            if channel == "email":
                if smtp is None:
                    raise channels.DeliveryFailed("SMTP is not configured")
                channels.send_email(smtp, recipient, subject, body)
            else:
                robot = robots.get(channel)
                if robot is None:
                    raise channels.DeliveryFailed(f"{channel} robot is not configured")
                channels.send_robot(robot, subject, body)
            outcomes[row_id] = None
        except Exception as exc:  # any failure is retried; it never reaches a user action
            outcomes[row_id] = f"{exc.__class__.__name__}: {exc}"[:2000]
    if not leased:
        return report
    base = ops_settings.get_float(ctx.settings, "notify_retry_base_seconds")
    limit_attempts = ops_settings.get_int(ctx.settings, "notify_max_attempts")
    done_at = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        for row_id, *_rest, attempts in leased:
            row = session.get(OutboxRecord, row_id)
            if row is None:
                continue
            error = outcomes[row_id]
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", done_at, None
                report.sent.append(row_id)
            elif attempts >= limit_attempts:
                row.status, row.last_error = "dead", error
                report.dead[row_id] = error
                log.error("notification %s given up after %d attempts: %s", row_id, attempts, error)
            else:
                row.last_error = error
                row.next_attempt_at = done_at + timedelta(seconds=base * 2 ** (attempts - 1))
                report.failed[row_id] = error
                log.warning("notification %s failed (attempt %d): %s", row_id, attempts, error)
    return report


class OutboxDispatcher:
    """A small background thread: delivers after each commit that queued something, and polls
    for due retries."""

    def __init__(self, ctx: EngineContext, poll_seconds: float = 5.0) -> None:
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="planflow-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                deliver_due(self.ctx)
            except Exception:
                log.exception("outbox delivery failed")


def start_dispatcher(ctx: EngineContext) -> OutboxDispatcher:
    """Start a dispatcher explicitly (e.g. beside the scheduler in `planflow serve`)."""
    dispatcher = OutboxDispatcher(ctx)
    dispatcher.start()
    dispatcher.wake()
    return dispatcher


# --- the bell ----------------------------------------------------------------------------------


def notification_dict(row: NotificationRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "event": row.event,
        "title": row.title,
        "body": row.body,
        "instance_id": row.instance_id,
        "task_id": row.task_id,
        "created_at": row.created_at.isoformat(),
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "read": row.read_at is not None,
    }


def unread_count(session: Session, actor: Actor) -> int:
    return (
        session.scalar(
            select(func.count(NotificationRecord.id)).where(
                NotificationRecord.username == actor.username, NotificationRecord.read_at.is_(None)
            )
        )
        or 0
    )


def list_notifications(
    session: Session, actor: Actor, *, unread_only: bool = False, page: int = 1, per_page: int = 20
) -> dict[str, Any]:
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    query = select(NotificationRecord).where(NotificationRecord.username == actor.username)
    if unread_only:
        query = query.where(NotificationRecord.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(NotificationRecord.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return {
        "items": [notification_dict(r) for r in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
        "unread": unread_count(session, actor),
    }


def mark_read(
    ctx: EngineContext, session: Session, actor: Actor, ids: list[int] | None = None
) -> int:
    """Mark the caller's notifications read (all of them when `ids` is None)."""
    stmt = update(NotificationRecord).where(
        NotificationRecord.username == actor.username, NotificationRecord.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(NotificationRecord.id.in_(ids or [-1]))
    result = session.execute(stmt.values(read_at=ctx.clock.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
