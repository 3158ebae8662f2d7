"""Task operations (转办, 委派, 加签/减签, 会签/或签, 抄送), A/B absences and handovers, in-app
notifications and the delivery outbox (see engine/records_ops.py).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def _instance_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "task_signers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("parent_task_id", sa.String(length=36), nullable=False),
        sa.Column("step_task_id", sa.String(length=36), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("signer", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("acted_at", TS, nullable=True),
        sa.Column("acted_by", sa.String(length=64), nullable=True),
        _instance_fk(),
        sa.ForeignKeyConstraint(["parent_task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_task_id"),
    )
    op.create_index("ix_task_signers_parent", "task_signers", ["parent_task_id", "status"])
    op.create_index("ix_task_signers_instance_id", "task_signers", ["instance_id"])

    op.create_table(
        "task_submissions",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        _instance_fk(),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_task_submissions_instance_id", "task_submissions", ["instance_id"])

    op.create_table(
        "task_delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("delegate", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        _instance_fk(),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_task_delegations_task", "task_delegations", ["task_id", "status"])
    op.create_index("ix_task_delegations_instance_id", "task_delegations", ["instance_id"])
    op.create_index("ix_task_delegations_delegate", "task_delegations", ["delegate"])

    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("deputy", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_absences_user", "absences", ["username", "starts_at"])

    op.create_table(
        "task_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("from_user", sa.String(length=64), nullable=False),
        sa.Column("to_user", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("returned_at", TS, nullable=True),
        _instance_fk(),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_task_handovers_open", "task_handovers", ["from_user", "returned_at"])
    op.create_index("ix_task_handovers_instance_id", "task_handovers", ["instance_id"])
    op.create_index("ix_task_handovers_task_id", "task_handovers", ["task_id"])

    op.create_table(
        "instance_cc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("task_key", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=256), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("cc_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        _instance_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "task_key", "username"),
    )
    op.create_index("ix_instance_cc_user", "instance_cc", ["username", "read_at", "id"])

    op.create_table(
        "notifications",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        _instance_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_user", "notifications", ["username", "read_at", "id"])

    op.create_table(
        "notification_outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=256), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_due", "notification_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due", "notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index("ix_notifications_user", "notifications")
    op.drop_table("notifications")
    op.drop_index("ix_instance_cc_user", "instance_cc")
    op.drop_table("instance_cc")
    for name in ("ix_task_handovers_task_id", "ix_task_handovers_instance_id"):
        op.drop_index(name, "task_handovers")
    op.drop_index("ix_task_handovers_open", "task_handovers")
    op.drop_table("task_handovers")
    op.drop_index("ix_absences_user", "absences")
    op.drop_table("absences")
    for name in (
        "ix_task_delegations_delegate",
        "ix_task_delegations_instance_id",
        "ix_task_delegations_task",
    ):
        op.drop_index(name, "task_delegations")
    op.drop_table("task_delegations")
    op.drop_index("ix_task_submissions_instance_id", "task_submissions")
    op.drop_table("task_submissions")
    op.drop_index("ix_task_signers_instance_id", "task_signers")
    op.drop_index("ix_task_signers_parent", "task_signers")
    op.drop_table("task_signers")
