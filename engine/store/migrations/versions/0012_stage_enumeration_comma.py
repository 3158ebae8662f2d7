"""current steps listed with 、

Revision ID: 0012
Revises: 0011

An instance waiting on several steps listed them in `process_instances.stage` as
"填写《项目进度周报》, 执行监控": an English comma inside Chinese text, on the instance lists and
the dashboard. Saves now join them with 、; this rewrites the rows saved before, so the stage
filter and the dashboard's grouping see one spelling.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE process_instances SET stage = REPLACE(stage, ', ', '、') "
               "WHERE stage LIKE '%, %'")


def downgrade() -> None:
    op.execute("UPDATE process_instances SET stage = REPLACE(stage, '、', ', ') "
               "WHERE stage LIKE '%、%'")
