"""Delivery of the outbox to external channels (e-mail, DingTalk / WeCom / Feishu robots),
after commit: rows are leased in one short transaction, sent with no transaction open and marked
sent / rescheduled (exponential back-off) / dead in another. A failure never reaches a user's
action."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.notify import channels, ops_settings
from engine.notify.render import Message
from engine.store.db import transaction
from engine.store.records_ops import OutboxRecord

if TYPE_CHECKING:
    from engine.context import EngineContext

log = logging.getLogger("planflow.notify")

LEASE_SECONDS = 120


def outbox_row(
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
