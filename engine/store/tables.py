"""SQLAlchemy tables. Names end in Record/Row so they never clash with SpiffWorkflow's classes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on every backend: stored as UTC, always returned aware
    (SQLite has no timezone type and would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSONType,
    }


# --- people -----------------------------------------------------------------------------------


class UserRecord(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(256))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    memberships: Mapped[list[MembershipRecord]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class GroupRecord(Base):
    __tablename__ = "groups"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(128))
    display_name_en: Mapped[str] = mapped_column(String(128), default="")


class MembershipRecord(Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group_name: Mapped[str] = mapped_column(
        ForeignKey("groups.name", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[UserRecord] = relationship(back_populates="memberships")


class ApiTokenRecord(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Only a SHA-256 of the token is kept: a database leak does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


# --- process models ---------------------------------------------------------------------------


class ProcessModelRecord(Base):
    __tablename__ = "process_models"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProcessVersionRecord(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("model_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_key: Mapped[str] = mapped_column(ForeignKey("process_models.key"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    bpmn_file: Mapped[str] = mapped_column(String(256))
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    files: Mapped[list[VersionFileRecord]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="VersionFileRecord.name"
    )


class VersionFileRecord(Base):
    """Every source file of a version (BPMN, DMN, forms), kept so the UI can show and diff it
    and so the spec can be re-parsed after a restart."""

    __tablename__ = "version_files"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))  # bpmn | dmn | form
    content: Mapped[str] = mapped_column(Text)
    version: Mapped[ProcessVersionRecord] = relationship(back_populates="files")


# --- instances --------------------------------------------------------------------------------


class InstanceRecord(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_status_model", "status", "model_key"),
        Index("ix_instances_started_by", "started_by", "created_at"),
        Index("ix_instances_created_at", "created_at"),
        Index("ix_instances_status_completed", "status", "completed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_key: Mapped[str] = mapped_column(String(128))
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # The serialized workflow without its spec (see engine/serializer.py).
    state: Mapped[str] = mapped_column(Text)
    # The latest workflow data, for display and simple queries without restoring the state.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stage: Mapped[str | None] = mapped_column(String(256))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # BPMN element ids already passed (for highlighting the diagram without restoring state).
    passed_elements: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": lock_version}


class HumanTaskRow(Base):
    """The task projection: one row per human task, kept in step with the state in the same
    transaction. Inboxes and dashboards read this table, never the serialized state."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # The inbox lists (engine/list_queries.py) read only these columns: covered, no row read;
        # id third so that candidate-group probes come in key order (see migration 0005).
        Index(
            "ix_tasks_inbox", "status", "assignee", "id", "model_key", "due_at", "created_at"
        ),
        Index("ix_tasks_assignee_status", "assignee", "status", "instance_id"),
        Index("ix_tasks_instance", "instance_id", "status"),
        Index(
            "ix_tasks_completed_by", "completed_by", "status", "completed_at", "id", "instance_id"
        ),
        # Also serves (status, due_at) alone: overdue counts and lists (migration 0011).
        Index("ix_tasks_due_reminded", "status", "due_at", "reminded_at"),
        Index("ix_tasks_status_name", "status", "model_key", "name", "instance_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE")
    )
    model_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(256))
    lane: Mapped[str | None] = mapped_column(String(128))
    form_file: Mapped[str | None] = mapped_column(String(256))
    assignee: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open | completed | cancelled
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    # When the assignee(s) were last reminded (催办), automatically at the due time or by hand.
    reminded_at: Mapped[datetime | None]

    candidate_groups: Mapped[list[TaskCandidateRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class TaskValues(NamedTuple):
    """A human_tasks row as plain values, where an ORM object would cost more than the row's
    statement: the rows a save writes (`engine.store.task_projection`) and the rows an
    instance's detail reads (`engine.read.instance_detail`). The same columns as
    `HumanTaskRow` (checked below)."""

    id: str
    instance_id: int
    model_key: str
    element_id: str
    name: str
    lane: str | None
    form_file: str | None
    assignee: str | None
    status: str
    due_at: datetime | None
    created_at: datetime | None
    claimed_at: datetime | None
    completed_at: datetime | None = None
    completed_by: str | None = None
    reminded_at: datetime | None = None


class TaskCandidateRow(Base):
    __tablename__ = "human_task_candidates"
    # Group first: an inbox probes (my group, this task), and a group's part of this index
    # stays cached where the primary key's (task, group) pages are spread over all offers.
    __table_args__ = (Index("ix_candidates_group_task", "group_name", "task_id"),)

    task_id: Mapped[str] = mapped_column(
        ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    group_name: Mapped[str] = mapped_column(String(64), primary_key=True)


class TimerRow(Base):
    """When each waiting timer (or due service retry) of an instance is due; rewritten on every
    save. The scheduler polls this table instead of restoring workflows."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))  # timer | cycle | retry
    due_at: Mapped[datetime]


class IncidentRecord(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_retry_at", "retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # Failed attempts so far; while `retry_at` is set the scheduler retries by itself.
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    retry_at: Mapped[datetime | None]


class AuditRecord(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int | None] = mapped_column(BigId)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SchedulerLeaseRecord(Base):
    """Leader lock: on SQLite only one scheduler per deployment may run. The holder renews its
    lease on every poll; a lease not renewed in time is stale and may be taken over."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class CalendarDayRecord(Base):
    """Working-day calendar exceptions: public holidays and 调休 make-up working days."""

    __tablename__ = "work_calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday
    name: Mapped[str] = mapped_column(String(64), default="")


class CalendarYearRecord(Base):
    __tablename__ = "work_calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # official | provisional


class DocumentRecord(Base):
    """A document generated by a handler (《项目立项书》 …), stored per instance."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    doc_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    content_md: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


if set(HumanTaskRow.__table__.columns.keys()) != set(TaskValues._fields):
    raise RuntimeError("TaskValues' fields are not human_tasks' columns: add a new one to both")
