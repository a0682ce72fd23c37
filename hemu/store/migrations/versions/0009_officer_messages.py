"""The Telegram messages officers were sent about each case, so /forget can reach them.

A case card, a reminder or a "details added" notice sits in an officer's chat with the resident's words
on it; /forget erased them from the store but not from there. Each message about a case that the
notifier or the console sends to an officer is recorded here (chat and message id, nothing of its
text); /forget queues an edit of each to a "details removed" version and deletes the rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officer_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_officer_messages_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_officer_messages"),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_officer_messages_chat_id_message_id"),
    )
    op.create_index("ix_officer_messages_case_id", "officer_messages", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_officer_messages_case_id", table_name="officer_messages")
    op.drop_table("officer_messages")
