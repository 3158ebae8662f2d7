"""Timers and background work: reminders, automatic service retries, the scheduler lease and
the admin-editable working-day calendar (seeded from the shipped file); dashboard indexes and
the elements an instance has passed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_incidents_retry_at", "incidents", ["retry_at"])
    op.create_index("ix_tasks_due_reminded", "human_tasks", ["status", "due_at", "reminded_at"])
    # Dashboard: throughput by completion day, running instances by stage.
    op.create_index("ix_instances_status_completed", "process_instances",
                    ["status", "completed_at"])
    op.create_index("ix_tasks_status_name", "human_tasks",
                    ["status", "model_key", "name", "instance_id"])
    # Element ids the instance has passed (scripts and gateways leave no task row).
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("passed_elements", sa.JSON(), nullable=True))
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    days = op.create_table(
        "work_calendar_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False, server_default=""),
    )
    years = op.create_table(
        "work_calendar_years",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
    )
    # Seed from the calendar shipped with this release; admins edit it from then on.
    from engine.workcal_data import default_rows, default_year_status

    op.bulk_insert(days, [{"day": d, "kind": k, "name": n} for d, k, n in default_rows()])
    op.bulk_insert(years, [{"year": y, "status": s} for y, s in default_year_status().items()])


def downgrade() -> None:
    op.drop_table("work_calendar_years")
    op.drop_table("work_calendar_days")
    op.drop_table("scheduler_leases")
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("passed_elements")
    op.drop_index("ix_tasks_status_name", "human_tasks")
    op.drop_index("ix_instances_status_completed", "process_instances")
    op.drop_index("ix_tasks_due_reminded", "human_tasks")
    op.drop_index("ix_incidents_retry_at", "incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("retry_at")
        batch.drop_column("attempts")
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_column("reminded_at")
