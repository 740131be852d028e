"""campaign progress index: the Campaigns pane counts enrollments by state and the steps
sent (the sum of next_step - 1) per campaign from one covering index instead of the table
and the ledger.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_campaign_lead_progress", "campaign_lead", ["campaign_id", "state", "next_step"]
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_lead_progress", table_name="campaign_lead")
