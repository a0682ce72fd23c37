"""Delivery guarantees: outbox retries until a deadline, answers kept before sending, messages handled once.

outbox: failures (network failures so far; was a "[net N]" tag inside last_error), give_up_at (the
deadline: retried until then, then given up and the supervisor told; NULL on older rows means created_at
plus the policy's deadline).
inbound: source (the Telegram chat and message id: Telegram re-sending an update after a crash is kept
once), answers (Rasa's replies to a kept message, written before they are sent: a crash between the two
sends the kept answers again instead of asking Rasa a second time).
handled_messages: one row per resident message (its Telegram update) that changed a case, written in the
same transaction as the change: a message replayed after a timeout changes nothing twice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("failures", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("outbox", sa.Column("give_up_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("inbound", sa.Column("answers", sa.JSON(), nullable=True))
    op.add_column("inbound", sa.Column("source", sa.String(length=64), nullable=True))
    op.create_index("uq_inbound_sender_source", "inbound", ["sender", "source"], unique=True)
    op.create_table(
        "handled_messages",
        sa.Column("resident_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("opened", sa.Boolean(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", "source", name="pk_handled_messages"),
    )


def downgrade() -> None:
    op.drop_table("handled_messages")
    op.drop_index("uq_inbound_sender_source", table_name="inbound")
    op.drop_column("inbound", "source")
    op.drop_column("inbound", "answers")
    op.drop_column("outbox", "give_up_at")
    op.drop_column("outbox", "failures")
