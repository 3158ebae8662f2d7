"""Tables for the task operations of Chinese approval practice (转办, 委派, 加签/减签, 会签/或签,
退回, 撤回, 催办, 抄送), A/B roles (absences and handovers) and notifications (in-app rows and
the outbox of external deliveries).

Everything here sits beside the BPMN engine: SpiffWorkflow only knows the user task; planflow
keeps who else has to sign, who works on it for whom and who was copied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.tables import Base, BigId

# Projection status of a BPMN user task whose completion waits for planflow's rules (before- or
# after-signers, countersigners, a vote): SpiffWorkflow still has it READY, nobody acts on it
# directly. `engine.store.instance_state._sync_tasks` treats it like "open" when matching ready
# tasks.
ON_HOLD = "on_hold"
LIVE_STATUSES = ("open", ON_HOLD)


def is_live(status: Any) -> Any:
    """SQL: a task row's ``status`` column is live (open, or held for signers). The statuses
    are written into the statement: a list of bound values would be expanded again at every
    run (SQLAlchemy's post-compile step), on the hot path of every completion."""
    return status.in_([literal_column(f"'{s}'") for s in LIVE_STATUSES])


class TaskSignerRecord(Base):
    """One extra signature around a BPMN user task (加签) or one vote of a 会签/或签 step.

    mode: before | after | parallel (added by the task's handler) or vote (from the model).
    status: pending (not yet their turn) | open (their projection row is in their inbox) |
    approved | rejected | removed (减签) | cancelled (the task went away) | superseded (a rejected
    signature requested again)."""

    __tablename__ = "task_signers"
    __table_args__ = (Index("ix_task_signers_parent", "parent_task_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    parent_task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("human_tasks.id", ondelete="CASCADE")
    )
    # The planflow-managed projection row (human_tasks.id) while the signature is/was asked.
    step_task_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    mode: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    signer: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    acted_at: Mapped[datetime | None]
    acted_by: Mapped[str | None] = mapped_column(String(64))


class TaskSubmissionRecord(Base):
    """The handler's submitted form data while the BPMN task waits for after-/parallel signers."""

    __tablename__ = "task_submissions"

    task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    submitted_by: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_at: Mapped[datetime]


class TaskDelegationRecord(Base):
    """委派: the owner lets a delegate work on the task; the delegate's resolve returns it."""

    __tablename__ = "task_delegations"
    __table_args__ = (Index("ix_task_delegations_task", "task_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("human_tasks.id", ondelete="CASCADE")
    )
    owner: Mapped[str] = mapped_column(String(64))
    delegate: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # active | resolved | recalled | cancelled
    comment: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class AbsenceRecord(Base):
    """An out-of-office period (A角 away). `ends_at` None: until marked back."""

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_user", "username", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    # Who takes over tasks of instances without an A/B pair (optional).
    deputy: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class TaskHandoverRecord(Base):
    """A task moved from an absent user to their B角 (or deputy); `returned_at` when it went
    back."""

    __tablename__ = "task_handovers"
    __table_args__ = (Index("ix_task_handovers_open", "from_user", "returned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("human_tasks.id", ondelete="CASCADE"), index=True
    )
    from_user: Mapped[str] = mapped_column(String(64))
    to_user: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32), default="absence")
    created_at: Mapped[datetime]
    returned_at: Mapped[datetime | None]


class InstanceCcRecord(Base):
    """抄送: a person copied on an instance (task_id None) or on one step; read-only for them."""

    __tablename__ = "instance_cc"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_key", "username"),
        Index("ix_instance_cc_user", "username", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE")
    )
    task_id: Mapped[str | None] = mapped_column(String(36))
    # task_id or "" (so the unique constraint also covers instance-level copies).
    task_key: Mapped[str] = mapped_column(String(36), default="")
    element_id: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str] = mapped_column(String(64))
    cc_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class NotificationRecord(Base):
    """An in-app notification (the bell), one per recipient."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user", "username", "read_at", "id"),
        Index("ix_notifications_task", "task_id", "username"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE")
    )
    task_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    # The same text for a reader of the English UI (None: as the Chinese).
    title_en: Mapped[str | None] = mapped_column(String(256))
    body_en: Mapped[str | None] = mapped_column(Text)
    # How many times the same event about the same task reached this person while unread.
    repeats: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class OutboxRecord(Base):
    """An external delivery (e-mail, DingTalk/WeCom/Feishu robot) queued in the user's
    transaction and sent after commit by the dispatcher, with retries and back-off."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | dingtalk | wecom | feishu
    event: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(256))  # e-mail address or robot name
    subject: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


OPS_TABLES = (
    "notification_outbox",
    "notifications",
    "instance_cc",
    "task_handovers",
    "absences",
    "task_delegations",
    "task_submissions",
    "task_signers",
)
