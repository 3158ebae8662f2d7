"""drop ix_tasks_status_due

Revision ID: 0011
Revises: 0010

`ix_tasks_status_due` (status, due_at) is the leading part of `ix_tasks_due_reminded` (status,
due_at, reminded_at, migration 0003), which answers every query the shorter one did (overdue
counts and lists, the reminder scan). Each task row written (two per completion: the one closed
and the one opened) kept both up to date; now one.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tasks_status_due", "human_tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_status_due", "human_tasks", ["status", "due_at"])
