"""reply inbox: what the poller learns about each message, and the review of suggestions

`reply` gains the classification's reason, what could not be read (broken MIME), the
address its effects are about, the SHA-256 of the raw message and the review state of a
suppression held back in SUGGEST mode; two indexes let a re-scan after a UIDVALIDITY change
find a message already applied by its Message-ID (or digest).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("reason", "problem", "affected_email", "digest", "review")


def upgrade() -> None:
    # How to reach the IMAP server, pinned like smtp_security; existing rows get what their
    # port implied (993 → tls, any other → starttls).
    op.add_column(
        "mailbox",
        sa.Column(
            "imap_security",
            sqlmodel.sql.sqltypes.AutoString(),
            nullable=False,
            server_default="tls",
        ),
    )
    op.execute("UPDATE mailbox SET imap_security = 'starttls' WHERE imap_port <> 993")
    # Plain ADD COLUMN / CREATE INDEX: nullable columns, so SQLite never copies the table.
    op.add_column("reply", sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column("reply", sa.Column("problem", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column(
        "reply", sa.Column("affected_email", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )
    op.add_column(
        "reply", sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
    )
    op.add_column("reply", sa.Column("review", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_index("ix_reply_review", "reply", ["review"])
    op.create_index("ix_reply_mailbox_message", "reply", ["mailbox_id", "message_id"])
    op.create_index("ix_reply_mailbox_digest", "reply", ["mailbox_id", "digest"])


def downgrade() -> None:
    op.drop_index("ix_reply_mailbox_digest", table_name="reply")
    op.drop_index("ix_reply_mailbox_message", table_name="reply")
    op.drop_index("ix_reply_review", table_name="reply")
    with op.batch_alter_table("reply") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table("mailbox") as batch:
        batch.drop_column("imap_security")
