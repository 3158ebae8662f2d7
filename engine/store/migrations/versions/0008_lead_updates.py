"""lead status updates

Revision ID: 0008
Revises: 0007

Sales' status updates of the leads handed to them (engine/store/records_reports.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None



def upgrade() -> None:
    op.create_table(
        "lead_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_updates_lead", "lead_updates", ["lead_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_lead_updates_lead", "lead_updates")
    op.drop_table("lead_updates")
