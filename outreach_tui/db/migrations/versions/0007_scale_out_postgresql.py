"""scale-out on PostgreSQL: daily counter scopes up to 32 characters.

The counter scopes grew past the first schema's 16 characters (`mailbox_complaint`,
`mailbox_soft_bounce`); SQLite never enforced the length, PostgreSQL refuses the insert.
Batch mode: SQLite changes a column's type by copying the table (nothing points at it).

The tables the multi-worker mode needs (`lease`, `worker_process`) are in 0001; its claims,
caps and leases rely on row and advisory locks, not on schema.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("daily_counter", schema=None) as batch_op:
        batch_op.alter_column(
            "scope", existing_type=sa.String(length=16), type_=sa.String(length=32)
        )


def downgrade() -> None:
    with op.batch_alter_table("daily_counter", schema=None) as batch_op:
        batch_op.alter_column(
            "scope", existing_type=sa.String(length=32), type_=sa.String(length=16)
        )
