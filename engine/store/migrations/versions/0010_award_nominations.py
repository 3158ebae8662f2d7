"""award nominations

Revision ID: 0010
Revises: 0009

The award nominations (月度创意之星, 季度项目标杆奖) made from the appraisal numbers
(engine/store/records_reports.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_TYPE = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "award_nominations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("award", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=96), nullable=False),
        sa.Column("nominee", sa.String(length=64), nullable=True),
        sa.Column("instance_id", BIG_ID, nullable=True),
        sa.Column("subject_name", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("figures", JSON_TYPE, nullable=False),
        sa.Column("nominated_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("award", "period", "subject", name="uq_award_nominations_subject"),
    )
    op.create_index("ix_award_nominations_period", "award_nominations", ["period", "award"])


def downgrade() -> None:
    op.drop_index("ix_award_nominations_period", "award_nominations")
    op.drop_table("award_nominations")
