"""lead verification: a domain whose mail host refused the probe (5.7.x) is remembered for
the cache's lifetime, so the verifier stops asking it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("domain_insight", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("probe_refused", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("domain_insight", schema=None) as batch_op:
        batch_op.drop_column("probe_refused")
