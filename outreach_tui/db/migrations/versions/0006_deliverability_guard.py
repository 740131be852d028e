"""deliverability guard: what the monitor and the healer keep on a mailbox.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- monitor / recovery (mailbox health) -------------------------------------------
    # Plain ADD COLUMN (no table rebuild): a batch rebuild of `mailbox` would drop a table
    # that the ledger's foreign keys point at, which SQLite refuses on a database with data.
    op.add_column("mailbox", sa.Column("paused_campaigns", sa.JSON(), nullable=True))
    for name in ("phase_sent_base", "phase_bounced_base", "phase_complaint_base"):
        op.add_column(
            "mailbox", sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    # --- end monitor / recovery ----------------------------------------------------------


def downgrade() -> None:
    # --- monitor / recovery --------------------------------------------------------------
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        for name in (
            "phase_complaint_base",
            "phase_bounced_base",
            "phase_sent_base",
            "paused_campaigns",
        ):
            batch_op.drop_column(name)
    # --- end monitor / recovery ----------------------------------------------------------
