"""Notifications in the reader's language, and repeats folded into one: each in-app
notification keeps its English title and text beside the Chinese ones (the bell shows the
reader's), and `repeats` counts how often the same reminder reached the same person for the
same task while it was unread.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("title_en", sa.String(256), nullable=True))
        batch.add_column(sa.Column("body_en", sa.Text(), nullable=True))
        batch.add_column(sa.Column("repeats", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("ix_notifications_task", "notifications", ["task_id", "username"])


def downgrade() -> None:
    op.drop_index("ix_notifications_task", "notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("repeats")
        batch.drop_column("body_en")
        batch.drop_column("title_en")
