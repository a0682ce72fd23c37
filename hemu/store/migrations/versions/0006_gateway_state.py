"""What the gateway used to keep in memory: fetched Telegram updates, and the note it waits for.

received_updates: one row per update the gateway fetched (getUpdates or the webhook) and has not finished
handling; deleted once handled. A gateway killed between acknowledging an update and handling it left
nothing behind before this table; now the next gateway handles it.
pending_notes: an officer pressed "Resolve" and the gateway waits for their note (the next text in that
chat); it lived in the gateway's memory, so a restart in between lost the question.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name="pk_received_updates"),
    )
    op.create_table(
        "pending_notes",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name="pk_pending_notes"),
    )


def downgrade() -> None:
    op.drop_table("pending_notes")
    op.drop_table("received_updates")
