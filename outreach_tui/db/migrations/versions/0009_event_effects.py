"""event effects: soft bounces per address and day, what a report was and did, and the
bases of the counters that keep SMTP-time refusals apart from later reports.

- `soft_bounce`: one row per soft bounce of an address (its local day and where it came
  from); `[replies] soft_bounce_days` separate days suppress the address.
- `reply`: a report's class (hard, soft, policy), delivery status, expiry, how it was tied
  to one of our sends (or "unmatched"), the counter it moved and its effects in words.
- `event`: an index on (kind, created_at): the monitor counts a mailbox's recent policy
  refusals (a burst alerts).
- `mailbox`: the phase bases of the counters `mailbox_policy`, `mailbox_bounce_report` and
  `mailbox_policy_report` (the monitor's "since the phase began" reads them like the others).

Plain ADD COLUMN on `mailbox` and `reply` (no table rebuild: the ledger's foreign keys point
at both). Counter rows written before this migration keep their meaning as they were: DSN
bounces counted then stay in `mailbox_bounce` and age out of the monitor's window.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from outreach_tui.db.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BASES = ("phase_policy_base", "phase_bounce_report_base", "phase_policy_report_base")
_REPLY = (
    ("bounce_class", 8),
    ("delivery_status", 16),
    ("report_match", 16),
    ("counted", 32),
    ("effect", 300),
)


def upgrade() -> None:
    op.create_table(
        "soft_bounce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_soft_bounce_address_day", "soft_bounce", ["address", "day"])
    op.create_index(op.f("ix_soft_bounce_source"), "soft_bounce", ["source"])
    op.create_index("ix_event_kind_created_at", "event", ["kind", "created_at"])
    for name in _BASES:
        op.add_column(
            "mailbox", sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    for name, length in _REPLY:
        op.add_column(
            "reply",
            sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=True),
        )
    op.add_column(
        "reply",
        sa.Column("expired", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("reply", schema=None) as batch_op:
        for name in ("expired", *(n for n, _ in reversed(_REPLY))):
            batch_op.drop_column(name)
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        for name in reversed(_BASES):
            batch_op.drop_column(name)
    op.drop_index("ix_event_kind_created_at", table_name="event")
    op.drop_index(op.f("ix_soft_bounce_source"), table_name="soft_bounce")
    op.drop_index("ix_soft_bounce_address_day", table_name="soft_bounce")
    op.drop_table("soft_bounce")
