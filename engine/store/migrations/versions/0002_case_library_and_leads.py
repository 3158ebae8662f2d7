"""case library and leads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00.000000

The 案例库 entries and the leads handed to sales (engine/records_business.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_library",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("project_name", sa.String(length=256), nullable=False),
        sa.Column("completion_rate", sa.Float(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("instance_id", BIG_ID, nullable=True),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_library", schema=None) as batch_op:
        batch_op.create_index("ix_case_library_category", ["category", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_library_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_library_instance_id"), ["instance_id"], unique=False
        )

    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_name", sa.String(length=256), nullable=False),
        sa.Column("contact_person", sa.String(length=128), nullable=False),
        sa.Column("contact", sa.String(length=256), nullable=False),
        sa.Column("interest_level", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("event_name", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assigned_group", sa.String(length=64), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=True),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_status", ["status", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_instance_id"), ["instance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_instance_id"))
        batch_op.drop_index("ix_leads_status")

    op.drop_table("leads")
    with op.batch_alter_table("case_library", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_library_instance_id"))
        batch_op.drop_index(batch_op.f("ix_case_library_document_id"))
        batch_op.drop_index("ix_case_library_category")

    op.drop_table("case_library")
