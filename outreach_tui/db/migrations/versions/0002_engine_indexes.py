"""engine indexes: the planner's due index also carries campaign_id

The planner reads due enrollments with `state = 'active' AND next_due_at <= now AND
campaign_id IN (<active campaigns>) ORDER BY next_due_at LIMIT n` through
ix_campaign_lead_due. With (state, next_due_at) only, every due enrollment of a paused
campaign passed on the way costs a table row lookup just to read campaign_id; with
campaign_id in the index the filter is decided on the index entry. On the 1,000,000-lead
benchmark database (bench/engine.py) the query went from 2.3 s to 44 ms.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain index statements (no batch mode): SQLite creates and drops indexes in place, so the
# table is never copied.


def upgrade() -> None:
    op.drop_index("ix_campaign_lead_due", table_name="campaign_lead")
    op.create_index(
        "ix_campaign_lead_due", "campaign_lead", ["state", "next_due_at", "campaign_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_lead_due", table_name="campaign_lead")
    op.create_index("ix_campaign_lead_due", "campaign_lead", ["state", "next_due_at"])
