"""产品部: the product department's group (the manual's 联动销售、产品部门落地) in databases
created before it was one of the standard groups (engine.people.accounts.STANDARD_GROUPS).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_GROUPS = sa.table(
    "groups",
    sa.column("name", sa.String),
    sa.column("display_name", sa.String),
    sa.column("display_name_en", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = bind.execute(sa.select(_GROUPS.c.name).where(_GROUPS.c.name == "product")).first()
    if present is None:
        row = {"name": "product", "display_name": "产品部", "display_name_en": "Product department"}
        op.bulk_insert(_GROUPS, [row])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM memberships WHERE group_name = 'product'"))
    op.execute(sa.text("DELETE FROM groups WHERE name = 'product'"))
